// RS256 signing keys. The private JWK is stored wrapped by the master key (context = kid); the
// public halves of every un-retired key are published in the JWKS, so a rotated key keeps
// verifying the tokens it signed until it is retired.
import { desc, eq, isNull } from 'drizzle-orm';
import {
  calculateJwkThumbprint,
  exportJWK,
  generateKeyPair,
  importJWK,
  type CryptoKey,
  type JWK,
} from 'jose';
import type { Db } from '../../db/client.js';
import { signingKeys } from '../../db/schema/index.js';
import { unwrap, wrap, type MasterKey } from '../../runtime/envelope.js';

export const signingAlgorithm = 'RS256' as const;

/** The published form of a key: what a JWKS consumer needs to verify RS256 signatures. */
export interface RsaPublicJwk {
  kty: 'RSA';
  kid: string;
  alg: typeof signingAlgorithm;
  use: 'sig';
  n: string;
  e: string;
}

export interface PublicKeyEntry {
  kid: string;
  jwk: RsaPublicJwk;
}

export interface ActiveSigningKey {
  kid: string;
  privateKey: CryptoKey;
}

async function createKey(db: Db, master: MasterKey): Promise<ActiveSigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(signingAlgorithm, {
    extractable: true,
    modulusLength: 2048,
  });
  const exported = await exportJWK(publicKey);
  if (!exported.n || !exported.e) throw new Error('generated key is not RSA');
  const kid = await calculateJwkThumbprint(exported);
  const publicJwk: RsaPublicJwk = {
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
    publicJwk: JSON.stringify(publicJwk),
    wrappedPrivateJwk: wrap(master, Buffer.from(JSON.stringify(privateJwk)), kid),
  });
  return { kid, privateKey };
}

async function openKey(master: MasterKey, row: typeof signingKeys.$inferSelect): Promise<ActiveSigningKey> {
  const jwk = JSON.parse(unwrap(master, row.wrappedPrivateJwk, row.kid).toString('utf8')) as JWK;
  const privateKey = await importJWK(jwk, signingAlgorithm);
  if (privateKey instanceof Uint8Array) throw new Error(`signing key ${row.kid} is not an asymmetric key`);
  return { kid: row.kid, privateKey };
}

/** The newest un-retired key, created when there is none (first start, or all retired). */
export async function loadOrCreateSigningKey(db: Db, master: MasterKey): Promise<ActiveSigningKey> {
  const [newest] = await db
    .select()
    .from(signingKeys)
    .where(isNull(signingKeys.retiredAt))
    .orderBy(desc(signingKeys.createdAt))
    .limit(1);
  return newest ? openKey(master, newest) : createKey(db, master);
}

/** Every key that may still verify tokens (un-retired), newest first. */
export async function listPublicKeys(db: Db): Promise<PublicKeyEntry[]> {
  const rows = await db
    .select({ kid: signingKeys.kid, publicJwk: signingKeys.publicJwk })
    .from(signingKeys)
    .where(isNull(signingKeys.retiredAt))
    .orderBy(desc(signingKeys.createdAt));
  return rows.map((r) => ({ kid: r.kid, jwk: JSON.parse(r.publicJwk) as RsaPublicJwk }));
}

/** Creates a new key that signs from now on; older keys keep verifying until retired. */
export function rotateSigningKey(db: Db, master: MasterKey): Promise<ActiveSigningKey> {
  return createKey(db, master);
}

/** Retires a key: it leaves the JWKS and tokens it signed stop verifying. */
export async function retireSigningKey(db: Db, kid: string): Promise<void> {
  await db.update(signingKeys).set({ retiredAt: new Date() }).where(eq(signingKeys.kid, kid));
}

/**
 * The private JWKs of every un-retired key, for the OAuth/OIDC server's keystore: the key that
 * signs now first, then every other key still published (they verify, and stay in its JWKS).
 */
export async function privateSigningJwks(db: Db, master: MasterKey): Promise<JWK[]> {
  const rows = await db
    .select()
    .from(signingKeys)
    .where(isNull(signingKeys.retiredAt))
    .orderBy(desc(signingKeys.createdAt));
  return rows.map((row) => {
    const jwk = JSON.parse(unwrap(master, row.wrappedPrivateJwk, row.kid).toString('utf8')) as JWK;
    return { ...jwk, kid: row.kid, alg: signingAlgorithm, use: 'sig' };
  });
}
