// Superuser access to audit chains for tests: read a chain the way the verifier does (any chain,
// platform included), recompute it with the pure functions, and tamper with it as an attacker with
// superuser rights would (switching the append-only trigger off inside one transaction).
import type pg from 'pg';
import { verifyChain, type ChainReport, type StoredLink } from '../../../core/audit-chain.js';

export async function adminChain(admin: pg.Pool | pg.Client, orgId: string | null): Promise<StoredLink[]> {
  const { rows } = await admin.query<Record<string, unknown>>(
    `SELECT id, org_id, actor_id, action, target_type, target_id, ip::text AS ip, details,
            to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at, prev_hash, hash
     FROM audit_log WHERE org_id IS NOT DISTINCT FROM $1 ORDER BY id`,
    [orgId],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    orgId: r.org_id as string | null,
    actorId: r.actor_id as string | null,
    action: r.action as string,
    targetType: r.target_type as string,
    targetId: r.target_id as string | null,
    ip: r.ip as string | null,
    details: r.details,
    createdAt: r.created_at as string,
    prevHash: r.prev_hash as Buffer,
    hash: r.hash as Buffer,
  }));
}

/** Verifies a chain as the superuser, against its recorded head. */
export async function adminVerify(admin: pg.Pool | pg.Client, orgId: string | null): Promise<ChainReport> {
  const head = await admin.query<{ last_id: string; last_hash: Buffer }>(
    'SELECT last_id, last_hash FROM audit_chain_heads WHERE org_id IS NOT DISTINCT FROM $1',
    [orgId],
  );
  const h = head.rows[0];
  const rows = (await adminChain(admin, orgId)).filter((r) => !h || r.id <= Number(h.last_id));
  return verifyChain(rows, h ? { lastId: Number(h.last_id), lastHash: h.last_hash } : null);
}

/** Runs statements as the superuser with the append-only trigger switched off, in one transaction. */
export async function tamper(admin: pg.Pool, statements: [string, unknown[]][]): Promise<void> {
  const client = await admin.connect();
  try {
    await client.query('BEGIN');
    await client.query('ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only');
    for (const [text, values] of statements) await client.query(text, values);
    await client.query('ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only');
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  } finally {
    client.release();
  }
}
