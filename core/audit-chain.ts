// The audit log's hash chain, as pure functions: the canonical serialization of a row and the
// link hash. The database computes the same bytes in its insert trigger (audit_canonical_row and
// audit_log_chain in db/migrations/0004_audit_chain.sql); the verifier and the tests recompute
// with these. The two definitions must stay byte-identical.
//
// canonical row = ["vlinders.audit.v1",<id>,<org_id>,<actor_id>,<action>,<target_type>,<target_id>,<ip>,<details>,<created_at>]
//   no whitespace; text values as JSON strings or null; id as a JSON number; ip as PostgreSQL's
//   inet text; details as canonical JSON (below); created_at as 'YYYY-MM-DDTHH:MM:SS.ffffffZ' (UTC,
//   microseconds, as stored).
// canonical JSON = object keys sorted by Unicode code point, no whitespace, strings escaped as
//   JSON.stringify does, numbers as plain decimals (no exponent, no trailing zeros).
// hash = SHA-256(prev_hash || UTF-8(canonical row)); the first link's prev_hash is 32 zero bytes.
import { createHash } from 'node:crypto';

export const CHAIN_VERSION = 'vlinders.audit.v1';
export const GENESIS_HASH: Buffer = Buffer.alloc(32);

/** One audit row as the chain sees it. */
export interface ChainRow {
  id: number;
  orgId: string | null;
  actorId: string | null;
  action: string;
  targetType: string;
  targetId: string | null;
  ip: string | null;
  details: unknown;
  /** 'YYYY-MM-DDTHH:MM:SS.ffffffZ', UTC. */
  createdAt: string;
}

/** A JSON number as a plain decimal: what PostgreSQL's numeric prints after trim_scale. */
export function plainDecimal(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError(`not a JSON number: ${n}`);
  if (n === 0) return '0';
  const text = String(n);
  const e = text.indexOf('e');
  if (e < 0) return text;
  const negative = text.startsWith('-');
  const mantissa = text.slice(negative ? 1 : 0, e);
  const exponent = Number(text.slice(e + 1));
  const [whole = '', fraction = ''] = mantissa.split('.');
  const digits = whole + fraction;
  const point = whole.length + exponent;
  let plain: string;
  if (point <= 0) plain = `0.${'0'.repeat(-point)}${digits}`;
  else if (point >= digits.length) plain = digits + '0'.repeat(point - digits.length);
  else plain = `${digits.slice(0, point)}.${digits.slice(point)}`;
  return (negative ? '-' : '') + plain;
}

function byCodePoint(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/** Canonical JSON of a value read back from a jsonb column (or about to be written to one). */
export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'number':
      return plainDecimal(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v: unknown) => canonicalJson(v ?? null)).join(',')}]`;
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => byCodePoint(a, b));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
    }
    default:
      throw new TypeError(`not representable in JSON: ${typeof value}`);
  }
}

export function canonicalRow(row: ChainRow): string {
  const text = (v: string | null) => (v === null ? 'null' : JSON.stringify(v));
  const fields = [
    text(CHAIN_VERSION),
    String(row.id),
    text(row.orgId),
    text(row.actorId),
    text(row.action),
    text(row.targetType),
    text(row.targetId),
    text(row.ip),
    canonicalJson(row.details),
    text(row.createdAt),
  ];
  return `[${fields.join(',')}]`;
}

/** The link hash: SHA-256(prev_hash || UTF-8(canonical row)). */
export function linkHash(prevHash: Uint8Array, row: ChainRow): Buffer {
  return createHash('sha256').update(prevHash).update(canonicalRow(row), 'utf8').digest();
}

/** A stored row with its link. */
export interface StoredLink extends ChainRow {
  prevHash: Uint8Array;
  hash: Uint8Array;
}

export interface ChainReport {
  ok: boolean;
  /** Links checked, up to and including the first broken one. */
  checked: number;
  firstBrokenId?: number;
  reason?: string;
}

/** The chain's recorded head, to notice rows removed from its end. */
export interface ChainHead {
  lastId: number;
  lastHash: Uint8Array;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * Walks one chain's rows in id order (fed one at a time, so a long chain never sits in memory)
 * and reports the first link that does not hold: a row whose content no longer matches its hash
 * (edited), a row whose prev_hash is not the previous row's hash (a row removed, inserted or
 * reordered before it), or a chain that ends before its recorded head (rows cut off the end).
 */
export class ChainVerifier {
  private expectedPrev: Uint8Array = GENESIS_HASH;
  private checked = 0;
  private last: StoredLink | null = null;

  /** Checks the next row; answers the broken report, or null while the chain holds. */
  add(row: StoredLink): ChainReport | null {
    this.checked += 1;
    const broken = (reason: string): ChainReport => ({
      ok: false,
      checked: this.checked,
      firstBrokenId: row.id,
      reason,
    });
    if (!Buffer.from(row.prevHash).equals(this.expectedPrev)) {
      return broken(
        this.last === null
          ? `prev_hash ${hex(row.prevHash)} does not start the chain (entries before it are missing)`
          : `prev_hash ${hex(row.prevHash)} is not the hash of entry ${this.last.id} (entries removed or reordered)`,
      );
    }
    const recomputed = linkHash(row.prevHash, row);
    if (!recomputed.equals(row.hash)) {
      return broken(
        `content does not match its hash (stored ${hex(row.hash)}, recomputed ${hex(recomputed)})`,
      );
    }
    this.expectedPrev = row.hash;
    this.last = row;
    return null;
  }

  /** The verdict once every row was added; head is the chain's recorded head (null: none). */
  end(head: ChainHead | null): ChainReport {
    const last = this.last;
    const headMatches =
      head === null
        ? last === null
        : last !== null && last.id === head.lastId && Buffer.from(head.lastHash).equals(this.expectedPrev);
    if (!headMatches) {
      return {
        ok: false,
        checked: this.checked,
        firstBrokenId: head?.lastId ?? last?.id ?? 0,
        reason: `the chain ends at entry ${last?.id ?? 'none'} but its recorded head is entry ${head?.lastId ?? 'none'} (entries removed from the end)`,
      };
    }
    return { ok: true, checked: this.checked };
  }
}

/** Verifies a whole chain given as rows in id order. */
export function verifyChain(rows: Iterable<StoredLink>, head: ChainHead | null): ChainReport {
  const verifier = new ChainVerifier();
  for (const row of rows) {
    const broken = verifier.add(row);
    if (broken) return broken;
  }
  return verifier.end(head);
}
