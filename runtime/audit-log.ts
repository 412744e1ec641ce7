// Every audit entry, once written, is also one structured log line with `audit: true`, for log
// pipelines that alert on security events. The process that writes entries (the API, a worker)
// sets the sink once at start-up to its pino logger, whose redaction applies; audit details never
// carry secrets (tokens and passwords are never put in them).

/** A pino logger, or anything with its `info(fields, message)` shape. */
export interface AuditSink {
  info(fields: Record<string, unknown>, message: string): void;
}

/** An audit entry as written. */
export interface AuditEvent {
  /** The entry's id where the writer may read it back (platform rows are not readable by the app). */
  id?: number;
  orgId: string | null;
  actorId: string | null;
  ip: string | null;
  action: string;
  targetType: string;
  targetId: string | null;
  details: Record<string, unknown>;
}

let sink: AuditSink | null = null;

export function setAuditSink(next: AuditSink | null): void {
  sink = next;
}

/** The log line's fields: the entry, flagged `audit: true`. */
export function auditLogFields(event: AuditEvent): Record<string, unknown> {
  return {
    audit: true,
    ...(event.id === undefined ? {} : { auditId: event.id }),
    action: event.action,
    orgId: event.orgId,
    actorId: event.actorId,
    ip: event.ip,
    targetType: event.targetType,
    targetId: event.targetId,
    details: event.details,
  };
}

export function emitAuditEvent(event: AuditEvent): void {
  sink?.info(auditLogFields(event), `audit ${event.action}`);
}
