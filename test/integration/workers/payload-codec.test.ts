// The PayloadCodec against the real database: payloads round-trip, each tenant's payloads open
// only with its own key, a destroyed key shreds them, and any tampering is detected.
import { randomBytes } from 'node:crypto';
import { ApplicationFailure, defaultPayloadConverter, type Payload } from '@temporalio/common';
import { loadDataConverter } from '@temporalio/common/lib/internal-non-workflow/data-converter-helpers.js';
import {
  decodeFailure,
  encodeErrorToFailure,
} from '@temporalio/common/lib/internal-non-workflow/codec-helpers.js';
import { eq } from 'drizzle-orm';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDb, createPool, type Db } from '../../../db/client.js';
import { tenantDataKeys } from '../../../db/schema/index.js';
import { withTenant } from '../../../db/tenant.js';
import {
  TenantPayloadCodec,
  createDataConverter,
  encryptedEncoding,
  keyIdMetadataKey,
} from '../../../runtime/codec.js';
import { DataKeyStore, DataKeyUnavailableError } from '../../../runtime/data-keys.js';
import { masterKeyFromConfig, type MasterKey } from '../../../runtime/envelope.js';
import { testConfig } from '../../support/config.js';
import { createPendingTenant } from '../../workflows/tenant-fixture.js';

let pool: pg.Pool;
let db: Db;
// The suite's master key: the platform payload key is a platform secret in the shared database,
// wrapped by it.
let master: MasterKey;
const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString();

function codec(): TenantPayloadCodec {
  return new TenantPayloadCodec(new DataKeyStore(db, master));
}

function payloadOf(value: unknown): Payload {
  return defaultPayloadConverter.toPayload(value);
}

function valueOf(payload: Payload): unknown {
  return defaultPayloadConverter.fromPayload(payload);
}

beforeAll(() => {
  master = masterKeyFromConfig(testConfig());
  pool = createPool({ url: inject('databaseUrl'), size: 4, applicationName: 'test-codec' });
  db = createDb(pool);
});

afterAll(async () => {
  await pool?.end();
});

describe('TenantPayloadCodec', () => {
  it('round-trips a tenant payload, encrypted under the tenant key id with no plaintext left', async () => {
    const { orgId, ownerEmail } = await createPendingTenant(db);
    const value = { orgId, ownerEmail, note: 'secret plan' };
    const [encoded] = await codec().encode([payloadOf(value)]);

    expect(text(encoded!.metadata!.encoding)).toBe(encryptedEncoding);
    expect(text(encoded!.metadata![keyIdMetadataKey])).toBe(`org:${orgId}`);
    expect(text(encoded!.data)).not.toContain(ownerEmail);
    expect(text(encoded!.data)).not.toContain('secret plan');

    // A second codec (another process: no cache) opens it with the stored key.
    const [decoded] = await codec().decode([encoded!]);
    expect(valueOf(decoded!)).toEqual(value);
  });

  it('uses the platform key for payloads without a tenant, and passes unencrypted payloads through decode', async () => {
    const c = codec();
    const payloads = [payloadOf({ status: 'ok' }), payloadOf(undefined), payloadOf([1, 2, 3])];
    const encoded = await c.encode(payloads);
    expect(encoded.map((p) => text(p.metadata![keyIdMetadataKey]))).toEqual([
      'platform',
      'platform',
      'platform',
    ]);
    expect((await c.decode(encoded)).map(valueOf)).toEqual([{ status: 'ok' }, undefined, [1, 2, 3]]);

    const plain = payloadOf({ legacy: true });
    expect(await c.decode([plain])).toEqual([plain]);
  });

  it("keeps tenants apart: one tenant's payload does not open under another's key", async () => {
    const a = await createPendingTenant(db, 'Tenant A');
    const b = await createPendingTenant(db, 'Tenant B');
    const c = codec();
    const [forA] = await c.encode([payloadOf({ orgId: a.orgId, secret: 'a-only' })]);
    await c.encode([payloadOf({ orgId: b.orgId })]); // B has a key too

    const relabelled: Payload = {
      ...forA!,
      metadata: { ...forA!.metadata, [keyIdMetadataKey]: Buffer.from(`org:${b.orgId}`) },
    };
    await expect(c.decode([relabelled])).rejects.toThrow();

    // Each tenant's key row is visible only inside that tenant's scope (RLS), and wrapped.
    const seenFromB = await withTenant(db, b.orgId, (tx) =>
      tx.select().from(tenantDataKeys).where(eq(tenantDataKeys.orgId, a.orgId)),
    );
    expect(seenFromB).toEqual([]);
    const [ownRow] = await withTenant(db, a.orgId, (tx) =>
      tx.select().from(tenantDataKeys).where(eq(tenantDataKeys.orgId, a.orgId)),
    );
    expect(ownRow?.wrappedKey).toMatch(/^v2\.m1\./);
  });

  it('creates one key per tenant even when first uses race', async () => {
    const { orgId } = await createPendingTenant(db);
    const [c1, c2] = [codec(), codec()];
    const encoded = await Promise.all([
      ...Array.from({ length: 5 }, (_, i) => c1.encode([payloadOf({ orgId, i })])),
      ...Array.from({ length: 5 }, (_, i) => c2.encode([payloadOf({ orgId, i: i + 5 })])),
    ]);
    const rows = await withTenant(db, orgId, (tx) =>
      tx.select().from(tenantDataKeys).where(eq(tenantDataKeys.orgId, orgId)),
    );
    expect(rows).toHaveLength(1);
    // Whichever codec wrote a payload, the other opens it.
    const decoded = await c2.decode(encoded.slice(0, 5).flat());
    expect(decoded.map((p) => (valueOf(p) as { i: number }).i)).toEqual([0, 1, 2, 3, 4]);
  });

  it("shreds a tenant's payloads when its data key is destroyed, and only that tenant's", async () => {
    const doomed = await createPendingTenant(db, 'Doomed');
    const other = await createPendingTenant(db, 'Survivor');
    const c = codec();
    const [doomedPayload] = await c.encode([
      payloadOf({ orgId: doomed.orgId, ownerEmail: doomed.ownerEmail }),
    ]);
    const [otherPayload] = await c.encode([payloadOf({ orgId: other.orgId })]);

    await c.keys.destroy(doomed.orgId);

    for (const reader of [c, codec()]) {
      await expect(reader.decode([doomedPayload!])).rejects.toThrow(DataKeyUnavailableError);
      await expect(reader.decode([doomedPayload!])).rejects.toThrow(/destroyed/);
      expect(valueOf((await reader.decode([otherPayload!]))[0]!)).toEqual({ orgId: other.orgId });
    }
    // No new key is made for an erased tenant.
    await expect(c.encode([payloadOf({ orgId: doomed.orgId })])).rejects.toThrow(/destroyed/);
    const [row] = await withTenant(db, doomed.orgId, (tx) =>
      tx.select().from(tenantDataKeys).where(eq(tenantDataKeys.orgId, doomed.orgId)),
    );
    expect(row?.wrappedKey).toBe('');
    expect(row?.destroyedAt).toBeInstanceOf(Date);
  });

  it('detects tampering with the ciphertext, the key id or the master key', async () => {
    const { orgId } = await createPendingTenant(db);
    const c = codec();
    const [sealed] = await c.encode([payloadOf({ orgId, amount: 100 })]);

    const flipped = Buffer.from(sealed!.data!);
    flipped[flipped.length - 1]! ^= 0x01;
    await expect(c.decode([{ ...sealed!, data: flipped }])).rejects.toThrow();

    const toPlatform: Payload = {
      ...sealed!,
      metadata: { ...sealed!.metadata, [keyIdMetadataKey]: Buffer.from('platform') },
    };
    await expect(c.decode([toPlatform])).rejects.toThrow();

    const bogusKeyId: Payload = {
      ...sealed!,
      metadata: { ...sealed!.metadata, [keyIdMetadataKey]: Buffer.from('org:not-a-uuid') },
    };
    await expect(c.decode([bogusKeyId])).rejects.toThrow(/unknown data key id/);

    const otherMaster = new TenantPayloadCodec(new DataKeyStore(db, { id: 'm1', key: randomBytes(32) }));
    await expect(otherMaster.decode([sealed!])).rejects.toThrow();
  });

  it('refuses a payload whose orgId is not a tenant id', async () => {
    await expect(codec().encode([payloadOf({ orgId: "x'; DROP TABLE organizations; --" })])).rejects.toThrow(
      /unknown data key id/,
    );
  });
});

describe('failures', () => {
  it('carry their message and stack only inside an encrypted payload', async () => {
    const converter = loadDataConverter(
      createDataConverter({ MASTER_KEY: master.key.toString('base64'), MASTER_KEY_ID: master.id }, db),
    );
    // What a worker sends to the server when an activity fails.
    const stored = await encodeErrorToFailure(
      converter,
      ApplicationFailure.nonRetryable('duplicate key: ada@example.test', 'CONFLICT'),
    );
    expect(stored.message).toBe('Encoded failure');
    expect(stored.stackTrace).toBe('');
    expect(text(stored.encodedAttributes?.metadata?.encoding)).toBe(encryptedEncoding);
    expect(text(stored.encodedAttributes?.data)).not.toContain('ada@example.test');
    const decoded = await decodeFailure(converter.payloadCodecs, stored);
    const error = converter.failureConverter.failureToError(decoded, converter.payloadConverter);
    expect(error.message).toBe('duplicate key: ada@example.test');
  });
});
