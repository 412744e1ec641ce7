// Organizations: creation hands over to the onboarding workflow (which writes the owner
// membership and default settings); reads show the onboarding status to members and the creator.
import { and, desc, eq, sql } from 'drizzle-orm';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { SubscriptionStatus } from '../../../core/billing.js';
import type { PlanName } from '../../../core/plans.js';
import { abilityFor, permits } from '../../../core/policy.js';
import type { Role } from '../../../core/rbac.js';
import type { Db } from '../../../db/client.js';
import { memberships, organizations, users } from '../../../db/schema/index.js';
import { withTenant, withUser } from '../../../db/tenant.js';
import { AppError } from '../../errors.js';
import { recordAudit, type UserActor } from '../../audit.js';
import { isUniqueViolation } from '../../db-errors.js';
import { startOnboarding } from './onboarding.js';

export interface OrgView {
  id: string;
  name: string;
  slug: string;
  status: OrgRow['status'];
  failureReason: string | null;
  role: Role | null;
  createdAt: string;
}

type OrgRow = typeof organizations.$inferSelect;

/** The org's plan and subscription status: what its keys and machine clients may do on the inference path. */
export async function orgEntitlements(
  db: Db,
  orgId: string,
): Promise<{ plan: PlanName; subscriptionStatus: SubscriptionStatus }> {
  const [org] = await withTenant(db, orgId, (tx) =>
    tx
      .select({ plan: organizations.plan, subscriptionStatus: organizations.subscriptionStatus })
      .from(organizations)
      .where(eq(organizations.id, orgId)),
  );
  if (!org) throw new AppError('NOT_FOUND', 'The organization does not exist.');
  return org;
}

function toView(org: OrgRow, role: Role | null): OrgView {
  return {
    id: org.id,
    name: org.name,
    slug: org.slug,
    status: org.status,
    failureReason: org.failureReason,
    role,
    createdAt: org.createdAt.toISOString(),
  };
}

export const slugPattern = '^[a-z0-9][a-z0-9-]{1,46}[a-z0-9]$';

/** A slug from the name; falls back to a random one for names without letters or digits. */
export function slugify(name: string): string {
  const base = name
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  return base.length >= 3 ? base : `org-${randomBytes(3).toString('hex')}`;
}

async function insertOrg(db: Db, actor: UserActor, orgId: string, name: string, slug: string): Promise<void> {
  await withTenant(db, orgId, async (tx) => {
    await tx
      .insert(organizations)
      .values({ id: orgId, name, slug, createdBy: actor.userId, status: 'onboarding' });
    await recordAudit(tx, actor, {
      orgId,
      action: 'org.create',
      targetType: 'organization',
      targetId: orgId,
      details: { slug },
    });
  });
}

/** Inserts the org under a free slug: the requested one (409 if taken) or one derived from the name. */
async function insertWithSlug(
  db: Db,
  actor: UserActor,
  orgId: string,
  name: string,
  requested?: string,
): Promise<void> {
  const derived = slugify(name);
  const candidates = requested
    ? [requested]
    : [derived, `${derived.slice(0, 40)}-${randomBytes(3).toString('hex')}`];
  for (const [i, slug] of candidates.entries()) {
    try {
      return await insertOrg(db, actor, orgId, name, slug);
    } catch (err) {
      if (!isUniqueViolation(err, 'organizations_slug_key')) throw err;
      if (i === candidates.length - 1) throw new AppError('CONFLICT', `The slug "${slug}" is taken.`);
    }
  }
}

export interface CreatedOrg {
  orgId: string;
  workflowId: string;
  status: 'onboarding';
}

export async function createOrganization(
  db: Db,
  temporal: Client,
  actor: UserActor,
  input: { name: string; slug?: string | undefined },
): Promise<CreatedOrg> {
  const [owner] = await db.select({ email: users.email }).from(users).where(eq(users.id, actor.userId));
  if (!owner) throw new AppError('INVALID_TOKEN');
  const orgId = randomUUID();
  const name = input.name.trim();
  await insertWithSlug(db, actor, orgId, name, input.slug);
  try {
    const workflowId = await startOnboarding(temporal, {
      orgId,
      orgName: name,
      ownerUserId: actor.userId,
      ownerEmail: owner.email,
    });
    return { orgId, workflowId, status: 'onboarding' };
  } catch (err) {
    const reason = `onboarding could not be started: ${err instanceof Error ? err.message : String(err)}`;
    await withTenant(db, orgId, async (tx) => {
      await tx
        .update(organizations)
        .set({ status: 'failed', failureReason: reason })
        .where(eq(organizations.id, orgId));
      await recordAudit(tx, actor, {
        orgId,
        action: 'org.onboarding_failed',
        targetType: 'organization',
        targetId: orgId,
        details: { reason },
      });
    });
    throw new AppError('UNAVAILABLE', 'Onboarding could not be started; the organization is marked failed.');
  }
}

/** Members see an org; its creator also sees it while it onboards or after onboarding failed. */
function visibleTo(userId: string, org: OrgRow, role: Role | null): boolean {
  const ability = abilityFor(
    role
      ? { kind: 'member', userId, orgId: org.id, role, teamIds: [] }
      : { kind: 'user', userId, platformRole: null },
  );
  return permits(ability, 'read', 'Organization', {
    id: org.id,
    createdBy: org.createdBy,
    status: org.status,
  });
}

/** The orgs the user belongs to or created (to follow their onboarding), newest first. */
export function listMyOrganizations(db: Db, userId: string): Promise<OrgView[]> {
  return withUser(db, userId, async (tx) => {
    const rows = await tx
      .select({ org: organizations, role: memberships.role })
      .from(organizations)
      .leftJoin(
        memberships,
        and(eq(memberships.orgId, organizations.id), eq(memberships.userId, sql`app_user_id()`)),
      )
      .orderBy(desc(organizations.createdAt));
    return rows.filter((r) => visibleTo(userId, r.org, r.role)).map((r) => toView(r.org, r.role));
  });
}

/** One org, for those it is visible to; 404 for anyone else. */
export function getOrganization(db: Db, userId: string, orgId: string): Promise<OrgView> {
  return withTenant(db, orgId, async (tx) => {
    const [row] = await tx
      .select({ org: organizations, role: memberships.role })
      .from(organizations)
      .leftJoin(memberships, and(eq(memberships.orgId, organizations.id), eq(memberships.userId, userId)))
      .where(eq(organizations.id, orgId));
    if (!row || !visibleTo(userId, row.org, row.role))
      throw new AppError('NOT_FOUND', 'The organization does not exist.');
    return toView(row.org, row.role);
  });
}
