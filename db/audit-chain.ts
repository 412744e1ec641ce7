// Verifies an org's audit hash chain: reads its recorded head, then walks its rows in id order in
// pages and recomputes every link with core/audit-chain.ts. Runs in the org's tenant scope, so
// the app role reads only that org's rows, exactly as the audit-log route does.
import { sql } from 'drizzle-orm';
import { ChainVerifier, type ChainHead, type ChainReport, type StoredLink } from '../core/audit-chain.js';
import type { Db } from './client.js';
import { withTenant } from './tenant.js';

const pageSize = 1000;

interface LinkRow extends Record<string, unknown> {
  id: string;
  org_id: string | null;
  actor_id: string | null;
  action: string;
  target_type: string;
  target_id: string | null;
  ip: string | null;
  details: unknown;
  created_at: string;
  prev_hash: Buffer;
  hash: Buffer;
}

function toLink(r: LinkRow): StoredLink {
  return {
    id: Number(r.id),
    orgId: r.org_id,
    actorId: r.actor_id,
    action: r.action,
    targetType: r.target_type,
    targetId: r.target_id,
    ip: r.ip,
    details: r.details,
    createdAt: r.created_at,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

export function verifyOrgAuditChain(db: Db, orgId: string): Promise<ChainReport> {
  return withTenant(db, orgId, async (tx) => {
    // The head first: every row up to it is committed (a row and its head move in one
    // transaction), so rows written while the walk runs, past the head, are left for next time.
    const heads = await tx.execute<{ last_id: string; last_hash: Buffer }>(
      sql`SELECT last_id, last_hash FROM audit_chain_heads WHERE org_id = ${orgId}`,
    );
    const headRow = heads.rows[0];
    const head: ChainHead | null = headRow
      ? { lastId: Number(headRow.last_id), lastHash: headRow.last_hash }
      : null;
    const verifier = new ChainVerifier();
    let after = 0;
    for (;;) {
      const page = await tx.execute<LinkRow>(sql`
        SELECT id, org_id, actor_id, action, target_type, target_id, ip::text AS ip, details,
               to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at,
               prev_hash, hash
        FROM audit_log
        WHERE org_id = ${orgId} AND id > ${after} AND id <= ${head?.lastId ?? Number.MAX_SAFE_INTEGER}
        ORDER BY id
        LIMIT ${pageSize}`);
      for (const row of page.rows) {
        const broken = verifier.add(toLink(row));
        if (broken) return broken;
      }
      if (page.rows.length < pageSize) break;
      after = Number(page.rows[page.rows.length - 1]?.id);
    }
    return verifier.end(head);
  });
}

/**
 * A page of the orgs that have an audit chain (every org whose chain has a head), in id order, for
 * the scheduled verification of every chain. The app role reads other orgs' heads only inside a
 * transaction flagged app.audit_verification (0023_security_operations.sql), and only the heads:
 * each chain is then verified in its own org's scope.
 */
export async function listAuditChainOrgs(
  db: Db,
  { afterOrgId, limit }: { afterOrgId: string | null; limit: number },
): Promise<string[]> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`SELECT set_config('app.audit_verification', 'on', true)`);
    const { rows } = await tx.execute<{ org_id: string }>(sql`
      SELECT org_id FROM audit_chain_heads
      WHERE org_id IS NOT NULL AND (${afterOrgId}::uuid IS NULL OR org_id > ${afterOrgId}::uuid)
      ORDER BY org_id
      LIMIT ${limit}`);
    return rows.map((r) => r.org_id);
  });
}
