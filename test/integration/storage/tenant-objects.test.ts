// A tenant's objects on S3 (rclone's server, checking signatures) with the tenant's real data key
// from the database: sealed so that no plaintext reaches the store, reachable only under the
// tenant's prefix, unreadable once the key is destroyed (GDPR erasure), expiring when asked.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { S3ObjectStore } from '../../../activities/storage/s3-store.js';
import {
  ObjectIntegrityError,
  ObjectStorage,
  type TenantObjects,
} from '../../../activities/storage/tenant-objects.js';
import { ObjectKeyError, ObjectTooLargeError } from '../../../activities/storage/object-store.js';
import { createDb, createPool, type Db } from '../../../db/client.js';
import { DataKeyStore, DataKeyUnavailableError } from '../../../runtime/data-keys.js';
import { masterKeyFromConfig } from '../../../runtime/envelope.js';
import { testConfig } from '../../support/config.js';
import { suiteS3Options } from '../../support/s3.js';
import { createPendingTenant } from '../../workflows/tenant-fixture.js';

let pool: pg.Pool;
let db: Db;
let store: S3ObjectStore;
let storage: ObjectStorage;
let a: { orgId: string; ownerEmail: string; objects: TenantObjects };
let b: { orgId: string; ownerEmail: string; objects: TenantObjects };
const maxBytes = 64 * 1024;

beforeAll(async () => {
  pool = createPool({ url: inject('databaseUrl'), size: 2, applicationName: 'test-tenant-objects' });
  db = createDb(pool);
  store = new S3ObjectStore(suiteS3Options(2 * maxBytes));

  storage = new ObjectStorage(store, new DataKeyStore(db, masterKeyFromConfig(testConfig())), maxBytes);
  const tenant = async () => {
    const { orgId, ownerEmail } = await createPendingTenant(db);
    return { orgId, ownerEmail, objects: storage.forTenant(orgId) };
  };
  [a, b] = [await tenant(), await tenant()];
});

afterAll(async () => {
  store?.close();
  await pool?.end();
});

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

describe("a tenant's objects", () => {
  it('round-trip under the tenant prefix, with no plaintext in the stored bytes', async () => {
    const body = json({ email: a.ownerEmail, note: 'export of everything' });
    await a.objects.put('exports/r1/profile.json', body, { contentType: 'application/json' });

    expect(await a.objects.get('exports/r1/profile.json')).toEqual({ body, contentType: 'application/json' });
    expect(await a.objects.list('exports/')).toEqual([
      { name: 'exports/r1/profile.json', size: expect.any(Number) as number },
    ]);
    const stored = await store.get(`orgs/${a.orgId}/exports/r1/profile.json`);
    expect(stored!.toString('latin1')).not.toContain(a.ownerEmail);
    expect(stored!.toString('latin1')).not.toContain('export of everything');
  });

  it('read as missing once they expire', async () => {
    const expiresAt = new Date(Date.now() + 60_000);
    await a.objects.put('exports/r2/archive.zip', Buffer.from('zip'), {
      contentType: 'application/zip',
      expiresAt,
    });
    expect((await a.objects.get('exports/r2/archive.zip'))?.expiresAt).toEqual(expiresAt);
    expect(await a.objects.get('exports/r2/archive.zip', new Date(expiresAt.getTime() + 1))).toBeUndefined();
  });

  it('refuse names that are empty, absolute or climb out, and objects over the limit, storing nothing', async () => {
    const before = await store.list('');
    for (const name of ['', '/etc/passwd', '../x', `../${b.orgId}/secret`, 'a/../../x', 'a//b']) {
      await expect(
        a.objects.put(name, Buffer.from('x'), { contentType: 'text/plain' }),
        name,
      ).rejects.toBeInstanceOf(ObjectKeyError);
    }
    await expect(
      a.objects.put('big.bin', Buffer.alloc(maxBytes + 1), { contentType: 'application/octet-stream' }),
    ).rejects.toBeInstanceOf(ObjectTooLargeError);
    expect(await store.list('')).toEqual(before);
    expect(() => storage.forTenant('not-an-org')).toThrow(ObjectKeyError);
  });
});

describe('tenant isolation, acting as the attacker', () => {
  it("tenant A cannot name, list or read tenant B's objects", async () => {
    await b.objects.put('files/secret.txt', Buffer.from('B only'), { contentType: 'text/plain' });
    await expect(a.objects.get(`../${b.orgId}/files/secret.txt`)).rejects.toBeInstanceOf(ObjectKeyError);
    expect(await a.objects.get('files/secret.txt')).toBeUndefined();
    expect((await a.objects.list('')).map((o) => o.name)).not.toContain('files/secret.txt');
  });

  it("an object of B copied into A's prefix does not open with A's key", async () => {
    const sealed = await store.get(`orgs/${b.orgId}/files/secret.txt`);
    await store.put(`orgs/${a.orgId}/files/stolen.txt`, sealed!);
    await expect(a.objects.get('files/stolen.txt')).rejects.toBeInstanceOf(ObjectIntegrityError);
  });

  it('an object altered in the store, or moved within the prefix, fails to open', async () => {
    await a.objects.put('files/report.txt', Buffer.from('quarterly numbers'), { contentType: 'text/plain' });
    const sealed = (await store.get(`orgs/${a.orgId}/files/report.txt`))!;
    const flipped = Buffer.from(sealed);
    flipped[flipped.length - 20]! ^= 1;
    await store.put(`orgs/${a.orgId}/files/flipped.txt`, flipped);
    await store.put(`orgs/${a.orgId}/files/moved.txt`, sealed);
    await store.put(`orgs/${a.orgId}/files/garbage.txt`, Buffer.from('not sealed'));
    for (const name of ['files/flipped.txt', 'files/moved.txt', 'files/garbage.txt']) {
      await expect(a.objects.get(name), name).rejects.toBeInstanceOf(ObjectIntegrityError);
    }
  });
});

describe('erasure', () => {
  it("destroying the tenant's data key leaves its objects unreadable, even a copy kept elsewhere", async () => {
    const { orgId } = await createPendingTenant(db);
    const keys = new DataKeyStore(db, masterKeyFromConfig(testConfig()));
    const objects = new ObjectStorage(store, keys, maxBytes).forTenant(orgId);
    await objects.put('files/doc.txt', Buffer.from('personal'), { contentType: 'text/plain' });
    const backup = await store.get(`orgs/${orgId}/files/doc.txt`);

    await keys.destroy(orgId);
    await store.put(`orgs/${orgId}/files/doc.txt`, backup!);
    const fresh = new ObjectStorage(store, new DataKeyStore(db, masterKeyFromConfig(testConfig())), maxBytes);
    await expect(fresh.forTenant(orgId).get('files/doc.txt')).rejects.toBeInstanceOf(DataKeyUnavailableError);
  });

  it("deleting all of a tenant's objects leaves no key naming it, and the other tenant's untouched", async () => {
    const kept = await b.objects.list('');
    expect(await a.objects.deleteAll()).toBeGreaterThan(0);
    expect((await store.list('')).filter((o) => o.key.includes(a.orgId))).toEqual([]);
    expect(await b.objects.list('')).toEqual(kept);
    expect(await a.objects.deleteAll()).toBe(0);
  });
});
