// The object-store port, the same contract for both adapters: the embedded folder and S3 (rclone's
// S3 server, started by the suite's global setup, checking every request's signature).
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3ServiceException } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { FilesystemObjectStore } from '../../../activities/storage/filesystem-store.js';
import {
  ObjectKeyError,
  ObjectTooLargeError,
  type ObjectStore,
} from '../../../activities/storage/object-store.js';
import { S3ObjectStore } from '../../../activities/storage/s3-store.js';
import { suiteS3Options } from '../../support/s3.js';

const s3Stores: S3ObjectStore[] = [];
afterAll(() => s3Stores.forEach((s) => s.close()));

const adapters: [string, () => ObjectStore][] = [
  ['the embedded folder', () => new FilesystemObjectStore(mkdtempSync(join(tmpdir(), 'vlinders-objects-')))],
  [
    'S3',
    () => {
      const store = new S3ObjectStore(suiteS3Options());
      s3Stores.push(store);
      return store;
    },
  ],
];

describe.each(adapters)('the object store on %s', (_, create) => {
  it('keeps what was put, whole, and answers undefined for a key with no object', async () => {
    const store = create();
    const body = Buffer.from('{"a":1}\n'.repeat(1000));
    await store.put('exports/one.json', body);
    expect(await store.get('exports/one.json')).toEqual(body);
    await store.put('exports/one.json', Buffer.from('replaced'));
    expect((await store.get('exports/one.json'))?.toString()).toBe('replaced');
    expect(await store.get('exports/none.json')).toBeUndefined();
  });

  // No key is also the folder of another ('a/b' beside 'a/b/c'): S3 allows it, but an S3 server
  // over a file system (rclone's here) cannot, so the platform's keys never do it.
  it('lists by prefix in key order', async () => {
    const store = create();
    const keys = ['b/2', 'a/b/c', 'a/bc', 'a/b/d/e', 'a b/é.txt', 'c'];
    for (const key of keys) await store.put(key, Buffer.from(key));
    expect((await store.list('a/')).map((o) => o.key)).toEqual(['a/b/c', 'a/b/d/e', 'a/bc']);
    expect((await store.list('a/b')).map((o) => o.key)).toEqual(['a/b/c', 'a/b/d/e', 'a/bc']);
    expect((await store.list('a/b/')).map((o) => o.key)).toEqual(['a/b/c', 'a/b/d/e']);
    expect(await store.list('')).toEqual(keys.sort().map((key) => ({ key, size: Buffer.byteLength(key) })));
    expect(await store.list('zz/')).toEqual([]);
  });

  it('deletes what it is asked to, ignoring keys with no object', async () => {
    const store = create();
    await store.put('x/1', Buffer.from('1'));
    await store.put('x/2', Buffer.from('2'));
    await store.delete(['x/1', 'x/none']);
    expect((await store.list('x/')).map((o) => o.key)).toEqual(['x/2']);
    await store.delete([]);
    await store.delete(['x/2']);
    expect(await store.list('')).toEqual([]);
  });

  it('refuses keys that would escape or mean different things on different stores, writing nothing', async () => {
    const store = create();
    for (const key of [
      '',
      '/abs',
      'a//b',
      'a/../b',
      '../b',
      'a/./b',
      'a/',
      'a\\b',
      'a\u0000b',
      'x'.repeat(1025),
    ]) {
      await expect(store.put(key, Buffer.from('no')), key).rejects.toBeInstanceOf(ObjectKeyError);
      await expect(store.get(key), key).rejects.toBeInstanceOf(ObjectKeyError);
    }
    await expect(store.list('../')).rejects.toBeInstanceOf(ObjectKeyError);
    expect(await store.list('')).toEqual([]);
  });
});

describe('the embedded folder', () => {
  it('removes the folders a delete empties, so no key leaves its name behind', async () => {
    const root = mkdtempSync(join(tmpdir(), 'vlinders-objects-'));
    const store = new FilesystemObjectStore(root);
    await store.put('orgs/secret-name/a/b.json', Buffer.from('1'));
    await store.put('orgs/other/c.json', Buffer.from('2'));
    await store.delete(['orgs/secret-name/a/b.json']);
    expect(readdirSync(join(root, 'objects/orgs'))).toEqual(['other']);
    expect(readdirSync(join(root, 'partial'))).toEqual([]);
  });
});

describe('S3', () => {
  it('creates its bucket on first use, once, even when two stores start together', async () => {
    const options = suiteS3Options();
    const [one, two] = [new S3ObjectStore(options), new S3ObjectStore(options)];
    s3Stores.push(one, two);
    await Promise.all([one.put('a', Buffer.from('1')), two.put('b', Buffer.from('2'))]);
    expect((await one.list('')).map((o) => o.key)).toEqual(['a', 'b']);
  });

  it('refuses to read an object larger than the limit, which someone else wrote into the bucket', async () => {
    const options = { ...suiteS3Options(), maxBytes: 2048 };
    const writer = new S3ObjectStore({ ...options, maxBytes: 1024 * 1024 });
    const reader = new S3ObjectStore(options);
    s3Stores.push(writer, reader);
    await writer.put('big', Buffer.alloc(4096));
    await expect(reader.get('big')).rejects.toBeInstanceOf(ObjectTooLargeError);
  });

  it('is refused by the server when the credentials are wrong', async () => {
    const store = new S3ObjectStore({
      ...suiteS3Options(),
      credentials: { accessKeyId: inject('s3').accessKeyId, secretAccessKey: 'wrong' },
    });
    s3Stores.push(store);
    const failure = await store.put('a', Buffer.from('1')).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(S3ServiceException);
    expect((failure as S3ServiceException).$metadata.httpStatusCode).toBe(403);
  });
});
