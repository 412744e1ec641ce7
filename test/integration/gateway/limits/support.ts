// Shared by the limits tests: a plan with chosen limits, admission requests, a silent logger.
import { randomUUID } from 'node:crypto';
import type { PlanLimits } from '../../../../core/plans.js';
import type {
  Admission,
  AdmissionRequest,
  KeyLimits,
  Reservation,
} from '../../../../api/gateway/limits/limiter.js';

export const silentLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Generous limits except the ones a test sets. */
export function testPlan(overrides: Partial<PlanLimits> = {}): PlanLimits {
  return {
    requestsPerMinute: 10_000,
    tokensPerMinute: 10_000_000,
    concurrentRequests: 10_000,
    monthlyTokens: 1_000_000_000,
    maxTokensPerRequest: 4_096,
    models: null,
    ...overrides,
  };
}

export function request(
  orgId: string,
  plan: PlanLimits,
  options: { keyId?: string; key?: Partial<KeyLimits>; reserveTokens?: number } = {},
): AdmissionRequest {
  return {
    orgId,
    keyId: options.keyId ?? 'k1',
    plan,
    key: { requestsPerMinute: null, tokensPerMinute: null, ...options.key },
    reserveTokens: options.reserveTokens ?? 0,
  };
}

export const newOrg = () => randomUUID();

export function reservationOf(admission: Admission): Reservation {
  if (!admission.admitted) throw new Error(`refused: ${admission.code}: ${admission.message}`);
  return admission.reservation;
}
