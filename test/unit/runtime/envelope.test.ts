// Envelope encryption: a data key per value, wrapped by a master key picked by its id.
import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../runtime/config.js';
import {
  isCurrent,
  masterKeyFromConfig,
  rewrap,
  UnknownMasterKeyError,
  unwrap,
  wrap,
  type MasterKey,
} from '../../../runtime/envelope.js';

const k1: MasterKey = { id: 'm1', key: randomBytes(32) };
const k2: MasterKey = { id: 'm2', key: randomBytes(32), previous: new Map([['m1', k1.key]]) };
const secret = Buffer.from('a secret worth keeping');

/** A value as the previous release wrote it: the secret directly under the master key. */
function legacyWrap(master: MasterKey, plaintext: Buffer, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', master.key, iv);
  cipher.setAAD(Buffer.from(context));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return [master.id, iv, cipher.getAuthTag(), ciphertext]
    .map((p) => (typeof p === 'string' ? p : p.toString('base64url')))
    .join('.');
}

function flipByte(wrapped: string, part: number): string {
  const parts = wrapped.split('.');
  const bytes = Buffer.from(parts[part]!, 'base64url');
  bytes[0]! ^= 1;
  parts[part] = bytes.toString('base64url');
  return parts.join('.');
}

describe('wrap and unwrap', () => {
  it('round-trips, naming the format version and the master key id', () => {
    const wrapped = wrap(k1, secret, 'org-1');
    expect(wrapped.split('.').slice(0, 2)).toEqual(['v2', 'm1']);
    expect(unwrap(k1, wrapped, 'org-1')).toEqual(secret);
  });

  it('uses a fresh data key each time: the same secret never wraps to the same value', () => {
    const [a, b] = [wrap(k1, secret, 'c'), wrap(k1, secret, 'c')];
    expect(a.split('.')[4]).not.toBe(b.split('.')[4]);
    expect(a.split('.')[7]).not.toBe(b.split('.')[7]);
  });

  it('refuses another context', () => {
    expect(() => unwrap(k1, wrap(k1, secret, 'org-1'), 'org-2')).toThrow();
  });

  it.each([
    ['the wrapped data key', 4],
    ['its tag', 3],
    ['the ciphertext', 7],
    ['the secret tag', 6],
  ])('refuses a value whose %s was tampered with', (_part, index) => {
    expect(() => unwrap(k1, flipByte(wrap(k1, secret, 'c'), index), 'c')).toThrow();
  });

  it('refuses a value relabelled with another configured key id', () => {
    const relabelled = wrap(k1, secret, 'c').replace('.m1.', '.m2.');
    expect(() => unwrap(k2, relabelled, 'c')).toThrow();
  });

  it('opens a value wrapped by a previous master key that is still configured', () => {
    expect(unwrap(k2, wrap(k1, secret, 'c'), 'c')).toEqual(secret);
  });

  it('names an unknown master key id in its error', () => {
    const wrapped = wrap(k2, secret, 'c');
    expect(() => unwrap(k1, wrapped, 'c')).toThrow(UnknownMasterKeyError);
    expect(() => unwrap(k1, wrapped, 'c')).toThrow(/master key "m2"/);
  });

  it('refuses malformed values', () => {
    for (const bad of ['', 'nonsense', 'v2.m1.a.b.c', 'a..b.c', 'v2.m1.a.b.c.d.e.']) {
      expect(() => unwrap(k1, bad, 'c')).toThrow(/malformed/);
    }
  });

  it('opens values written before data keys existed', () => {
    expect(unwrap(k1, legacyWrap(k1, secret, 'c'), 'c')).toEqual(secret);
    expect(unwrap(k2, legacyWrap(k1, secret, 'c'), 'c')).toEqual(secret);
  });
});

describe('rewrap', () => {
  it('re-wraps only the data key: the ciphertext stays, the current key opens it', () => {
    const old = wrap(k1, secret, 'c');
    const rewrapped = rewrap(k2, old, 'c');
    expect(rewrapped?.split('.').slice(0, 2)).toEqual(['v2', 'm2']);
    expect(rewrapped?.split('.').slice(5)).toEqual(old.split('.').slice(5));
    expect(unwrap({ id: 'm2', key: k2.key }, rewrapped!, 'c')).toEqual(secret);
  });

  it('leaves a current value alone', () => {
    const current = wrap(k2, secret, 'c');
    expect(isCurrent(k2, current)).toBe(true);
    expect(rewrap(k2, current, 'c')).toBeUndefined();
  });

  it('converts a legacy value to the current format', () => {
    const converted = rewrap(k2, legacyWrap(k1, secret, 'c'), 'c');
    expect(converted && isCurrent(k2, converted)).toBe(true);
    expect(unwrap({ id: 'm2', key: k2.key }, converted!, 'c')).toEqual(secret);
  });

  it('refuses to re-wrap under the wrong context', () => {
    expect(() => rewrap(k2, wrap(k1, secret, 'c'), 'd')).toThrow();
  });
});

describe('MASTER_KEYS_PREVIOUS', () => {
  const base = {
    DATABASE_URL: 'postgres://app@localhost/vlinders',
    MASTER_KEY: randomBytes(32).toString('base64'),
    MASTER_KEY_ID: 'm2',
  };
  const old = randomBytes(32).toString('base64');

  it('is empty by default and parses into the keyring', () => {
    expect(masterKeyFromConfig(parseConfig(base)).previous?.size).toBe(0);
    const master = masterKeyFromConfig(
      parseConfig({ ...base, MASTER_KEYS_PREVIOUS: `m1:${old}, m0:${old}` }),
    );
    expect([...(master.previous?.keys() ?? [])]).toEqual(['m1', 'm0']);
    expect(master.previous?.get('m1')).toEqual(Buffer.from(old, 'base64'));
  });

  it.each([
    ['a key that is not 32 bytes', `m1:${randomBytes(16).toString('base64')}`, /m1 is not 32 bytes/],
    ['an entry without an id', old, /is not <id>:<base64 key>/],
    ['an id used twice', `m1:${old},m1:${old}`, /m1 appears twice/],
    ['the current id', `m2:${old}`, /m2 appears twice/],
    ['an id with odd characters', `m 1:${old}`, /is not <id>:<base64 key>/],
  ])('refuses %s', (_case, value, message) => {
    expect(() => parseConfig({ ...base, MASTER_KEYS_PREVIOUS: value })).toThrow(message);
    expect(() => parseConfig({ ...base, MASTER_KEYS_PREVIOUS: value })).toThrow(/MASTER_KEYS_PREVIOUS/);
  });
});
