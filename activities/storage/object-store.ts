// The object-store port: bytes under keys, nothing more. Two adapters implement it, a local folder
// (the embedded default) and S3 (filesystem-store.ts, s3-store.ts). What the platform needs beyond
// bytes (the tenant's prefix, encryption, content type, expiry) lives in the object itself
// (tenant-objects.ts), so it survives any S3-compatible server, including those that drop metadata.

export interface ObjectInfo {
  key: string;
  /** Bytes stored (the sealed object, not its plaintext). */
  size: number;
}

export interface ObjectStore {
  /**
   * Writes the object whole; a reader sees the old bytes or the new, never a part. No key may also
   * be the folder of another ('a/b' beside 'a/b/c'): S3 servers over a file system refuse it.
   */
  put(key: string, body: Buffer): Promise<void>;
  /** The object's bytes, or undefined when there is none under the key. */
  get(key: string): Promise<Buffer | undefined>;
  /** Every object whose key starts with the prefix, in key order. */
  list(prefix: string): Promise<ObjectInfo[]>;
  /** Deletes the objects; keys with no object are ignored. */
  delete(keys: string[]): Promise<void>;
  /** Releases the store's connections, if it holds any. */
  close?(): void;
}

export class ObjectKeyError extends Error {}

export class ObjectTooLargeError extends Error {
  constructor(
    readonly key: string,
    readonly size: number,
    readonly maxBytes: number,
  ) {
    super(`object ${key} is ${size} bytes, more than the ${maxBytes} allowed (OBJECT_MAX_BYTES)`);
  }
}

// Segments a folder and every S3 server accept alike: no empty, '.' or '..' segment, no control
// characters or backslashes, at most 1,024 bytes in all (S3's own limit).
const badSegment = /^\.{1,2}$|[\\\p{Cc}]/u;

/** Throws ObjectKeyError unless the key (or, with `prefix`, a key's beginning ending in '/') is safe everywhere. */
export function checkObjectKey(key: string, { prefix = false } = {}): void {
  const segments = (prefix ? key.replace(/\/$/, '') : key).split('/');
  if (Buffer.byteLength(key) > 1024) throw new ObjectKeyError(`object key longer than 1024 bytes`);
  if (prefix && key === '') return;
  if (segments.some((s) => s === '' || badSegment.test(s))) {
    throw new ObjectKeyError(
      `object key ${JSON.stringify(key)} has an empty, '.', '..' or unprintable segment`,
    );
  }
}
