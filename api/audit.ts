// Audit entries are written in the same transaction as the change they record, so one never
// exists without the other. Platform events (sign-up, login) carry no org. The database links
// every entry into its org's hash chain (core/audit-chain.ts); each entry is also emitted as one
// structured log line (runtime/audit-log.ts).
import type { Tx } from '../db/client.js';
import { auditLog } from '../db/schema/index.js';
import { emitAuditEvent } from '../runtime/audit-log.js';

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
  const event = {
    orgId: entry.orgId,
    actorId: actor.userId,
    ip: actor.ip,
    action: entry.action,
    targetType: entry.targetType,
    targetId: entry.targetId ?? null,
    details: entry.details ?? {},
  };
  // No RETURNING: the app role may not read platform rows back (RLS), so the log line has no id.
  await tx.insert(auditLog).values(event);
  emitAuditEvent(event);
}
