// The object store on S3 or any S3-compatible server, through the AWS SDK v3. The bucket is
// created on first use when missing, so a fresh deployment needs no manual step.
import type { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { checkObjectKey, ObjectTooLargeError, type ObjectInfo, type ObjectStore } from './object-store.js';

const alreadyThere = new Set(['BucketAlreadyOwnedByYou', 'BucketAlreadyExists']);

export interface S3ObjectStoreOptions {
  bucket: string;
  region: string;
  /** An S3-compatible server's URL; unset means AWS. */
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  forcePathStyle: boolean;
  maxBytes: number;
}

export class S3ObjectStore implements ObjectStore {
  private readonly client: S3Client;
  private bucketReady: Promise<void> | undefined;

  constructor(private readonly options: S3ObjectStoreOptions) {
    this.client = new S3Client({
      region: options.region,
      endpoint: options.endpoint,
      credentials: options.credentials,
      forcePathStyle: options.forcePathStyle,
    });
  }

  async put(key: string, body: Buffer): Promise<void> {
    checkObjectKey(key);
    await this.bucket();
    await this.client.send(
      new PutObjectCommand({ Bucket: this.options.bucket, Key: key, Body: body, ContentLength: body.length }),
    );
  }

  async get(key: string): Promise<Buffer | undefined> {
    checkObjectKey(key);
    await this.bucket();
    try {
      const answer = await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }));
      const size = answer.ContentLength ?? 0;
      if (size > this.options.maxBytes) {
        (answer.Body as Readable | undefined)?.destroy();
        throw new ObjectTooLargeError(key, size, this.options.maxBytes);
      }
      return Buffer.from((await answer.Body?.transformToByteArray()) ?? []);
    } catch (err) {
      if (err instanceof NoSuchKey) return undefined;
      throw err;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    checkObjectKey(prefix, { prefix: true });
    await this.bucket();
    const found: ObjectInfo[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) found.push({ key: object.Key!, size: object.Size ?? 0 });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return found;
  }

  async delete(keys: string[]): Promise<void> {
    for (const key of keys) checkObjectKey(key);
    await this.bucket();
    // DeleteObjects takes at most 1,000 keys a call.
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const answer = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.options.bucket,
          Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }),
      );
      const failed = (answer.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length > 0) {
        throw new Error(
          `S3 refused to delete ${failed.length} object(s): ${failed.map((e) => `${e.Key}: ${e.Code} ${e.Message}`).join('; ')}`,
        );
      }
    }
  }

  close(): void {
    this.client.destroy();
  }

  private bucket(): Promise<void> {
    this.bucketReady ??= this.ensureBucket();
    // A failed check is not remembered: the next call tries again.
    this.bucketReady.catch(() => (this.bucketReady = undefined));
    return this.bucketReady;
  }

  private async ensureBucket(): Promise<void> {
    const Bucket = this.options.bucket;
    try {
      await this.client.send(new HeadBucketCommand({ Bucket }));
      return;
    } catch (err) {
      if (!(err instanceof S3ServiceException && err.$metadata.httpStatusCode === 404)) throw err;
    }
    try {
      await this.client.send(new CreateBucketCommand({ Bucket }));
    } catch (err) {
      // Another process created it in between (S3-compatible servers answer either name).
      const raced = err instanceof S3ServiceException && alreadyThere.has(err.name);
      if (!raced) throw err;
    }
  }
}
