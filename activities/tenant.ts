// Activities on the tenant's own rows: settings, owner membership, status and audit entries.
// Each one is idempotent (a retry or a replayed step changes nothing twice) and runs inside
// withTenant, so row-level security applies exactly as it does to the API.
import { ApplicationFailure } from '@temporalio/common';
import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { auditLog, memberships, organizations } from '../db/schema/index.js';
import { withTenant } from '../db/tenant.js';
import { emitAuditEvent } from '../runtime/audit-log.js';

/** Settings every new organization starts with; keys the org already has are kept. */
export const defaultOrgSettings = {
  timezone: 'UTC',
  locale: 'en',
  dataRetentionDays: 30,
  usageAlertThresholds: [80, 100],
} as const satisfies Record<string, unknown>;

export interface OrgRef {
  orgId: string;
}

export interface OwnerRef extends OrgRef {
  userId: string;
}

export interface AuditEntryInput extends OrgRef {
  /** Workflow id + step: the same step recorded twice is one row. */
  idempotencyKey: string;
  actorId: string | null;
  action: string;
  targetType: string;
  targetId: string | null;
  details?: Record<string, unknown>;
}

export interface MarkFailedInput extends OrgRef {
  reason: string;
}

function orgNotFound(orgId: string): ApplicationFailure {
  return ApplicationFailure.create({
    type: 'NOT_FOUND',
    nonRetryable: true,
    message: `organization ${orgId} does not exist`,
  });
}

const defaultKeys = Object.keys(defaultOrgSettings);

export function createTenantActivities({ db }: { db: Db }) {
  return {
    /** Merges the default settings under the org's own (existing keys win). */
    async initializeOrgSettings({ orgId }: OrgRef): Promise<OrgRef> {
      const updated = await withTenant(db, orgId, (tx) =>
        tx
          .update(organizations)
          .set({ settings: sql`${JSON.stringify(defaultOrgSettings)}::jsonb || ${organizations.settings}` })
          .where(eq(organizations.id, orgId))
          .returning({ id: organizations.id }),
      );
      if (updated.length === 0) throw orgNotFound(orgId);
      return { orgId };
    },

    /** Compensation: takes the default keys back out of the org's settings. */
    async removeDefaultSettings({ orgId }: OrgRef): Promise<OrgRef> {
      const keys = sql.join(
        defaultKeys.map((k) => sql`${k}`),
        sql`, `,
      );
      await withTenant(db, orgId, (tx) =>
        tx
          .update(organizations)
          .set({ settings: sql`${organizations.settings} - ARRAY[${keys}]::text[]` })
          .where(eq(organizations.id, orgId)),
      );
      return { orgId };
    },

    async ensureOwnerMembership({ orgId, userId }: OwnerRef): Promise<OwnerRef & { created: boolean }> {
      return withTenant(db, orgId, async (tx) => {
        const [org] = await tx
          .select({ id: organizations.id })
          .from(organizations)
          .where(eq(organizations.id, orgId));
        if (!org) throw orgNotFound(orgId);
        const inserted = await tx
          .insert(memberships)
          .values({ orgId, userId, role: 'owner' })
          .onConflictDoNothing()
          .returning({ userId: memberships.userId });
        return { orgId, userId, created: inserted.length > 0 };
      });
    },

    /** Compensation: removes the owner membership onboarding added. */
    async removeOwnerMembership({ orgId, userId }: OwnerRef): Promise<OwnerRef> {
      await withTenant(db, orgId, (tx) =>
        tx
          .delete(memberships)
          .where(
            and(eq(memberships.orgId, orgId), eq(memberships.userId, userId), eq(memberships.role, 'owner')),
          ),
      );
      return { orgId, userId };
    },

    async recordAuditEntry(entry: AuditEntryInput): Promise<OrgRef & { recorded: boolean }> {
      const inserted = await withTenant(db, entry.orgId, (tx) =>
        tx
          .insert(auditLog)
          .values({
            orgId: entry.orgId,
            actorId: entry.actorId,
            action: entry.action,
            targetType: entry.targetType,
            targetId: entry.targetId,
            details: entry.details ?? {},
            idempotencyKey: entry.idempotencyKey,
          })
          .onConflictDoNothing({ target: auditLog.idempotencyKey })
          .returning({ id: auditLog.id }),
      );
      const row = inserted[0];
      if (row) {
        emitAuditEvent({
          id: row.id,
          orgId: entry.orgId,
          actorId: entry.actorId,
          ip: null,
          action: entry.action,
          targetType: entry.targetType,
          targetId: entry.targetId,
          details: entry.details ?? {},
        });
      }
      return { orgId: entry.orgId, recorded: row !== undefined };
    },

    async markOrgActive({ orgId }: OrgRef): Promise<OrgRef> {
      const updated = await withTenant(db, orgId, (tx) =>
        tx
          .update(organizations)
          .set({ status: 'active', failureReason: null })
          .where(eq(organizations.id, orgId))
          .returning({ id: organizations.id }),
      );
      if (updated.length === 0) throw orgNotFound(orgId);
      return { orgId };
    },

    async markOrgFailed({ orgId, reason }: MarkFailedInput): Promise<OrgRef> {
      await withTenant(db, orgId, (tx) =>
        tx
          .update(organizations)
          .set({ status: 'failed', failureReason: reason })
          .where(eq(organizations.id, orgId)),
      );
      return { orgId };
    },
  };
}
