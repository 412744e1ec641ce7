// "Nothing changed": a fingerprint of everything one org owns, compared before and after a request.
// A refusal's own audit row (`policy.deny`) is the one thing a refused request adds, and a key's
// last-used time (written off the request path, whenever the batch runs) is a use, not a change.
import type pg from 'pg';

export async function orgFingerprint(admin: pg.Pool, orgId: string): Promise<string> {
  const { rows } = await admin.query<{ fingerprint: string }>(
    `SELECT concat_ws('|',
       (SELECT md5(coalesce(string_agg(o::text, ','), '')) FROM organizations o WHERE id = $1),
       (SELECT md5(coalesce(string_agg(m::text, ',' ORDER BY user_id), '')) FROM memberships m WHERE org_id = $1),
       (SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY id), '')) FROM teams t WHERE org_id = $1),
       (SELECT md5(coalesce(string_agg(tm::text, ',' ORDER BY team_id, user_id), '')) FROM team_members tm WHERE org_id = $1),
       (SELECT md5(coalesce(string_agg(i::text, ',' ORDER BY id), '')) FROM invitations i WHERE org_id = $1),
       (SELECT md5(coalesce(string_agg((to_jsonb(k) - 'last_used_at')::text, ',' ORDER BY id), '')) FROM api_keys k WHERE org_id = $1),
       (SELECT md5(coalesce(string_agg(c::text, ',' ORDER BY id), '')) FROM sso_connections c WHERE org_id = $1),
       (SELECT md5(coalesce(string_agg(s::text, ',' ORDER BY connection_id, subject), '')) FROM sso_identities s WHERE org_id = $1),
       (SELECT md5(coalesce(string_agg(c::text, ',' ORDER BY id), '')) FROM oauth_clients c WHERE org_id = $1),
       (SELECT md5(coalesce(string_agg(r::text, ',' ORDER BY id), '')) FROM data_requests r WHERE org_id = $1),
       (SELECT count(*) FROM outbox WHERE org_id = $1),
       (SELECT count(*) FROM audit_log WHERE org_id = $1 AND action <> 'policy.deny')) AS fingerprint`,
    [orgId],
  );
  return rows[0]?.fingerprint ?? '';
}

/** Orgs a user created: a refused POST /api/orgs must not add one. */
export async function orgsCreatedBy(admin: pg.Pool, userId: string): Promise<number> {
  const { rows } = await admin.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM organizations WHERE created_by = $1',
    [userId],
  );
  return rows[0]?.n ?? 0;
}
