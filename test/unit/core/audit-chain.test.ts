import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  canonicalRow,
  GENESIS_HASH,
  linkHash,
  plainDecimal,
  verifyChain,
  type ChainRow,
  type StoredLink,
} from '../../../core/audit-chain.js';

const base: ChainRow = {
  id: 7,
  orgId: '0b7f6f0e-52a4-4a55-9f57-3c1f4b1d2e3a',
  actorId: null,
  action: 'team.created',
  targetType: 'team',
  targetId: 'abc',
  ip: '203.0.113.9',
  details: { name: 'core', b: [1, { y: true, x: null }] },
  createdAt: '2026-11-26T14:00:00.123456Z',
};

function chainOf(rows: ChainRow[]): StoredLink[] {
  let prev: Buffer = GENESIS_HASH;
  return rows.map((row) => {
    const hash = linkHash(prev, row);
    const link = { ...row, prevHash: prev, hash };
    prev = hash;
    return link;
  });
}

describe('canonical form', () => {
  it('sorts object keys by code point at every depth and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, 'x'], c: 'é' }, B: false, é: null, e: 'z' })).toBe(
      '{"B":false,"a":{"c":"é","d":[3,"x"]},"b":1,"e":"z","é":null}',
    );
  });

  it('writes numbers as plain decimals, as PostgreSQL numeric prints them', () => {
    expect([1e21, 1.5e-7, -1e-7, 123, -0, 0.1, 2.5e25, 1.2345e22].map(plainDecimal)).toEqual([
      '1000000000000000000000',
      '0.00000015',
      '-0.0000001',
      '123',
      '0',
      '0.1',
      '25000000000000000000000000',
      '12345000000000000000000',
    ]);
  });

  it('is one JSON array with a version tag, every field in a fixed place', () => {
    expect(canonicalRow(base)).toBe(
      '["vlinders.audit.v1",7,"0b7f6f0e-52a4-4a55-9f57-3c1f4b1d2e3a",null,"team.created","team","abc",' +
        '"203.0.113.9",{"b":[1,{"x":null,"y":true}],"name":"core"},"2026-11-26T14:00:00.123456Z"]',
    );
  });

  it('hashes SHA-256(prev_hash || canonical row)', () => {
    const prev = Buffer.alloc(32, 1);
    const expected = createHash('sha256')
      .update(Buffer.concat([prev, Buffer.from(canonicalRow(base), 'utf8')]))
      .digest();
    expect(linkHash(prev, base).equals(expected)).toBe(true);
  });
});

describe('verifyChain', () => {
  const rows = [1, 2, 3, 4].map((id) => ({ ...base, id, details: { n: id } }));

  it('accepts an intact chain and its head', () => {
    const chain = chainOf(rows);
    const last = chain[3]!;
    expect(verifyChain(chain, { lastId: 4, lastHash: last.hash })).toEqual({ ok: true, checked: 4 });
    expect(verifyChain([], null)).toEqual({ ok: true, checked: 0 });
  });

  it('reports an edited row as the first broken link', () => {
    const chain = chainOf(rows);
    chain[1] = { ...chain[1]!, details: { n: 99 } };
    const report = verifyChain(chain, { lastId: 4, lastHash: chain[3]!.hash });
    expect(report).toMatchObject({ ok: false, checked: 2, firstBrokenId: 2 });
    expect(report.reason).toMatch(/content does not match its hash/);
  });

  it('reports the row after a removed one, and a reordering', () => {
    const chain = chainOf(rows);
    expect(verifyChain([chain[0]!, chain[2]!, chain[3]!], null)).toMatchObject({
      ok: false,
      firstBrokenId: 3,
      reason: expect.stringMatching(/not the hash of entry 1/),
    });
    expect(verifyChain([chain[1]!, chain[2]!], null)).toMatchObject({ ok: false, firstBrokenId: 2 });
    expect(verifyChain([chain[0]!, chain[2]!, chain[1]!, chain[3]!], null)).toMatchObject({
      ok: false,
      firstBrokenId: 3,
    });
  });

  it('reports entries cut off the end against the recorded head', () => {
    const chain = chainOf(rows);
    expect(verifyChain(chain.slice(0, 3), { lastId: 4, lastHash: chain[3]!.hash })).toMatchObject({
      ok: false,
      checked: 3,
      firstBrokenId: 4,
      reason: expect.stringMatching(/removed from the end/),
    });
  });
});
