// The API key format and how its secret is stored.
//
// A key is `vl_<env>_<prefix>_<secret>`: `env` names the deployment (API_KEY_ENV), `prefix` is 12
// base62 characters (~71 bits, no `_` so the key splits unambiguously) that find the row, and
// `secret` is 32 random bytes in base64url (43 characters, may contain `_` and `-`).
//
// Why HMAC-SHA-256 with a pepper and not argon2id: a slow password hash exists to make guessing a
// low-entropy secret (a human's password) expensive after a database leak. A key secret is 256 bits
// from the CSPRNG; nobody can guess it whatever the hash costs, so argon2id would add tens of
// milliseconds and megabytes of memory to every API request (the hot path) and buy no security.
// The HMAC's key (the pepper) is a random 32-byte platform secret stored wrapped by the master key
// (runtime/platform-secrets.ts): a dump of the database alone cannot even be used to check a
// candidate key, and rotating the master key re-wraps the pepper without changing it, so every API
// key stays valid. Hashes are compared with crypto.timingSafeEqual.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db } from '../db/client.js';
import type { MasterKey } from './envelope.js';
import { loadOrCreatePlatformSecret } from './platform-secrets.js';

const base62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export const prefixLength = 12;
const secretBytes = 32;
/** Longer input is refused before any parsing work. */
const maxKeyLength = 128;

export interface ParsedKey {
  env: string;
  prefix: string;
  secret: string;
}

export interface GeneratedKey extends ParsedKey {
  key: string;
}

export const apiKeyPepperName = 'api-key-secret-hmac/v1';

/** The pepper: created (random) on the platform's first start, the same on every replica since. */
export function loadApiKeyPepper(db: Db, master: MasterKey): Promise<Buffer> {
  return loadOrCreatePlatformSecret(db, master, apiKeyPepperName, () => randomBytes(32));
}

export function hashSecret(pepper: Buffer, secret: string): Buffer {
  return createHmac('sha256', pepper).update(secret).digest();
}

/** Constant-time comparison of a presented secret's HMAC with a stored one (same length by construction). */
export function hashesEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function randomBase62(length: number): string {
  // 256 % 62 != 0: reject bytes >= 248 so every character is equally likely.
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += base62[byte % 62];
    }
  }
  return out;
}

export function generateKey(env: string): GeneratedKey {
  const prefix = randomBase62(prefixLength);
  const secret = randomBytes(secretBytes).toString('base64url');
  return { env, prefix, secret, key: `vl_${env}_${prefix}_${secret}` };
}

/** Whether a bearer credential claims to be an API key (and not a JWT). */
export function looksLikeApiKey(credential: string): boolean {
  return credential.startsWith('vl_');
}

const keyPattern = /^vl_([a-z0-9]{1,16})_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

/** Parses a presented key; null for anything that is not exactly the format. */
export function parseKey(candidate: string): ParsedKey | null {
  if (candidate.length > maxKeyLength) return null;
  const match = keyPattern.exec(candidate);
  if (!match?.[1] || !match[2] || !match[3]) return null;
  return { env: match[1], prefix: match[2], secret: match[3] };
}
