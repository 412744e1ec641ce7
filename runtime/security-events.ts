// Security events as structured log lines: each carries `security: <event>`, so a log pipeline
// (Loki) selects them all with one field, beside the metric the same event counts. Fields never
// carry secrets (no token, password or key); addresses and ids only.

/** A pino logger, or anything with its `warn(fields, message)` shape. */
export interface SecurityLog {
  warn(fields: Record<string, unknown>, message: string): void;
}

export type SecurityEvent =
  | 'login-failed'
  | 'login-locked'
  | 'refresh-token-reuse'
  | 'policy-denied'
  | 'audit-chain-broken'
  | 'api-key-invalid'
  | 'api-key-address-blocked'
  | 'api-key-new-network'
  | 'api-key-countryless-address'
  | 'api-key-spike'
  | 'token-request-failed';

/** Writes one security event line: `{ security: event, ...fields }`, message `security <event>`. */
export function logSecurityEvent(
  log: SecurityLog,
  event: SecurityEvent,
  fields: Record<string, unknown>,
): void {
  log.warn({ ...fields, security: event }, `security ${event}`);
}
