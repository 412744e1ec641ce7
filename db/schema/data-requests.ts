// Data-subject requests (db/migrations/0017_data_requests.sql, 0018): a GDPR export of a person's data
// in an org or of the whole org, with its deadline and, once done, its archive.
import { index, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import type { DataRequestScope } from '../../core/data-requests.js';
import { id, orgId, timestamptz } from './columns.js';
import { users } from './identity.js';
import { organizations } from './tenancy.js';

export type DataRequestStatus = 'pending' | 'running' | 'completed' | 'expired' | 'failed';

export const dataRequests = pgTable(
  'data_requests',
  {
    id: id(),
    orgId: orgId().references(() => organizations.id, { onDelete: 'cascade' }),
    kind: text('kind').$type<'export'>().notNull(),
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
  },
  (t) => [index('data_requests_org_idx').on(t.orgId, t.requestedAt)],
);
