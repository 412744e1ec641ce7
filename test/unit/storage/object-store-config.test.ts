// Which object store the configuration picks, and the settings it refuses.
import { describe, expect, it } from 'vitest';
import { objectStoreFromConfig } from '../../../activities/storage/index.js';
import { FilesystemObjectStore } from '../../../activities/storage/filesystem-store.js';
import { S3ObjectStore } from '../../../activities/storage/s3-store.js';
import { parseConfig, type ConfigError } from '../../../runtime/config.js';

const required = {
  DATABASE_URL: 'postgres://app@localhost/vlinders',
  MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
};

describe('object storage configuration', () => {
  it('uses the embedded folder unless a bucket is named', () => {
    const config = parseConfig(required);
    expect(config.OBJECT_STORE_DIR).toBe('.data/objects');
    expect(objectStoreFromConfig(config)).toBeInstanceOf(FilesystemObjectStore);
  });

  it('uses S3 when S3_BUCKET is set', () => {
    const config = parseConfig({
      ...required,
      S3_BUCKET: 'vlinders-objects',
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      S3_FORCE_PATH_STYLE: 'true',
    });
    expect(config.S3_FORCE_PATH_STYLE).toBe(true);
    const store = objectStoreFromConfig(config);
    expect(store).toBeInstanceOf(S3ObjectStore);
    (store as S3ObjectStore).close();
  });

  it('refuses a bad bucket name, and a key id without its secret', () => {
    const problems = (env: Record<string, string>) => {
      try {
        parseConfig({ ...required, ...env });
        return [];
      } catch (err) {
        return (err as ConfigError).problems;
      }
    };
    expect(problems({ S3_BUCKET: 'Bad_Bucket' })).toEqual([expect.stringMatching(/^S3_BUCKET: /)]);
    expect(problems({ S3_ACCESS_KEY_ID: 'AKIA' })).toEqual([
      'S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY: set both or neither',
    ]);
  });
});
