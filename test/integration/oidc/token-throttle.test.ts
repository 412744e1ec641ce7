// The token endpoints are brute-force targets (client secrets, codes, refresh tokens): every POST to
// them spends the caller's per-address budget, the same one as /api/auth/login, and is refused with
// 429 before the provider checks anything. An in-process counter (no Redis), so no other test file
// shares this address's budget.
import { beforeAll, describe, expect, it } from 'vitest';
import { useAdminPool } from '../api/helpers.js';
import { clientCall, createClient, orgWithOwner, useListeningApp, type RegisteredClient } from './support.js';

const budget = 7;
const t = useListeningApp({ REDIS_URL: '', AUTH_ATTEMPTS_PER_MINUTE: String(budget) });
const admin = useAdminPool();
let machine: RegisteredClient;

beforeAll(async () => {
  // Signing up spends three attempts of the address's budget: sign-up, the mailed link, login.
  const { owner, orgId } = await orgWithOwner(t, admin, 'throttle');
  machine = await createClient(t, owner, orgId, {
    name: 'job',
    grantTypes: ['client_credentials'],
    scopes: ['inference'],
  });
});

describe('token endpoint budget', () => {
  it('refuses token requests over the per-address budget with 429, even with a valid secret', async () => {
    const token = (client: RegisteredClient) =>
      clientCall(t.base, 'token', client, { grant_type: 'client_credentials', scope: 'inference' });
    const statuses: number[] = [];
    for (let i = 0; i < budget; i += 1) statuses.push((await token(machine)).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429, 429, 429]);

    const guessed = await token({ ...machine, clientSecret: 'a guess' });
    expect(guessed.status).toBe(429);
    expect(guessed.headers['retry-after']).toMatch(/^\d+$/);
    expect(JSON.parse(guessed.text)).toMatchObject({ error: { code: 'RATE_LIMITED' } });
    const introspection = await clientCall(t.base, 'token/introspection', machine, { token: 'x' });
    expect(introspection.status).toBe(429);
  });
});
