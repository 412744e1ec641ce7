// Messages leave the platform through this table, so a crash between "decided" and "sent" loses none.
// Org mail is tenant-owned (RLS on org_id); account mail has no org and is seen only outside a tenant scope.
import { index, jsonb, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { createdAt, id, timestamptz } from './columns.js';
import { organizations } from './tenancy.js';

export const outbox = pgTable(
  'outbox',
  {
    id: id(),
    /** Null for account mail (verification, password reset), which belongs to no org. */
    orgId: uuid('org_id').references(() => organizations.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: ['mail'] }).notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    idempotencyKey: text('idempotency_key').notNull().unique(),
    createdAt: createdAt(),
    sentAt: timestamptz('sent_at'),
  },
  (t) => [index('outbox_org_idx').on(t.orgId), index('outbox_unsent_idx').on(t.createdAt)],
);
