// Helpers for the management API tests: users signed up through the API, orgs created through the
// API, and a superuser connection to look at what was written (audit rows, outbox) and to play the
// onboarding workflow's part (owner membership, status active) where a test needs a ready org.
import { randomUUID } from 'node:crypto';
import { and, desc, isNull, sql } from 'drizzle-orm';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import pg from 'pg';
import { afterAll, expect, inject } from 'vitest';
import type { Role } from '../../../core/rbac.js';
import { outbox } from '../../../db/schema/index.js';

export interface TestUser {
  id: string;
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
}

export const password = 'correct horse battery staple';

export function uniqueEmail(label = 'user'): string {
  return `${label}-${randomUUID().slice(0, 8)}@example.test`;
}

export function bearer(user: { accessToken: string }): Record<string, string> {
  return { authorization: `Bearer ${user.accessToken}` };
}

/**
 * The link of the newest account mail (verification, reset) of this template to this address, read
 * from the outbox as the app role sees it outside a tenant scope.
 */
export async function mailedLink(app: FastifyInstance, to: string, template: string): Promise<string> {
  const [row] = await app.db
    .select({ payload: outbox.payload })
    .from(outbox)
    .where(
      and(
        isNull(outbox.orgId),
        sql`${outbox.payload} ->> 'to' = ${to}`,
        sql`${outbox.payload} ->> 'template' = ${template}`,
      ),
    )
    .orderBy(desc(outbox.createdAt))
    .limit(1);
  expect(row, `no ${template} mail to ${to}`).toBeDefined();
  return String(row?.payload.url);
}

/** The token a mailed link carries. */
export function linkToken(link: string): string {
  const token = new URL(link).searchParams.get('token');
  if (!token) throw new Error(`no token in ${link}`);
  return token;
}

/** Signs a new user up (202) without following the verification link; answers the address. */
export async function signUpUnverified(
  app: FastifyInstance,
  label = 'user',
  remoteAddress?: string,
): Promise<string> {
  const email = uniqueEmail(label);
  const res = await app.inject({
    method: 'POST',
    url: '/api/auth/signup',
    payload: { email, password },
    ...(remoteAddress ? { remoteAddress } : {}),
  });
  expect(res.statusCode, res.body).toBe(202);
  return email;
}

/**
 * Signs a new user up, follows the verification link mailed to them and logs in, as a person does;
 * `remoteAddress` spends another address's sign-in budget than 127.0.0.1's.
 */
export async function signUp(
  app: FastifyInstance,
  label = 'user',
  remoteAddress?: string,
): Promise<TestUser> {
  const email = await signUpUnverified(app, label, remoteAddress);
  const from = remoteAddress ? { remoteAddress } : {};
  const token = linkToken(await mailedLink(app, email, 'verify_email'));
  const verified = await app.inject({
    method: 'POST',
    url: '/api/auth/verify-email',
    payload: { token },
    ...from,
  });
  expect(verified.statusCode, verified.body).toBe(204);
  const res = await app.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { email, password },
    ...from,
  });
  expect(res.statusCode, res.body).toBe(200);
  const body = res.json<{ user: { id: string }; accessToken: string; refreshToken: string }>();
  return {
    id: body.user.id,
    email,
    password,
    accessToken: body.accessToken,
    refreshToken: body.refreshToken,
  };
}

export async function createOrg(app: FastifyInstance, user: TestUser, name = 'Acme'): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: '/api/orgs',
    headers: bearer(user),
    payload: { name },
  });
  expect(res.statusCode, res.body).toBe(202);
  return res.json<{ orgId: string }>().orgId;
}

/** A superuser pool for inspecting rows and seeding what the onboarding workflow would write. */
export function adminPool(): pg.Pool {
  return new pg.Pool({ connectionString: inject('adminDatabaseUrl'), max: 2 });
}

/** The admin pool for one test file, ended after its tests. */
export function useAdminPool(): pg.Pool {
  const pool = adminPool();
  afterAll(() => pool.end());
  return pool;
}

/** What onboarding does for a new org: the creator becomes owner and the org becomes active. */
export async function finishOnboarding(admin: pg.Pool, orgId: string, ownerId: string): Promise<void> {
  await admin.query(
    `INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, 'owner') ON CONFLICT DO NOTHING`,
    [orgId, ownerId],
  );
  await admin.query(`UPDATE organizations SET status = 'active' WHERE id = $1`, [orgId]);
}

/**
 * An active org with its owner, written directly: no onboarding workflow is started, so no worker
 * (another test file may run one) changes it while a test compares its state.
 */
export async function seedActiveOrg(admin: pg.Pool, owner: TestUser, name: string): Promise<string> {
  const orgId = randomUUID();
  await admin.query(
    `INSERT INTO organizations (id, name, slug, status, created_by) VALUES ($1, $2, $3, 'active', $4)`,
    [orgId, name, `org-${orgId}`.slice(0, 40), owner.id],
  );
  await admin.query(`INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, 'owner')`, [
    orgId,
    owner.id,
  ]);
  return orgId;
}

export async function addMember(admin: pg.Pool, orgId: string, userId: string, role: Role): Promise<void> {
  await admin.query(`INSERT INTO memberships (org_id, user_id, role) VALUES ($1, $2, $3)`, [
    orgId,
    userId,
    role,
  ]);
}

export interface AuditRow {
  org_id: string | null;
  actor_id: string | null;
  action: string;
  target_type: string;
  target_id: string | null;
  ip: string | null;
  details: Record<string, unknown>;
  created_at: Date;
}

export async function auditRows(
  admin: pg.Pool,
  where: { orgId?: string; actorId?: string; action?: string },
): Promise<AuditRow[]> {
  const { rows } = await admin.query<AuditRow>(
    `SELECT org_id, actor_id, action, target_type, target_id, host(ip) AS ip, details, created_at FROM audit_log
     WHERE ($1::uuid IS NULL OR org_id = $1) AND ($2::uuid IS NULL OR actor_id = $2) AND ($3::text IS NULL OR action = $3)
     ORDER BY id`,
    [where.orgId ?? null, where.actorId ?? null, where.action ?? null],
  );
  return rows;
}

export function errorCode(res: LightMyRequestResponse): string | undefined {
  return res.json<{ error?: { code?: string } }>().error?.code;
}
