// The tenant's billing routes against real Postgres and Temporal, and Stripe's own stripe-mock
// behind the recording proxy (so a test sees what reached Stripe: the customer, the prices, the
// idempotency key). The plan-change and cancel updates need the subscription workflow's worker:
// here only their answers without a running workflow are checked.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../support/app.js';
import { workerNamespaces } from '../../support/global-setup.js';
import { StripeRecorder } from '../../../simulator/stripe-recorder.js';
import {
  addMember,
  adminPool,
  bearer,
  errorCode,
  seedActiveOrg,
  signUp,
  type TestUser,
} from '../api/helpers.js';
import { priceList } from '../../../simulator/stripe-account.js';
import { seedBillingAccount, type AccountSeed } from './helpers.js';

let t: TestApp;
let admin: pg.Pool;
let recorder: StripeRecorder;
let owner: TestUser;

beforeAll(async () => {
  recorder = await new StripeRecorder(inject('stripeUrl')).start();
  t = await buildTestApp({ STRIPE_API_URL: recorder.url, TEMPORAL_NAMESPACE: workerNamespaces.billingApi });
  admin = adminPool();
  owner = await signUp(t.app, 'billing');
});
afterAll(async () => {
  await t?.close();
  await admin?.end();
  await recorder?.stop();
});

async function org(seed?: AccountSeed): Promise<{ orgId: string; customerId: string | null }> {
  const orgId = await seedActiveOrg(admin, owner, 'Billing org');
  return { orgId, customerId: seed ? await seedBillingAccount(admin, orgId, seed) : null };
}

function call(method: 'GET' | 'POST', url: string, payload?: Record<string, unknown>) {
  return t.app.inject({ method, url, headers: bearer(owner), ...(payload && { payload }) });
}

/** Stripe answers the prices by lookup key, but for those missing. */
function answerPrices(missing: string[] = []) {
  recorder.intercept = (request) => priceList(request, missing);
}

function stripeCalls(method: string, path: string, customerId: string | null) {
  return recorder.calls(method, path).filter((r) => r.params.customer === customerId);
}

describe('GET /api/orgs/:orgId/billing', () => {
  it('shows the plan, status, seats and current period', async () => {
    const start = new Date('2026-11-01T00:00:00Z');
    const end = new Date('2026-12-01T00:00:00Z');
    const { orgId } = await org({
      plan: 'team',
      seats: 12,
      status: 'past_due',
      currentPeriodStart: start,
      currentPeriodEnd: end,
    });
    const res = await call('GET', `/api/orgs/${orgId}/billing`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({
      orgId,
      plan: 'team',
      status: 'past_due',
      seats: 12,
      trialEndsAt: null,
      currentPeriodStart: start.toISOString(),
      currentPeriodEnd: end.toISOString(),
      cancelAtPeriodEnd: false,
    });
  });

  it('answers 404 with a clear reason before onboarding created the account', async () => {
    const { orgId } = await org();
    const res = await call('GET', `/api/orgs/${orgId}/billing`);
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ error: { code: 'NOT_FOUND', message: /no billing account yet/ } });
  });

  it("is open to the org's billing role", async () => {
    const { orgId } = await org({});
    const accountant = await signUp(t.app, 'accountant');
    await addMember(admin, orgId, accountant.id, 'billing');
    const res = await t.app.inject({ url: `/api/orgs/${orgId}/billing`, headers: bearer(accountant) });
    expect(res.statusCode).toBe(200);
  });
});

describe('GET /api/orgs/:orgId/billing/usage', () => {
  async function addUsage(orgId: string, hour: Date, prompt: number, completion: number) {
    await admin.query(
      `INSERT INTO usage_hourly (org_id, hour, team_id, key_id, model, requests, errors, cancelled,
         prompt_tokens, completion_tokens, cached_tokens, estimated)
       VALUES ($1, $2, NULL, $3, 'm', 1, 0, 0, $4, $5, 0, 0)`,
      [orgId, hour, randomUUID(), prompt, completion],
    );
  }

  it("counts the subscription period's tokens against the plan's included tokens", async () => {
    const hour = 3_600_000;
    const start = new Date(Math.floor(Date.now() / hour) * hour - 48 * hour);
    const end = new Date(start.getTime() + 30 * 24 * hour);
    const { orgId } = await org({ plan: 'free', currentPeriodStart: start, currentPeriodEnd: end });
    await addUsage(orgId, new Date(start.getTime() - hour), 999_999, 0); // the previous period
    await addUsage(orgId, start, 100_000, 20_000);
    await addUsage(orgId, new Date(start.getTime() + 5 * hour), 20_000, 10_000);
    const res = await call('GET', `/api/orgs/${orgId}/billing/usage`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({
      orgId,
      plan: 'free',
      periodStart: start.toISOString(),
      periodEnd: end.toISOString(),
      usedTokens: 150_000,
      includedTokens: 100_000,
      percent: 150,
      overageTokens: 50_000,
      overage: 'block',
    });
  });

  it('counts the UTC month without a billing account, with no overage under the included tokens', async () => {
    const { orgId } = await org();
    const now = new Date();
    const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    await addUsage(orgId, monthStart, 1_000_000, 234_567);
    const res = await call('GET', `/api/orgs/${orgId}/billing/usage`);
    expect(res.json()).toMatchObject({
      plan: 'developer',
      periodStart: monthStart.toISOString(),
      usedTokens: 1_234_567,
      includedTokens: 5_000_000,
      percent: 24.7,
      overageTokens: 0,
      overage: 'bill',
    });
  });
});

describe('POST /api/orgs/:orgId/billing/checkout', () => {
  it('opens a Stripe Checkout for the plan, for the customer, with an idempotency key', async () => {
    const { orgId, customerId } = await org({ status: 'canceled' });
    answerPrices();
    const res = await call('POST', `/api/orgs/${orgId}/billing/checkout`, { plan: 'team', seats: 4 });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({
      sessionId: expect.stringMatching(/^cs_/),
      url: expect.stringMatching(/^https:/),
    });

    const [prices] = recorder.calls('GET', '/v1/prices').slice(-1);
    expect(Object.values(prices!.params)).toEqual(
      expect.arrayContaining([
        'vlinders_team_flat',
        'vlinders_team_input_tokens',
        'vlinders_team_output_tokens',
      ]),
    );
    const [session] = stripeCalls('POST', '/v1/checkout/sessions', customerId);
    expect(session?.params).toMatchObject({
      mode: 'subscription',
      client_reference_id: orgId,
      'line_items[0][price]': 'price_vlinders_team_flat',
      'line_items[0][quantity]': '4',
      'line_items[1][price]': 'price_vlinders_team_input_tokens',
      'line_items[2][price]': 'price_vlinders_team_output_tokens',
      'subscription_data[metadata][orgId]': orgId,
      success_url: expect.stringContaining(`${t.config.PUBLIC_URL}/billing?checkout=success`),
      cancel_url: `${t.config.PUBLIC_URL}/billing?checkout=canceled`,
    });
    expect(session?.params['line_items[1][quantity]']).toBeUndefined();
    expect(session?.idempotencyKey).toMatch(new RegExp(`^checkout/${orgId}/team/4/\\d+$`));

    // A double click: the same key, so Stripe answers the same session.
    await call('POST', `/api/orgs/${orgId}/billing/checkout`, { plan: 'team', seats: 4 });
    const sessions = stripeCalls('POST', '/v1/checkout/sessions', customerId);
    expect(sessions).toHaveLength(2);
    expect(sessions[1]?.idempotencyKey).toBe(session?.idempotencyKey);
  });

  it("defaults the seats to the org's member count", async () => {
    const { orgId, customerId } = await org({ status: 'canceled' });
    const member = await signUp(t.app, 'seat');
    await addMember(admin, orgId, member.id, 'member');
    answerPrices();
    const res = await call('POST', `/api/orgs/${orgId}/billing/checkout`, { plan: 'developer' });
    expect(res.statusCode, res.body).toBe(200);
    expect(
      stripeCalls('POST', '/v1/checkout/sessions', customerId)[0]?.params['line_items[0][quantity]'],
    ).toBe('2');
  });

  it.each([
    ['fewer seats than members', { plan: 'team', seats: 1 }, 400, /has 2 members/],
    ['more seats than the plan allows', { plan: 'free', seats: 4 }, 400, /at most 3 seats/],
  ])('refuses %s, and nothing reaches Stripe', async (_name, body, status, message) => {
    const { orgId, customerId } = await org({ status: 'canceled' });
    const member = await signUp(t.app, 'seat');
    await addMember(admin, orgId, member.id, 'member');
    answerPrices();
    const res = await call('POST', `/api/orgs/${orgId}/billing/checkout`, body);
    expect(res.statusCode).toBe(status);
    expect(res.json()).toMatchObject({ error: { message } });
    expect(stripeCalls('POST', '/v1/checkout/sessions', customerId)).toEqual([]);
  });

  it('answers 409 to a tenant with a live subscription (it changes plan instead)', async () => {
    const { orgId, customerId } = await org({ status: 'active' });
    const res = await call('POST', `/api/orgs/${orgId}/billing/checkout`, { plan: 'team' });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ error: { message: /billing\/plan/ } });
    expect(stripeCalls('POST', '/v1/checkout/sessions', customerId)).toEqual([]);
  });

  it('answers 502 when the Stripe account lacks a price of the plan', async () => {
    const { orgId, customerId } = await org({ status: 'canceled' });
    answerPrices(['vlinders_team_output_tokens']);
    const res = await call('POST', `/api/orgs/${orgId}/billing/checkout`, { plan: 'team', seats: 2 });
    expect(res.statusCode).toBe(502);
    expect(errorCode(res)).toBe('PAYMENT_PROVIDER');
    expect(stripeCalls('POST', '/v1/checkout/sessions', customerId)).toEqual([]);
  });
});

describe('POST /api/orgs/:orgId/billing/portal', () => {
  it("opens the customer's portal with an idempotency key, returning to the billing page", async () => {
    const { orgId, customerId } = await org({ status: 'suspended' });
    const res = await call('POST', `/api/orgs/${orgId}/billing/portal`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json<{ url: string }>().url).toMatch(/^https:/);
    const [session] = stripeCalls('POST', '/v1/billing_portal/sessions', customerId);
    expect(session?.params.return_url).toBe(`${t.config.PUBLIC_URL}/billing`);
    expect(session?.idempotencyKey).toMatch(new RegExp(`^portal/${orgId}/\\d+$`));
  });

  it('answers 502 PAYMENT_PROVIDER with a message of its own when Stripe fails', async () => {
    const { orgId } = await org({});
    recorder.intercept = (request) =>
      request.path === '/v1/billing_portal/sessions'
        ? {
            status: 400,
            body: { error: { type: 'invalid_request_error', message: 'No such customer: secret detail' } },
          }
        : undefined;
    const res = await call('POST', `/api/orgs/${orgId}/billing/portal`);
    expect(res.statusCode).toBe(502);
    expect(res.json()).toMatchObject({ error: { code: 'PAYMENT_PROVIDER', message: /Stripe/ } });
    expect(res.body).not.toContain('secret detail');
  });
});

describe('GET /api/orgs/:orgId/billing/invoices', () => {
  it("lists the customer's invoices from Stripe", async () => {
    recorder.intercept = undefined;
    const { orgId, customerId } = await org({});
    const res = await call('GET', `/api/orgs/${orgId}/billing/invoices?limit=5`);
    expect(res.statusCode, res.body).toBe(200);
    const page = res.json<{ invoices: Record<string, unknown>[]; nextCursor: string | null }>();
    expect(page.invoices.length).toBeGreaterThan(0);
    expect(page.invoices[0]).toMatchObject({
      id: expect.stringMatching(/^in_/),
      amountDue: expect.any(Number),
      amountPaid: expect.any(Number),
      currency: expect.any(String),
      periodStart: expect.any(String),
      periodEnd: expect.any(String),
    });
    expect(stripeCalls('GET', '/v1/invoices', customerId)[0]?.params.limit).toBe('5');
  });

  it('refuses a malformed cursor before calling Stripe', async () => {
    const { orgId, customerId } = await org({});
    const res = await call('GET', `/api/orgs/${orgId}/billing/invoices?startingAfter=nope`);
    expect(res.statusCode).toBe(400);
    expect(stripeCalls('GET', '/v1/invoices', customerId)).toEqual([]);
  });
});

describe('plan changes and cancellation without a running subscription workflow', () => {
  it.each([
    ['plan', { plan: 'team', seats: 5 }],
    ['cancel', { atPeriodEnd: true }],
  ])('POST billing/%s answers 409', async (path, body) => {
    const { orgId } = await org({ status: 'canceled' });
    const res = await call('POST', `/api/orgs/${orgId}/billing/${path}`, body);
    expect(res.statusCode, res.body).toBe(409);
    expect(res.json()).toMatchObject({ error: { code: 'CONFLICT', message: /no running subscription/ } });
  });
});
