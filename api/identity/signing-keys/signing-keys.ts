// RS256 signing keys and their rotation. The private JWK is stored wrapped by the master key
// (context = kid). A key's life: created and published in the JWKS at once; signs from
// `activates_at` (publishSeconds later, so every JWKS cache has seen it before its first token);
// when a newer key is rotated in, gets `retire_after` = the newer key's activation + the key
// refresh interval of replicas (one may sign with it that much longer) + the longest token
// lifetime; after that it leaves the JWKS, its tokens stop verifying, and its private half is
// erased (lazily, by whoever lists the keys next).
import { and, desc, eq, isNotNull, isNull, lte, sql } from 'drizzle-orm';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type CryptoKey,
  type JWK,
} from 'jose';
import type { Db, Tx } from '../../../db/client.js';
import { signingKeys } from '../../../db/schema/index.js';
import type { Config } from '../../../runtime/config.js';
import { unwrap, wrap, type MasterKey } from '../../../runtime/envelope.js';
import { recordAudit, type Actor } from '../../audit.js';

export const signingAlgorithm = 'RS256' as const;

/** Every process reloads the published keys at least this often (api/services/access-tokens.ts). */
export const keyRefreshSeconds = 60;

/** The published form of a key: what a JWKS consumer needs to verify RS256 signatures. */
export interface RsaPublicJwk {
  kty: 'RSA';
  kid: string;
  alg: typeof signingAlgorithm;
  use: 'sig';
  n: string;
  e: string;
}

export interface PublishedKey {
  kid: string;
  jwk: RsaPublicJwk;
  activatesAt: Date;
  retireAfter: Date | null;
}

export interface SigningKeyTimings {
  /** How long a new key is published before it signs. */
  publishSeconds: number;
  /** The longest lifetime of any token signed with these keys. */
  longestTokenTtlSeconds: number;
}

/** The timings from config; a new kind of token signed with these keys adds its lifetime here. */
export function signingKeyTimings(
  config: Pick<Config, 'SIGNING_KEY_PUBLISH_SECONDS' | 'ACCESS_TOKEN_TTL_SECONDS'>,
): SigningKeyTimings {
  return {
    publishSeconds: config.SIGNING_KEY_PUBLISH_SECONDS,
    longestTokenTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
  };
}

const addSeconds = (date: Date, seconds: number) => new Date(date.getTime() + seconds * 1000);

async function createKey(db: Db | Tx, master: MasterKey, activatesAt: Date): Promise<PublishedKey> {
  const { privateKey, publicKey } = await generateKeyPair(signingAlgorithm, {
    extractable: true,
    modulusLength: 2048,
  });
  const exported = await exportJWK(publicKey);
  if (!exported.n || !exported.e) throw new Error('generated key is not RSA');
  const kid = await calculateJwkThumbprint(exported);
  const jwk: RsaPublicJwk = {
    kty: 'RSA',
    kid,
    alg: signingAlgorithm,
    use: 'sig',
    n: exported.n,
    e: exported.e,
  };
  const privateJwk = await exportJWK(privateKey);
  await db.insert(signingKeys).values({
    kid,
    publicJwk: JSON.stringify(jwk),
    wrappedPrivateJwk: wrap(master, Buffer.from(JSON.stringify(privateJwk)), kid),
    activatesAt,
  });
  return { kid, jwk, activatesAt, retireAfter: null };
}

/** Retires the keys whose retire time has passed: out of the JWKS, private half erased. */
async function retireExpiredKeys(db: Db, now: Date): Promise<void> {
  await db
    .update(signingKeys)
    .set({ retiredAt: now, wrappedPrivateJwk: '' })
    .where(
      and(
        isNull(signingKeys.retiredAt),
        isNotNull(signingKeys.retireAfter),
        lte(signingKeys.retireAfter, now),
      ),
    );
}

/** Every published key (active, pending or retiring), newest activation first. */
export async function listPublishedKeys(db: Db, now = new Date()): Promise<PublishedKey[]> {
  await retireExpiredKeys(db, now);
  const rows = await db
    .select()
    .from(signingKeys)
    .where(isNull(signingKeys.retiredAt))
    .orderBy(desc(signingKeys.activatesAt), desc(signingKeys.createdAt));
  return rows.map((r) => ({
    kid: r.kid,
    jwk: JSON.parse(r.publicJwk) as RsaPublicJwk,
    activatesAt: r.activatesAt,
    retireAfter: r.retireAfter,
  }));
}

export function isPublished(key: PublishedKey, now: Date): boolean {
  return key.retireAfter === null || key.retireAfter > now;
}

/** The key that signs at `now`: the newest one already active (keys are newest first). */
export function signingKeyAt(keys: PublishedKey[], now: Date): PublishedKey | undefined {
  return keys.find((k) => k.activatesAt <= now && isPublished(k, now));
}

async function privateJwkOf(db: Db, master: MasterKey, kid: string): Promise<JWK> {
  const [row] = await db
    .select({ wrapped: signingKeys.wrappedPrivateJwk })
    .from(signingKeys)
    .where(and(eq(signingKeys.kid, kid), isNull(signingKeys.retiredAt)));
  if (!row?.wrapped) throw new Error(`signing key ${kid} is retired or missing`);
  return JSON.parse(unwrap(master, row.wrapped, kid).toString('utf8')) as JWK;
}

/** The private key of a published key, for signing. */
export async function openSigningKey(db: Db, master: MasterKey, kid: string): Promise<CryptoKey> {
  const privateKey = await importJWK(await privateJwkOf(db, master, kid), signingAlgorithm);
  if (privateKey instanceof Uint8Array) throw new Error(`signing key ${kid} is not an asymmetric key`);
  return privateKey;
}

/** Makes sure some key signs now: creates one, active at once, on first start (or if all retired). */
export async function ensureSigningKey(db: Db, master: MasterKey): Promise<void> {
  const now = new Date();
  if (!signingKeyAt(await listPublishedKeys(db, now), now)) await createKey(db, master, now);
}

/**
 * Rotates: publishes a new key that signs from `publishSeconds` from now, and schedules every
 * older published key's retirement once the tokens it may still sign have expired. Audited.
 */
export function rotateSigningKey(
  db: Db,
  master: MasterKey,
  timings: SigningKeyTimings,
  actor: Actor,
): Promise<PublishedKey> {
  return db.transaction(async (tx) => {
    const activatesAt = addSeconds(new Date(), timings.publishSeconds);
    const retireAfter = addSeconds(activatesAt, keyRefreshSeconds + timings.longestTokenTtlSeconds);
    const created = await createKey(tx, master, activatesAt);
    await tx
      .update(signingKeys)
      .set({ retireAfter: sql`least(coalesce(${signingKeys.retireAfter}, ${retireAfter}), ${retireAfter})` })
      .where(and(isNull(signingKeys.retiredAt), sql`${signingKeys.kid} <> ${created.kid}`));
    await recordAudit(tx, actor, {
      orgId: null,
      action: 'signing-key.rotate',
      targetType: 'signing_key',
      targetId: created.kid,
      details: { activatesAt: activatesAt.toISOString(), previousKeysRetireAfter: retireAfter.toISOString() },
    });
    return created;
  });
}

/**
 * Private JWKs for an embedded authorization server: the key that signs now first (it signs with
 * the first key of its algorithm), then every other published key, so tokens of either verify.
 */
export async function privateSigningJwks(db: Db, master: MasterKey): Promise<JWK[]> {
  const now = new Date();
  const keys = await listPublishedKeys(db, now);
  const signer = signingKeyAt(keys, now);
  const ordered = signer ? [signer, ...keys.filter((k) => k !== signer)] : keys;
  return Promise.all(
    ordered.map(async ({ kid }) => ({
      ...(await privateJwkOf(db, master, kid)),
      kid,
      alg: signingAlgorithm,
      use: 'sig',
    })),
  );
}
