// GET /api/admin/orgs and /api/admin/orgs/:orgId: an operator sees every tenant with its onboarding
// status, plan, subscription, seats, members and this month's tokens (last month's not counted),
// newest first, in pages that neither repeat nor skip a tenant, filtered by status, subscription
// status and a name search whose wildcards are taken literally. Bad cursors and limits are refused.
// (Who may call them: the route table's operator rows.)
import { randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { addUsage, seedBillingTenants, type BillingTenant } from '../../support/billing-fixture.js';
import { useTestApp } from '../../support/app.js';
import { addMember, bearer, errorCode, signUp, useAdminPool, type TestUser } from './helpers.js';

interface TenantView {
  id: string;
  name: string;
  slug: string;
  status: string;
  failureReason: string | null;
  createdAt: string;
  plan: string;
  subscriptionStatus: string;
  seats: number | null;
  members: number;
  tokensThisMonth: number;
  suspension: { reason: string; since: string; by: string } | null;
}
interface TenantPage {
  items: TenantView[];
  nextCursor: string | null;
}

const suffix = randomBytes(4).toString('hex');
const t = useTestApp();
let admin: pg.Pool;
let operator: TestUser;
let alpha: BillingTenant;
let beta: BillingTenant;
let percent: BillingTenant;
let onboardingId: string;

const hourMs = 3_600_000;

beforeAll(async () => {
  admin = useAdminPool();
  operator = await signUp(t.app, 'tenants-operator');
  await admin.query(`UPDATE users SET platform_role = 'operator' WHERE id = $1`, [operator.id]);
  [alpha, beta, percent] = (await seedBillingTenants(admin, 3)) as [
    BillingTenant,
    BillingTenant,
    BillingTenant,
  ];
  onboardingId = randomUUID();
  await admin.query(`INSERT INTO organizations (id, name, slug, created_by) VALUES ($1, $2, $3, $4)`, [
    onboardingId,
    `${suffix} Onboarding`,
    `org-${onboardingId}`,
    alpha.ownerId,
  ]);
  // Oldest first: alpha, beta, percent, the one still onboarding.
  for (const [i, [orgId, name]] of [
    [alpha.orgId, `${suffix} Alpha`],
    [beta.orgId, `${suffix} Beta`],
    [percent.orgId, `${suffix}%off`],
    [onboardingId, `${suffix} Onboarding`],
  ].entries())
    await admin.query(
      `UPDATE organizations SET name = $2, created_at = now() - make_interval(mins => $3) WHERE id = $1`,
      [orgId, name, 10 - i],
    );
  // Beta: suspended, 3 seats, two more members.
  await admin.query(`UPDATE organizations SET subscription_status = 'suspended' WHERE id = $1`, [beta.orgId]);
  await admin.query(`UPDATE billing_accounts SET status = 'suspended', seats = 3 WHERE org_id = $1`, [
    beta.orgId,
  ]);
  await addMember(admin, beta.orgId, alpha.ownerId, 'member');
  await addMember(admin, beta.orgId, percent.ownerId, 'viewer');
  // Alpha: tokens this month and last month; only this month's count.
  const now = new Date();
  const monthStart = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
  await addUsage(admin, [
    {
      orgId: alpha.orgId,
      hour: new Date(Math.floor(now.getTime() / hourMs) * hourMs),
      promptTokens: 100,
      completionTokens: 50,
    },
    { orgId: alpha.orgId, hour: new Date(monthStart - hourMs), promptTokens: 1_000, completionTokens: 1_000 },
  ]);
});

async function get<T>(url: string, user: TestUser = operator): Promise<T> {
  const res = await t.app.inject({ method: 'GET', url, headers: bearer(user) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<T>();
}

const search = (query = '') => `/api/admin/orgs?q=${encodeURIComponent(suffix)}${query}`;

describe('GET /api/admin/orgs', () => {
  it('lists every tenant newest first with its status, plan, seats, members and tokens this month', async () => {
    const page = await get<TenantPage>(search());
    expect(page.items.map((o) => o.name)).toEqual([
      `${suffix} Onboarding`,
      `${suffix}%off`,
      `${suffix} Beta`,
      `${suffix} Alpha`,
    ]);
    expect(page.nextCursor).toBeNull();
    const byId = new Map(page.items.map((o) => [o.id, o]));
    expect(byId.get(alpha.orgId)).toEqual({
      id: alpha.orgId,
      name: `${suffix} Alpha`,
      slug: `org-${alpha.orgId}`,
      status: 'active',
      failureReason: null,
      createdAt: expect.stringMatching(/Z$/),
      plan: 'developer',
      subscriptionStatus: 'active',
      seats: 1,
      members: 1,
      tokensThisMonth: 150,
      suspension: null,
    });
    expect(byId.get(beta.orgId)).toMatchObject({ subscriptionStatus: 'suspended', seats: 3, members: 3 });
    expect(byId.get(onboardingId)).toMatchObject({
      status: 'onboarding',
      seats: null,
      members: 0,
      tokensThisMonth: 0,
    });
  });

  it('pages without repeating or skipping a tenant', async () => {
    const first = await get<TenantPage>(search('&limit=3'));
    expect(first.items).toHaveLength(3);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await get<TenantPage>(search(`&limit=3&cursor=${first.nextCursor}`));
    expect(second.nextCursor).toBeNull();
    expect([...first.items, ...second.items].map((o) => o.id)).toEqual([
      onboardingId,
      percent.orgId,
      beta.orgId,
      alpha.orgId,
    ]);
  });

  it('filters by onboarding status and by subscription status', async () => {
    const onboarding = await get<TenantPage>(search('&status=onboarding'));
    expect(onboarding.items.map((o) => o.id)).toEqual([onboardingId]);
    const suspended = await get<TenantPage>(search('&subscriptionStatus=suspended'));
    expect(suspended.items.map((o) => o.id)).toEqual([beta.orgId]);
    const both = await get<TenantPage>(search('&status=active&subscriptionStatus=active'));
    expect(both.items.map((o) => o.id)).toEqual([percent.orgId, alpha.orgId]);
  });

  it('takes a wildcard in the search literally', async () => {
    const page = await get<TenantPage>(`/api/admin/orgs?q=${encodeURIComponent(`${suffix}%`)}`);
    expect(page.items.map((o) => o.id)).toEqual([percent.orgId]);
  });

  it.each([
    ['a cursor it did not give', `cursor=${Buffer.from('yesterday|me').toString('base64url')}`],
    ['a cursor that is not base64url', 'cursor=a.b'],
    ['a limit of 0', 'limit=0'],
    ['a limit over 100', 'limit=101'],
    ['an unknown status', 'status=frozen'],
    ['an unknown parameter', 'page=2'],
  ])('refuses %s (400)', async (_what, query) => {
    const res = await t.app.inject({
      method: 'GET',
      url: `/api/admin/orgs?${query}`,
      headers: bearer(operator),
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(errorCode(res)).toBe('VALIDATION');
  });
});

describe('GET /api/admin/orgs/:orgId', () => {
  it('shows one tenant as the list does', async () => {
    const listed = (await get<TenantPage>(search())).items.find((o) => o.id === beta.orgId);
    expect(await get<TenantView>(`/api/admin/orgs/${beta.orgId}`)).toEqual(listed);
  });

  it('answers 404 for an organization that does not exist', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: `/api/admin/orgs/${randomUUID()}`,
      headers: bearer(operator),
    });
    expect(res.statusCode).toBe(404);
    expect(errorCode(res)).toBe('NOT_FOUND');
  });
});
