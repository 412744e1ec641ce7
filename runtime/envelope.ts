// Envelope encryption with AES-256-GCM. Every wrapped value has its own random data key: the secret
// is encrypted under the data key, and the data key under a master key from config; `context` (an
// org id, a kid…) is associated data of both, so a value copied to another row does not open.
//
//   v2.<masterKeyId>.<iv>.<tag>.<wrapped data key>.<iv>.<tag>.<ciphertext>   (base64url parts)
//
// The master key id in the value picks the key from the keyring (current + previous keys still
// configured), so after a rotation old values open until `npm run secrets:rewrap` has re-wrapped
// their data keys under the current key; the ciphertext itself never changes. Values written before
// data keys existed ("<masterKeyId>.<iv>.<tag>.<ciphertext>", the secret directly under the master
// key) still open, and the rewrap converts them.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** The master keys: `id`/`key` wrap new values; `previous` only open values they wrapped. */
export interface MasterKey {
  id: string;
  key: Buffer;
  previous?: ReadonlyMap<string, Buffer>;
}

const formatVersion = 'v2';
const keyBytes = 32;

export class UnknownMasterKeyError extends Error {
  constructor(readonly keyId: string) {
    super(
      `value is wrapped by master key ${JSON.stringify(keyId)}, which is neither MASTER_KEY_ID nor in MASTER_KEYS_PREVIOUS`,
    );
  }
}

/** Parses MASTER_KEYS_PREVIOUS (`id:base64key,…`); throws naming the first bad entry. */
export function parsePreviousMasterKeys(value: string, currentId: string): Map<string, Buffer> {
  const keys = new Map<string, Buffer>();
  for (const entry of value
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const [id, base64, extra] = entry.split(':');
    if (!id || !base64 || extra !== undefined || !/^[A-Za-z0-9_-]{1,32}$/.test(id))
      throw new Error(`entry ${JSON.stringify(id ?? entry)} is not <id>:<base64 key>`);
    const key = Buffer.from(base64, 'base64');
    if (key.length !== keyBytes || key.toString('base64') !== base64)
      throw new Error(`key ${id} is not ${keyBytes} bytes of base64`);
    if (id === currentId || keys.has(id)) throw new Error(`key id ${id} appears twice`);
    keys.set(id, key);
  }
  return keys;
}

export function masterKeyFromConfig(config: {
  MASTER_KEY: string;
  MASTER_KEY_ID: string;
  MASTER_KEYS_PREVIOUS?: string;
}): MasterKey {
  return {
    id: config.MASTER_KEY_ID,
    key: Buffer.from(config.MASTER_KEY, 'base64'),
    previous: parsePreviousMasterKeys(config.MASTER_KEYS_PREVIOUS ?? '', config.MASTER_KEY_ID),
  };
}

function masterKeyById(master: MasterKey, id: string): Buffer {
  const key = id === master.id ? master.key : master.previous?.get(id);
  if (!key) throw new UnknownMasterKeyError(id);
  return key;
}

export interface Sealed {
  iv: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

export function encrypt(key: Buffer, plaintext: Buffer, aad?: Buffer): Sealed {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  if (aad) cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { iv, tag: cipher.getAuthTag(), ciphertext };
}

export function decrypt(key: Buffer, parts: Sealed, aad?: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, parts.iv);
  if (aad) decipher.setAAD(aad);
  decipher.setAuthTag(parts.tag);
  return Buffer.concat([decipher.update(parts.ciphertext), decipher.final()]);
}

interface Envelope {
  masterKeyId: string;
  /** The data key, sealed under the master key. */
  dataKey: Sealed;
  /** The secret, sealed under the data key. */
  secret: Sealed;
}

/** A value written before data keys existed: the secret sealed directly under the master key. */
interface LegacyValue {
  masterKeyId: string;
  secret: Sealed;
}

const b64 = (s: string) => Buffer.from(s, 'base64url');
const sealedOf = (iv: string, tag: string, ciphertext: string): Sealed => ({
  iv: b64(iv),
  tag: b64(tag),
  ciphertext: b64(ciphertext),
});

function parse(wrapped: string): Envelope | LegacyValue {
  const parts = wrapped.split('.');
  if (parts.some((p) => p === '')) throw new Error('malformed wrapped value');
  const [a, b, c, d, e, f, g, h] = parts;
  if (parts.length === 8 && a === formatVersion && b && c && d && e && f && g && h)
    return { masterKeyId: b, dataKey: sealedOf(c, d, e), secret: sealedOf(f, g, h) };
  if (parts.length === 4 && a && b && c && d) return { masterKeyId: a, secret: sealedOf(b, c, d) };
  throw new Error('malformed wrapped value');
}

function format(envelope: Envelope): string {
  const { masterKeyId, dataKey, secret } = envelope;
  return [
    formatVersion,
    masterKeyId,
    ...[dataKey, secret].flatMap((s) => [s.iv, s.tag, s.ciphertext].map((p) => p.toString('base64url'))),
  ].join('.');
}

function sealDataKey(master: MasterKey, dataKey: Buffer, context: string): Envelope['dataKey'] {
  return encrypt(master.key, dataKey, Buffer.from(context));
}

/** Wraps a secret under a fresh data key, itself wrapped by the current master key. */
export function wrap(master: MasterKey, secret: Buffer, context: string): string {
  const dataKey = randomBytes(keyBytes);
  const aad = Buffer.from(context);
  return format({
    masterKeyId: master.id,
    dataKey: sealDataKey(master, dataKey, context),
    secret: encrypt(dataKey, secret, aad),
  });
}

/** Opens a wrapped value with whichever configured master key wrapped it. */
export function unwrap(master: MasterKey, wrapped: string, context: string): Buffer {
  const value = parse(wrapped);
  const masterKey = masterKeyById(master, value.masterKeyId);
  const aad = Buffer.from(context);
  if (!('dataKey' in value)) return decrypt(masterKey, value.secret, aad);
  return decrypt(decrypt(masterKey, value.dataKey, aad), value.secret, aad);
}

/** Whether a value is already in the current format under the current master key. */
export function isCurrent(master: MasterKey, wrapped: string): boolean {
  const value = parse(wrapped);
  return 'dataKey' in value && value.masterKeyId === master.id;
}

/**
 * The value re-wrapped under the current master key: only the data key is re-encrypted, the
 * secret's ciphertext stays as it is. A legacy value gets a data key (its secret is re-sealed).
 * Answers undefined when the value is already current.
 */
export function rewrap(master: MasterKey, wrapped: string, context: string): string | undefined {
  if (isCurrent(master, wrapped)) return undefined;
  const value = parse(wrapped);
  if (!('dataKey' in value)) return wrap(master, unwrap(master, wrapped, context), context);
  const dataKey = decrypt(masterKeyById(master, value.masterKeyId), value.dataKey, Buffer.from(context));
  return format({ ...value, masterKeyId: master.id, dataKey: sealDataKey(master, dataKey, context) });
}
