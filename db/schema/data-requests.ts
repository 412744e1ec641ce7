// Data-subject requests (db/migrations/0017_data_requests.sql, 0018, 0019): a GDPR export or erasure
// of a person's data in an org or of the whole org, with its deadline and, once done, its archive;
// the legal holds that block an erasure, and the tombstones erasures leave.
import { index, jsonb, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import type { DataRequestKind, DataRequestScope, ErasureOutcome } from '../../core/data-requests.js';
import { id, orgId, timestamptz } from './columns.js';
import { users } from './identity.js';
import { organizations } from './tenancy.js';

export type DataRequestStatus =
  'pending' | 'running' | 'completed' | 'expired' | 'failed' | 'cancelled' | 'blocked';

export const dataRequests = pgTable(
  'data_requests',
  {
    id: id(),
    orgId: orgId().references(() => organizations.id, { onDelete: 'cascade' }),
    kind: text('kind').$type<DataRequestKind>().notNull(),
    /** The person whose data it is; null for the whole organization. */
    subjectUserId: uuid('subject_user_id').references(() => users.id, { onDelete: 'set null' }),
    scope: text('scope').$type<DataRequestScope>().notNull(),
    requestedBy: uuid('requested_by').references(() => users.id, { onDelete: 'set null' }),
    status: text('status').$type<DataRequestStatus>().notNull().default('pending'),
    requestedAt: timestamptz('requested_at').notNull().defaultNow(),
    dueAt: timestamptz('due_at').notNull(),
    overdueAt: timestamptz('overdue_at'),
    finishedAt: timestamptz('finished_at'),
    archivePrefix: text('archive_prefix'),
    manifestSha256: text('manifest_sha256'),
    archiveExpiresAt: timestamptz('archive_expires_at'),
    /** An erasure: when its grace period ends (it can be cancelled until then). */
    graceEndsAt: timestamptz('grace_ends_at'),
    /** An erasure a legal hold blocked: the hold's reason. */
    blockedReason: text('blocked_reason'),
  },
  (t) => [index('data_requests_org_idx').on(t.orgId, t.requestedAt)],
);

/** A legal hold: while it is not released, erasing the org (or the one person it names) is blocked. */
export const legalHolds = pgTable('legal_holds', {
  id: id(),
  orgId: orgId().references(() => organizations.id, { onDelete: 'cascade' }),
  /** The person held; null holds the whole organization. */
  subjectUserId: uuid('subject_user_id').references(() => users.id, { onDelete: 'cascade' }),
  reason: text('reason').notNull(),
  placedBy: uuid('placed_by').references(() => users.id, { onDelete: 'set null' }),
  placedAt: timestamptz('placed_at').notNull().defaultNow(),
  releasedAt: timestamptz('released_at'),
});

/** What an erasure did, per store, with a hash of its subject: no personal data. */
export const erasureTombstones = pgTable('erasure_tombstones', {
  requestId: uuid('request_id').primaryKey(),
  orgId: uuid('org_id').notNull(),
  scope: text('scope').$type<DataRequestScope>().notNull(),
  subjectSha256: text('subject_sha256').notNull(),
  stores: jsonb('stores').$type<ErasureOutcome[]>().notNull(),
  erasedAt: timestamptz('erased_at').notNull().defaultNow(),
});
