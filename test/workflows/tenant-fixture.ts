// Sets up what the API does before it starts onboarding (an owner user and an org row in status
// 'onboarding'), and reads back what onboarding left, through the app role so RLS applies.
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { auditLog, memberships, organizations, outbox, users } from '../../db/schema/index.js';
import { withTenant } from '../../db/tenant.js';
import type { OnboardingInput } from '../../workflows/definitions.js';

export async function createPendingTenant(db: Db, orgName = 'Acme Robotics'): Promise<OnboardingInput> {
  const ownerUserId = randomUUID();
  const orgId = randomUUID();
  const ownerEmail = `owner-${ownerUserId.slice(0, 8)}@example.test`;
  await db.insert(users).values({
    id: ownerUserId,
    email: ownerEmail,
    passwordHash: 'not-a-login-fixture',
    displayName: 'Owner',
  });
  await withTenant(db, orgId, (tx) =>
    tx
      .insert(organizations)
      .values({ id: orgId, name: orgName, slug: `org-${orgId}`, createdBy: ownerUserId }),
  );
  return { orgId, orgName, ownerUserId, ownerEmail };
}

export async function tenantState(db: Db, orgId: string) {
  return withTenant(db, orgId, async (tx) => {
    const [org] = await tx.select().from(organizations).where(eq(organizations.id, orgId));
    return {
      org,
      memberships: await tx.select().from(memberships).where(eq(memberships.orgId, orgId)),
      outbox: await tx.select().from(outbox).where(eq(outbox.orgId, orgId)),
      audit: await tx.select().from(auditLog).where(eq(auditLog.orgId, orgId)).orderBy(auditLog.id),
    };
  });
}
