// Legal holds: an operator keeps an organization's data (or one person's in it) from erasure while
// the law requires it. An erasure whose grace period ends under a hold is blocked with the hold's
// reason (workflows/gdpr-erasure.ts); releasing the hold does not restart it, the person asks again.
// Placing and releasing are audited in the organization's log.
import { and, desc, eq, isNull } from 'drizzle-orm';
import type { Static } from 'typebox';
import type { Db } from '../../../db/client.js';
import { legalHolds, memberships, organizations } from '../../../db/schema/index.js';
import { withTenant } from '../../../db/tenant.js';
import { recordAudit, type UserActor } from '../../audit.js';
import { AppError } from '../../errors.js';
import type { LegalHold as LegalHoldBody, PlaceLegalHoldBody } from './schemas.js';

type LegalHold = Static<typeof LegalHoldBody>;
type Row = typeof legalHolds.$inferSelect;

function view(row: Row): LegalHold {
  return {
    id: row.id,
    orgId: row.orgId,
    subjectUserId: row.subjectUserId,
    reason: row.reason,
    placedBy: row.placedBy,
    placedAt: row.placedAt.toISOString(),
    releasedAt: row.releasedAt?.toISOString() ?? null,
  };
}

export async function listLegalHolds(db: Db, orgId: string): Promise<LegalHold[]> {
  const rows = await withTenant(db, orgId, (tx) =>
    tx.select().from(legalHolds).orderBy(desc(legalHolds.placedAt), desc(legalHolds.id)),
  );
  return rows.map(view);
}

export async function placeLegalHold(
  db: Db,
  actor: UserActor,
  orgId: string,
  body: Static<typeof PlaceLegalHoldBody>,
): Promise<LegalHold> {
  const subjectUserId = body.subjectUserId ?? null;
  const row = await withTenant(db, orgId, async (tx) => {
    const [org] = await tx
      .select({ id: organizations.id })
      .from(organizations)
      .where(eq(organizations.id, orgId));
    if (!org) throw new AppError('NOT_FOUND', 'The organization does not exist.');
    if (subjectUserId !== null) {
      const [member] = await tx
        .select({ userId: memberships.userId })
        .from(memberships)
        .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, subjectUserId)));
      if (!member) throw new AppError('NOT_FOUND', 'The person is not a member of the organization.');
    }
    const [placed] = await tx
      .insert(legalHolds)
      .values({ orgId, subjectUserId, reason: body.reason, placedBy: actor.userId })
      .returning();
    await recordAudit(tx, actor, {
      orgId,
      action: 'legal_hold.placed',
      targetType: 'legal_hold',
      targetId: placed!.id,
      details: { subjectUserId },
    });
    return placed!;
  });
  return view(row);
}

export async function releaseLegalHold(
  db: Db,
  actor: UserActor,
  orgId: string,
  holdId: string,
): Promise<LegalHold> {
  const row = await withTenant(db, orgId, async (tx) => {
    const [released] = await tx
      .update(legalHolds)
      .set({ releasedAt: new Date() })
      .where(and(eq(legalHolds.id, holdId), isNull(legalHolds.releasedAt)))
      .returning();
    if (!released) {
      const [existing] = await tx.select().from(legalHolds).where(eq(legalHolds.id, holdId));
      if (!existing) throw new AppError('NOT_FOUND', 'The legal hold does not exist.');
      throw new AppError('CONFLICT', 'The legal hold is already released.');
    }
    await recordAudit(tx, actor, {
      orgId,
      action: 'legal_hold.released',
      targetType: 'legal_hold',
      targetId: holdId,
      details: {},
    });
    return released;
  });
  return view(row);
}
