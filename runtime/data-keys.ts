// Data keys for the Temporal PayloadCodec. Each tenant has one AES-256 key, stored in
// tenant_data_keys wrapped by the master key (the org id bound as associated data) and created on
// first use. Destroying it (key material erased, destroyed_at set) makes every payload encrypted
// under it undecodable: the tenant's workflow histories are shredded.
//
// Payloads without a tenant use the platform key, a platform secret (runtime/platform-secrets.ts)
// stored wrapped by the master key, so a master-key rotation re-wraps it without changing it and
// long-lived histories stay readable. It is never shredded; such payloads carry no tenant data by
// convention (workflows/definitions.ts). It is created with the value earlier releases derived from
// the master key (HKDF), so histories written before it was stored still decode.
import { hkdfSync, randomBytes } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { tenantDataKeys } from '../db/schema/index.js';
import { withTenant } from '../db/tenant.js';
import { unwrap, wrap, type MasterKey } from './envelope.js';
import { loadOrCreatePlatformSecret } from './platform-secrets.js';

export interface DataKey {
  /** Written into each payload's metadata; says which key opens it. */
  id: string;
  key: Buffer;
}

export const platformKeyId = 'platform';
export const platformKeySecretName = 'temporal-payloads/platform';
const tenantKeyPrefix = 'org:';
const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export class DataKeyUnavailableError extends Error {
  constructor(
    readonly keyId: string,
    readonly reason: 'destroyed' | 'missing' | 'unknown-key-id',
  ) {
    super(
      reason === 'destroyed'
        ? `data key ${keyId} was destroyed: its payloads are shredded`
        : reason === 'missing'
          ? `data key ${keyId} does not exist`
          : `unknown data key id ${JSON.stringify(keyId)}`,
    );
  }
}

export function tenantKeyId(orgId: string): string {
  return `${tenantKeyPrefix}${orgId}`;
}

/** The org id a key id names, or undefined for the platform key. Throws on anything else. */
export function orgIdOfKeyId(keyId: string): string | undefined {
  if (keyId === platformKeyId) return undefined;
  const orgId = keyId.startsWith(tenantKeyPrefix) ? keyId.slice(tenantKeyPrefix.length) : '';
  if (!uuidPattern.test(orgId)) throw new DataKeyUnavailableError(keyId, 'unknown-key-id');
  return orgId;
}

export function isOrgId(value: string): boolean {
  return uuidPattern.test(value);
}

export interface DataKeyStoreOptions {
  /** How long a key stays cached; a key destroyed elsewhere stops working here after at most this. */
  cacheTtlMs?: number;
}

export class DataKeyStore {
  private platform: Promise<DataKey> | undefined;
  private readonly cache = new Map<string, { key: Promise<DataKey>; expiresAt: number }>();
  private readonly cacheTtlMs: number;

  constructor(
    private readonly db: Db,
    private readonly master: MasterKey,
    options: DataKeyStoreOptions = {},
  ) {
    this.cacheTtlMs = options.cacheTtlMs ?? 60_000;
  }

  /** The key of payloads without a tenant: loaded once, created on the platform's first start. */
  forPlatform(): Promise<DataKey> {
    this.platform ??= loadOrCreatePlatformSecret(this.db, this.master, platformKeySecretName, () =>
      Buffer.from(
        hkdfSync('sha256', this.master.key, Buffer.from('vlinders'), Buffer.from(platformKeySecretName), 32),
      ),
    ).then((key) => ({ id: platformKeyId, key }));
    // A failed load is not remembered: the next call asks the database again.
    this.platform.catch(() => (this.platform = undefined));
    return this.platform;
  }

  /** The tenant's key for encrypting: created on first use. */
  forEncrypting(orgId: string): Promise<DataKey> {
    return this.cached(orgId, () => this.loadOrCreate(orgId));
  }

  /** The key a payload names, for decrypting: never creates one. */
  async forDecrypting(keyId: string): Promise<DataKey> {
    const orgId = orgIdOfKeyId(keyId);
    if (orgId === undefined) return this.forPlatform();
    return this.cached(orgId, async () => {
      const key = await this.load(orgId);
      if (!key) throw new DataKeyUnavailableError(keyId, 'missing');
      return key;
    });
  }

  /**
   * Shreds the tenant's payloads: erases the key material for good, keeping a tombstone row. A
   * tenant without a key gets the tombstone too, so no key is ever created for it after.
   */
  async destroy(orgId: string): Promise<void> {
    this.cache.delete(orgId);
    await withTenant(this.db, orgId, (tx) =>
      tx
        .insert(tenantDataKeys)
        .values({ orgId, wrappedKey: '', destroyedAt: new Date() })
        .onConflictDoUpdate({
          target: tenantDataKeys.orgId,
          set: { wrappedKey: '', destroyedAt: sql`coalesce(${tenantDataKeys.destroyedAt}, now())` },
        }),
    );
  }

  private cached(orgId: string, load: () => Promise<DataKey>): Promise<DataKey> {
    if (!isOrgId(orgId))
      return Promise.reject(new DataKeyUnavailableError(tenantKeyId(orgId), 'unknown-key-id'));
    const now = Date.now();
    const hit = this.cache.get(orgId);
    if (hit && hit.expiresAt > now) return hit.key;
    const key = load();
    this.cache.set(orgId, { key, expiresAt: now + this.cacheTtlMs });
    // A failed load is not remembered: the next call asks the database again.
    key.catch(() => {
      if (this.cache.get(orgId)?.key === key) this.cache.delete(orgId);
    });
    return key;
  }

  private async load(orgId: string): Promise<DataKey | undefined> {
    const [row] = await withTenant(this.db, orgId, (tx) =>
      tx.select().from(tenantDataKeys).where(eq(tenantDataKeys.orgId, orgId)),
    );
    if (!row) return undefined;
    if (row.destroyedAt) throw new DataKeyUnavailableError(tenantKeyId(orgId), 'destroyed');
    return { id: tenantKeyId(orgId), key: unwrap(this.master, row.wrappedKey, orgId) };
  }

  private async loadOrCreate(orgId: string): Promise<DataKey> {
    const existing = await this.load(orgId);
    if (existing) return existing;
    // Two processes may race here: the loser's insert does nothing and both read the winner's key.
    await withTenant(this.db, orgId, (tx) =>
      tx
        .insert(tenantDataKeys)
        .values({ orgId, wrappedKey: wrap(this.master, randomBytes(32), orgId) })
        .onConflictDoNothing({ target: tenantDataKeys.orgId }),
    );
    const created = await this.load(orgId);
    if (!created) throw new DataKeyUnavailableError(tenantKeyId(orgId), 'missing');
    return created;
  }
}
