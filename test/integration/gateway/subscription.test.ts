// Entitlements on /v1 as an OpenAI SDK sees them: a suspended or canceled tenant is refused on
// every inference route with a stable code, before any limit is reserved, nothing reaching the
// model server and nothing metered; its billing routes still answer so it can pay; once active
// again it is served within the key cache's few seconds; past_due is still served.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { SubscriptionStatus } from '../../../core/billing.js';
import type { UsageEvent } from '../../../core/usage-event.js';
import { monthOf } from '../../../api/gateway/limits/limiter.js';
import { limitKeys } from '../../../api/gateway/limits/admissions.js';
import { useTestApp } from '../../support/app.js';
import { auditRows, bearer, useAdminPool } from '../api/helpers.js';
import { seedBillingAccount } from '../billing/helpers.js';
import { basicAuth, createClient } from '../oidc/support.js';
import {
  RecordingUpstream,
  addModel,
  clientFor,
  closeClients,
  createKey,
  gatewayWorld,
  untilRegistered,
  type GatewayWorld,
} from './world.js';

// A usage stream of this file's own: no other file's ingester takes its events away.
const usageStream = `vlinders:usage:subscription-${randomUUID().slice(0, 8)}`;
const t = useTestApp({ USAGE_STREAM: usageStream });
const admin = useAdminPool();
const upstream = new RecordingUpstream();
const redis = new Redis(inject('redisUrl'));
let world: GatewayWorld;
let model: string;

const messages = [{ role: 'user' as const, content: 'Is the invoice paid?' }];

beforeAll(async () => {
  const url = await upstream.listen();
  world = await gatewayWorld(t, admin);
  // Suspended before the key's first use, so the first verification already sees it.
  await seedBillingAccount(admin, world.orgId, { status: 'suspended' });
  model = await addModel(admin, { deployments: [{ urls: [url], upstreamModel: 'recorded' }] });
  await untilRegistered(t, model);
});
afterAll(async () => {
  await closeClients();
  await upstream.close();
  redis.disconnect();
});

async function setStatus(status: SubscriptionStatus): Promise<void> {
  await admin.query('UPDATE organizations SET subscription_status = $2 WHERE id = $1', [world.orgId, status]);
  await admin.query('UPDATE billing_accounts SET status = $2 WHERE org_id = $1', [world.orgId, status]);
}

/** The usage events the gateway appended for this org (read from the stream, before any ingester). */
async function usageEvents(): Promise<UsageEvent[]> {
  const entries = await redis.xrange(usageStream, '-', '+');
  return entries
    .map(([, fields]) => JSON.parse(fields[1]!) as UsageEvent)
    .filter((e) => e.orgId === world.orgId);
}

/** The status and OpenAI error code of a chat completion with this key. */
async function chatOutcome(key = world.key): Promise<{ status: number; code?: string | null }> {
  try {
    await clientFor(world.baseURL, key).chat.completions.create({ model, messages, max_tokens: 5 });
    return { status: 200 };
  } catch (err) {
    const { status, code } = err as { status: number; code?: string | null };
    return { status, code };
  }
}

describe('a suspended tenant', () => {
  it('is refused on every /v1 route with subscription_suspended, and nothing is reserved, forwarded or metered', async () => {
    const refused = { status: 403, code: 'subscription_suspended', type: 'permission_error' };
    await expect(world.client.chat.completions.create({ model, messages })).rejects.toMatchObject(refused);
    await expect(world.client.completions.create({ model, prompt: 'Hi' })).rejects.toMatchObject(refused);
    await expect(world.client.embeddings.create({ model, input: 'Hi' })).rejects.toMatchObject(refused);
    await expect(world.client.models.list()).rejects.toMatchObject(refused);
    await expect(world.client.models.retrieve(model)).rejects.toMatchObject(refused);
    // A stream is refused before its first byte, as a plain error.
    await expect(
      world.client.chat.completions.create({ model, messages, stream: true }),
    ).rejects.toMatchObject(refused);

    await expect(world.client.chat.completions.create({ model, messages })).rejects.toThrow(
      `/api/orgs/${world.orgId}/billing`,
    );

    expect(upstream.requests).toHaveLength(0);
    expect(await usageEvents()).toEqual([]);
    const keys = limitKeys(world.orgId, 'any', monthOf(Date.now()).month);
    expect(await redis.exists(keys.monthly, keys.orgRequests, keys.orgTokens, keys.inflight)).toBe(0);
    // Not a policy denial: no audit row per refused request.
    expect(await auditRows(admin, { orgId: world.orgId, action: 'policy.deny' })).toEqual([]);
  });

  it('still reaches its billing routes, to pay', async () => {
    const headers = bearer(world.owner);
    const account = await t.app.inject({ url: `/api/orgs/${world.orgId}/billing`, headers });
    expect(account.statusCode, account.body).toBe(200);
    expect(account.json()).toMatchObject({ status: 'suspended' });
    const usage = await t.app.inject({ url: `/api/orgs/${world.orgId}/billing/usage`, headers });
    expect(usage.statusCode, usage.body).toBe(200);
    const portal = await t.app.inject({
      method: 'POST',
      url: `/api/orgs/${world.orgId}/billing/portal`,
      headers,
    });
    expect(portal.statusCode, portal.body).toBe(200);
    expect(portal.json<{ url: string }>().url).toMatch(/^https?:\/\//);
  });

  it('is served again within seconds of paying (the key cache holds a status at most 5 s)', async () => {
    await setStatus('active');
    // The cache's 5 s plus room for a busy machine: the outcome matters here, not the seconds.
    await expect.poll(() => chatOutcome(), { timeout: 20_000, interval: 250 }).toEqual({ status: 200 });
    expect(upstream.requests.length).toBeGreaterThan(0);
    await expect.poll(async () => (await usageEvents()).length).toBeGreaterThan(0);
  });

  it('is refused again within seconds of a new suspension, with the key already cached', async () => {
    expect(await chatOutcome()).toEqual({ status: 200 });
    await setStatus('suspended');
    await expect
      .poll(() => chatOutcome(), { timeout: 20_000, interval: 250 })
      .toEqual({ status: 403, code: 'subscription_suspended' });
  });
});

describe('other states', () => {
  // A key created after the change has no cache entry: its first use sees the status at once.
  it('past_due (the grace period) is still served', async () => {
    await setStatus('past_due');
    const key = await createKey(t, world.owner, world.orgId);
    expect(await chatOutcome(key)).toEqual({ status: 200 });
  });

  it("a machine client's token of a suspended org is refused like a key", async () => {
    await setStatus('suspended');
    const client = await createClient(t, world.owner, world.orgId, {
      name: 'batch job',
      grantTypes: ['client_credentials'],
      scopes: ['inference', 'models:read'],
    });
    const token = await t.app.inject({
      method: 'POST',
      url: '/oidc/token',
      headers: { ...basicAuth(client), 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ grant_type: 'client_credentials', scope: 'inference' }).toString(),
    });
    expect(token.statusCode, token.body).toBe(200);
    const machine = clientFor(world.baseURL, token.json<{ access_token: string }>().access_token);
    await expect(machine.chat.completions.create({ model, messages })).rejects.toMatchObject({
      status: 403,
      code: 'subscription_suspended',
    });
  });

  it('canceled is refused with subscription_canceled', async () => {
    await setStatus('canceled');
    const key = await createKey(t, world.owner, world.orgId);
    const before = upstream.requests.length;
    expect(await chatOutcome(key)).toEqual({ status: 403, code: 'subscription_canceled' });
    expect(upstream.requests).toHaveLength(before);
  });
});
