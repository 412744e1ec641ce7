// What every attacker test needs: a client address of its own, the documented refusal body, and
// "nothing changed" for what an unauthenticated caller could touch.
import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import type pg from 'pg';
import { expect } from 'vitest';
import type { ErrorCode } from '../../api/errors.js';
import { orgFingerprint } from '../integration/api/state.js';

/**
 * A fresh client address in 10.0.0.0/8. Budgets are per address and shared through Redis across
 * test files, so a test that counts attempts must not share 127.0.0.1 with the rest of the suite.
 */
export function freshAddress(): string {
  return `10.${[...randomBytes(3)].join('.')}`;
}

export interface Refusal {
  status: number;
  code: ErrorCode;
}

export const invalidToken: Refusal = { status: 401, code: 'INVALID_TOKEN' };
export const unauthenticated: Refusal = { status: 401, code: 'UNAUTHENTICATED' };
export const notFound: Refusal = { status: 404, code: 'NOT_FOUND' };
export const invalidRequest: Refusal = { status: 400, code: 'VALIDATION' };

/**
 * The documented error body and nothing more: code, message, request id; no details, no stack, and
 * never an echo of the credential that was presented (a reflected token is a leak in a log viewer).
 */
export function expectRefusal(res: LightMyRequestResponse, expected: Refusal | Refusal[], presented = '') {
  const allowed = Array.isArray(expected) ? expected : [expected];
  const body = res.json<{ error: Record<string, unknown> }>();
  expect({ status: res.statusCode, code: body.error?.code }, res.body.slice(0, 300)).toBeOneOf(
    allowed.map((e) => ({ status: e.status, code: e.code })),
  );
  expect(Object.keys(body)).toEqual(['error']);
  // Only a validation error explains itself (which field, why); a refused credential says nothing more.
  const fields =
    body.error.code === 'VALIDATION'
      ? ['code', 'details', 'message', 'requestId']
      : ['code', 'message', 'requestId'];
  expect(Object.keys(body.error).sort()).toEqual(fields);
  expect(body.error.message).toEqual(expect.any(String));
  if (presented.length >= 12) expect(res.body).not.toContain(presented);
}

/** Everything an attacker aims at: the org's rows (audit and API keys included) and audit rows from their address. */
export async function attackSurface(admin: pg.Pool, orgId: string, address: string): Promise<string> {
  const { rows } = await admin.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM audit_log WHERE ip = $1::inet',
    [address],
  );
  return `${await orgFingerprint(admin, orgId)}|audit-from-address:${rows[0]?.n ?? 0}`;
}
