// Envelope encryption with AES-256-GCM: data keys (per tenant, per signing key) are wrapped by the
// master key from config. A wrapped value is "<masterKeyId>.<iv>.<tag>.<ciphertext>" in base64url,
// so a rotated master key can still open what the previous one wrapped while it is configured.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export interface MasterKey {
  id: string;
  key: Buffer;
}

export function masterKeyFromConfig(config: { MASTER_KEY: string; MASTER_KEY_ID: string }): MasterKey {
  return { id: config.MASTER_KEY_ID, key: Buffer.from(config.MASTER_KEY, 'base64') };
}

export function encrypt(
  key: Buffer,
  plaintext: Buffer,
  aad?: Buffer,
): { iv: Buffer; tag: Buffer; ciphertext: Buffer } {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  if (aad) cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv, tag: cipher.getAuthTag(), ciphertext };
}

export function decrypt(
  key: Buffer,
  parts: { iv: Buffer; tag: Buffer; ciphertext: Buffer },
  aad?: Buffer,
): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, parts.iv);
  if (aad) decipher.setAAD(aad);
  decipher.setAuthTag(parts.tag);
  return Buffer.concat([decipher.update(parts.ciphertext), decipher.final()]);
}

/** Wraps a secret under the master key; `context` (e.g. the org id) is bound as associated data. */
export function wrap(master: MasterKey, secret: Buffer, context: string): string {
  const { iv, tag, ciphertext } = encrypt(master.key, secret, Buffer.from(context));
  return [master.id, iv, tag, ciphertext]
    .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
    .join('.');
}

export function unwrap(master: MasterKey, wrapped: string, context: string): Buffer {
  const [keyId, iv, tag, ciphertext] = wrapped.split('.');
  if (!keyId || !iv || !tag || !ciphertext) throw new Error('malformed wrapped key');
  if (keyId !== master.id) throw new Error(`wrapped by master key ${keyId}, but ${master.id} is configured`);
  const b = (s: string) => Buffer.from(s, 'base64url');
  return decrypt(master.key, { iv: b(iv), tag: b(tag), ciphertext: b(ciphertext) }, Buffer.from(context));
}
