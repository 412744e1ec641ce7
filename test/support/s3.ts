// The suite's S3 server (rclone serve s3, started by the global setup), for tests of object storage.
import { randomUUID } from 'node:crypto';
import { inject } from 'vitest';
import type { S3ObjectStoreOptions } from '../../activities/storage/s3-store.js';

/** Settings for a store on the suite's S3 server, in a bucket of its own (created on first use). */
export function suiteS3Options(maxBytes = 1 << 20): S3ObjectStoreOptions {
  const s3 = inject('s3');
  return {
    bucket: `vlinders-${randomUUID().slice(0, 8)}`,
    region: 'us-east-1',
    endpoint: s3.endpoint,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    forcePathStyle: true,
    maxBytes,
  };
}
