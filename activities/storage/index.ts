// The platform's object storage, chosen by configuration: S3 when S3_BUCKET is set, else the
// embedded folder (OBJECT_STORE_DIR).
import type { Db } from '../../db/client.js';
import type { Config } from '../../runtime/config.js';
import { DataKeyStore } from '../../runtime/data-keys.js';
import { masterKeyFromConfig } from '../../runtime/envelope.js';
import { FilesystemObjectStore } from './filesystem-store.js';
import type { ObjectStore } from './object-store.js';
import { S3ObjectStore } from './s3-store.js';

export { ObjectKeyError, ObjectTooLargeError, type ObjectStore } from './object-store.js';
import { ObjectStorage } from './tenant-objects.js';

export { ObjectIntegrityError, ObjectStorage, TenantObjects, type TenantObject } from './tenant-objects.js';

type StorageSettings = Pick<
  Config,
  | 'OBJECT_STORE_DIR'
  | 'S3_BUCKET'
  | 'S3_ENDPOINT'
  | 'S3_REGION'
  | 'S3_ACCESS_KEY_ID'
  | 'S3_SECRET_ACCESS_KEY'
  | 'S3_FORCE_PATH_STYLE'
  | 'OBJECT_MAX_BYTES'
>;

export function objectStoreFromConfig(config: StorageSettings): ObjectStore {
  if (!config.S3_BUCKET) return new FilesystemObjectStore(config.OBJECT_STORE_DIR);
  return new S3ObjectStore({
    bucket: config.S3_BUCKET,
    region: config.S3_REGION,
    endpoint: config.S3_ENDPOINT,
    credentials:
      config.S3_ACCESS_KEY_ID && config.S3_SECRET_ACCESS_KEY
        ? { accessKeyId: config.S3_ACCESS_KEY_ID, secretAccessKey: config.S3_SECRET_ACCESS_KEY }
        : undefined,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
    maxBytes: config.OBJECT_MAX_BYTES,
  });
}

/** The tenants' objects (GDPR export archives, files), sealed with their data keys. */
export function objectStorageFromConfig(config: Config, db: Db): ObjectStorage {
  return new ObjectStorage(
    objectStoreFromConfig(config),
    new DataKeyStore(db, masterKeyFromConfig(config)),
    config.OBJECT_MAX_BYTES,
  );
}
