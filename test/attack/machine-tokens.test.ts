// Machine clients' tokens (client credentials of the built-in authorization server) are cached like
// API keys, with the same revocation guarantee: a verified client is answered from memory for at
// most the API keys' 5 s (no query per request), and revoking it reaches every replica sharing Redis
// at once — while another replica's cache entry still lives — not when the entry expires.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maxCacheTtlMs } from '../../api/identity/api-keys/verifier.js';
import { OidcAccessTokens } from '../../api/identity/oidc/access-tokens.js';
import { apiResource, oidcIssuer } from '../../api/identity/oidc/provider.js';
import { buildTestApp, useTestApp, type TestApp } from '../support/app.js';
import { bearer, useAdminPool, type TestUser } from '../integration/api/helpers.js';
import {
  createClient,
  machineAccessToken,
  orgWithOwner,
  type RegisteredClient,
} from '../integration/oidc/support.js';
import { expectRefusal, invalidToken } from './support.js';

const t = useTestApp();
const admin = useAdminPool();
let replica: TestApp;
let owner: TestUser;
let orgId: string;

beforeAll(async () => {
  replica = await buildTestApp();
  ({ owner, orgId } = await orgWithOwner(t, admin, 'machine-cache'));
});
afterAll(async () => {
  await replica?.close();
});

async function machine(): Promise<RegisteredClient> {
  return createClient(t, owner, orgId, {
    name: 'job',
    grantTypes: ['client_credentials'],
    scopes: ['inference'],
  });
}

const tokenOf = (client: RegisteredClient) => machineAccessToken(t, client);

const keyRoute = (app: TestApp['app'], token: string) =>
  app.inject({ method: 'GET', url: '/api/auth/key', headers: bearer({ accessToken: token }) });

const revoke = (client: RegisteredClient) =>
  t.app.inject({
    method: 'DELETE',
    url: `/api/orgs/${orgId}/oauth-clients/${client.clientId}`,
    headers: bearer(owner),
  });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("a machine client's token", () => {
  it('is verified from memory within the cache TTL: no database read per request, one after it, one after a forget', async () => {
    const client = await machine();
    const token = await tokenOf(client);
    let reads = 0;
    // The app's database, counting the transactions the verifier opens.
    const db = new Proxy(t.app.db, {
      get(target, property, receiver) {
        if (property === 'transaction') reads++;
        return Reflect.get(target, property, receiver) as unknown;
      },
    });
    let clock = Date.now();
    const tokens = new OidcAccessTokens(
      t.app.oidcHost,
      db,
      oidcIssuer(t.config),
      apiResource(t.config),
      { cacheTtlMs: maxCacheTtlMs, staleServeMs: 0 },
      () => clock,
    );
    expect(await tokens.verify(token)).toMatchObject({ key: { orgId, scopes: ['inference'] } });
    const firstFill = reads;
    expect(firstFill).toBeGreaterThan(0);
    for (let i = 0; i < 20; i++) await tokens.verify(token);
    clock += maxCacheTtlMs - 1;
    await tokens.verify(token);
    expect(reads).toBe(firstFill);
    clock += 1;
    await tokens.verify(token);
    expect(reads).toBe(2 * firstFill);
    tokens.forget(client.clientId);
    await tokens.verify(token);
    expect(reads).toBe(3 * firstFill);
  });

  it('is refused on this replica at once when its client is revoked', async () => {
    const client = await machine();
    const token = await tokenOf(client);
    expect((await keyRoute(t.app, token)).statusCode).toBe(200);
    expect((await revoke(client)).statusCode).toBe(204);
    expectRefusal(await keyRoute(t.app, token), invalidToken, token);
  });

  it('is refused on another replica sharing Redis while its cache entry there still lives (pub/sub, not the TTL)', async () => {
    const client = await machine();
    const token = await tokenOf(client);
    expect((await keyRoute(t.app, token)).statusCode).toBe(200);
    // The replica's entry lives until 5 s after this at the earliest.
    const cachedBefore = Date.now();
    expect((await keyRoute(replica.app, token)).statusCode).toBe(200);
    expect((await revoke(client)).statusCode).toBe(204);
    let refusedAt: number | null = null;
    while (refusedAt === null && Date.now() - cachedBefore < 2 * maxCacheTtlMs) {
      const res = await keyRoute(replica.app, token);
      if (res.statusCode === 401) refusedAt = Date.now();
      else {
        expect(res.statusCode).toBe(200);
        await sleep(100);
      }
    }
    expect(refusedAt).not.toBeNull();
    expect(refusedAt!).toBeLessThan(cachedBefore + maxCacheTtlMs);
  });
});
