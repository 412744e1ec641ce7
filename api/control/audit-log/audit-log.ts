// Reading an org's audit log, newest first, in pages keyed by the entry id (stable under inserts).
import { and, desc, eq, lt } from 'drizzle-orm';
import type { Db } from '../../../db/client.js';
import { auditLog } from '../../../db/schema/index.js';
import { withTenant } from '../../../db/tenant.js';

export interface AuditEntryView {
  id: number;
  action: string;
  actorId: string | null;
  targetType: string;
  targetId: string | null;
  ip: string | null;
  details: Record<string, unknown>;
  createdAt: string;
}

export interface AuditPage {
  items: AuditEntryView[];
  /** Pass as `before` for the next (older) page; null on the last page. */
  nextCursor: number | null;
}

export function listAuditLog(
  db: Db,
  orgId: string,
  page: { limit: number; before?: number | undefined },
): Promise<AuditPage> {
  return withTenant(db, orgId, async (tx) => {
    const rows = await tx
      .select()
      .from(auditLog)
      .where(
        and(eq(auditLog.orgId, orgId), page.before === undefined ? undefined : lt(auditLog.id, page.before)),
      )
      .orderBy(desc(auditLog.id))
      .limit(page.limit + 1);
    const items = rows.slice(0, page.limit).map((r) => ({
      id: r.id,
      action: r.action,
      actorId: r.actorId,
      targetType: r.targetType,
      targetId: r.targetId,
      ip: r.ip,
      details: r.details,
      createdAt: r.createdAt.toISOString(),
    }));
    const last = items.at(-1);
    return { items, nextCursor: rows.length > page.limit && last ? last.id : null };
  });
}
