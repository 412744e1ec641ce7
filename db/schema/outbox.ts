// Messages leave the platform through this table, so a crash between "decided" and "sent" loses none.
import { index, jsonb, pgTable, text } from 'drizzle-orm/pg-core';
import { createdAt, id, orgId, timestamptz } from './columns.js';
import { organizations } from './tenancy.js';

export const outbox = pgTable(
  'outbox',
  {
    id: id(),
    orgId: orgId().references(() => organizations.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: ['mail'] }).notNull(),
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull(),
    idempotencyKey: text('idempotency_key').notNull().unique(),
    createdAt: createdAt(),
    sentAt: timestamptz('sent_at'),
  },
  (t) => [index('outbox_org_idx').on(t.orgId), index('outbox_unsent_idx').on(t.createdAt)],
);
