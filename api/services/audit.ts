// Audit entries are written in the same transaction as the change they record, so one never
// exists without the other. Platform events (sign-up, login) carry no org.
import type { Tx } from '../../db/client.js';
import { auditLog } from '../../db/schema/index.js';

/** Who did something and from where; built once per request. */
export interface Actor {
  userId: string | null;
  ip: string | null;
}

/** An actor that is a signed-in user: every management change has one. */
export type UserActor = Actor & { userId: string };

export interface AuditEntry {
  orgId: string | null;
  action: string;
  targetType: string;
  targetId?: string | null;
  details?: Record<string, unknown>;
}

export async function recordAudit(tx: Tx, actor: Actor, entry: AuditEntry): Promise<void> {
  await tx.insert(auditLog).values({
    orgId: entry.orgId,
    actorId: actor.userId,
    action: entry.action,
    targetType: entry.targetType,
    targetId: entry.targetId ?? null,
    ip: actor.ip,
    details: entry.details ?? {},
  });
}
