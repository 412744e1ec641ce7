// Append-only: the app role may insert and read, never update or delete (grants in migrations), and
// a trigger refuses UPDATE, DELETE and TRUNCATE for every role. Each row is also linked into its
// org's hash chain (platform rows, org null, form their own) by the insert trigger of
// db/migrations/0004_audit_chain.sql, which sets the columns prev_hash and hash (bytea) and keeps
// the chain heads in audit_chain_heads; they are left out of this schema on purpose so no writer
// can set them. core/audit-chain.ts defines the canonical row and recomputes the chain.
import { bigserial, index, inet, jsonb, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { createdAt } from './columns.js';

export const auditLog = pgTable(
  'audit_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** Null for platform-level events (sign-up, login) that belong to no tenant. */
    orgId: uuid('org_id'),
    actorId: uuid('actor_id'),
    action: text('action').notNull(),
    targetType: text('target_type').notNull(),
    targetId: text('target_id'),
    ip: inet('ip'),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
    /** Set by workflows and retried writers so a retry records once. */
    idempotencyKey: text('idempotency_key').unique(),
    createdAt: createdAt(),
  },
  (t) => [index('audit_log_org_idx').on(t.orgId, t.createdAt)],
);
