// OAuth clients through the management API: the secret is shown once and kept wrapped, lists never
// carry it, bad registrations are refused, revocation stops the client at the token endpoint, and a
// client of one org is invisible and powerless in another.
import { describe, expect, it } from 'vitest';
import { useTestApp } from '../../support/app.js';
import { auditRows, bearer, errorCode, useAdminPool } from '../api/helpers.js';
import { orgFingerprint } from '../api/state.js';
import { basicAuth, createClient, orgWithOwner, redirectUri, type RegisteredClient } from './support.js';

const t = useTestApp();
const admin = useAdminPool();

function clientCredentials(client: RegisteredClient, scope = 'inference') {
  return t.app.inject({
    method: 'POST',
    url: '/oidc/token',
    headers: { ...basicAuth(client), 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ grant_type: 'client_credentials', scope }).toString(),
  });
}

describe('OAuth client management', () => {
  it('shows the secret once, stores it wrapped, lists and shows clients without it', async () => {
    const { owner, orgId } = await orgWithOwner(t, admin, 'clients');
    const created = await createClient(t, owner, orgId, {
      name: 'Web app',
      grantTypes: ['authorization_code', 'client_credentials'],
      redirectUris: [redirectUri, 'https://app.example/callback'],
      scopes: ['inference'],
    });
    expect(created.clientId).toMatch(new RegExp(`^vlc_${orgId.replaceAll('-', '')}_[0-9a-f]{24}$`));
    expect(created.clientSecret.length).toBeGreaterThanOrEqual(43);
    expect(created.grantTypes).toEqual(['authorization_code', 'client_credentials', 'refresh_token']);

    const { rows } = await admin.query<{ wrapped_secret: string }>(
      'SELECT wrapped_secret FROM oauth_clients WHERE client_id = $1',
      [created.clientId],
    );
    expect(rows[0]?.wrapped_secret).toBeTruthy();
    expect(rows[0]?.wrapped_secret).not.toContain(created.clientSecret);

    const list = await t.app.inject({
      method: 'GET',
      url: `/api/orgs/${orgId}/oauth-clients`,
      headers: bearer(owner),
    });
    expect(list.statusCode).toBe(200);
    expect(list.body).not.toContain(created.clientSecret);
    expect(list.json<{ items: { clientId: string }[] }>().items.map((c) => c.clientId)).toEqual([
      created.clientId,
    ]);
    const one = await t.app.inject({
      method: 'GET',
      url: `/api/orgs/${orgId}/oauth-clients/${created.clientId}`,
      headers: bearer(owner),
    });
    expect(one.statusCode).toBe(200);
    expect(one.json()).not.toHaveProperty('clientSecret');
    expect(one.json()).toMatchObject({ name: 'Web app', revokedAt: null, createdBy: owner.id });

    const audit = await auditRows(admin, { orgId, action: 'oauth-client.create' });
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit)).not.toContain(created.clientSecret);
  });

  it.each([
    ['a code-flow client without redirect URIs', { grantTypes: ['authorization_code'], scopes: [] }],
    [
      'an http redirect URI that is not loopback',
      { grantTypes: ['authorization_code'], redirectUris: ['http://app.example/cb'], scopes: [] },
    ],
    [
      'a redirect URI with a fragment',
      { grantTypes: ['authorization_code'], redirectUris: ['https://app.example/cb#x'], scopes: [] },
    ],
    [
      'a redirect URI that is not a URL',
      { grantTypes: ['authorization_code'], redirectUris: ['nope'], scopes: [] },
    ],
    [
      'redirect URIs on a client-credentials client',
      { grantTypes: ['client_credentials'], redirectUris: ['https://app.example/cb'], scopes: [] },
    ],
    ['an unknown grant type', { grantTypes: ['password'], scopes: [] }],
    ['refresh_token asked for directly', { grantTypes: ['refresh_token'], scopes: [] }],
    ['an unknown scope', { grantTypes: ['client_credentials'], scopes: ['root'] }],
  ])('refuses %s with 400 and creates nothing', async (_name, body) => {
    const { owner, orgId } = await orgWithOwner(t, admin, 'bad-client');
    const before = await orgFingerprint(admin, orgId);
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/orgs/${orgId}/oauth-clients`,
      headers: bearer(owner),
      payload: { name: 'bad', ...body },
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(errorCode(res)).toBe('VALIDATION');
    expect(await orgFingerprint(admin, orgId)).toBe(before);
  });

  it('revoking a client makes client credentials fail with invalid_client and refuses its tokens', async () => {
    const { owner, orgId } = await orgWithOwner(t, admin, 'revoke');
    const client = await createClient(t, owner, orgId, {
      name: 'job',
      grantTypes: ['client_credentials'],
      scopes: ['inference'],
    });
    const issued = await clientCredentials(client);
    expect(issued.statusCode, issued.body).toBe(200);
    const token = issued.json<{ access_token: string }>().access_token;

    const revoke = await t.app.inject({
      method: 'DELETE',
      url: `/api/orgs/${orgId}/oauth-clients/${client.clientId}`,
      headers: bearer(owner),
    });
    expect(revoke.statusCode).toBe(204);

    const refused = await clientCredentials(client);
    expect(refused.statusCode).toBe(401);
    expect(refused.json<{ error: string }>().error).toBe('invalid_client');
    const key = await t.app.inject({
      method: 'GET',
      url: '/api/auth/key',
      headers: bearer({ accessToken: token }),
    });
    expect(key.statusCode).toBe(401);

    const shown = await t.app.inject({
      method: 'GET',
      url: `/api/orgs/${orgId}/oauth-clients/${client.clientId}`,
      headers: bearer(owner),
    });
    expect(shown.json<{ revokedAt: string | null }>().revokedAt).not.toBeNull();
    // Revoking again changes nothing and writes no second audit entry.
    const again = await t.app.inject({
      method: 'DELETE',
      url: `/api/orgs/${orgId}/oauth-clients/${client.clientId}`,
      headers: bearer(owner),
    });
    expect(again.statusCode).toBe(204);
    expect(await auditRows(admin, { orgId, action: 'oauth-client.revoke' })).toHaveLength(1);
  });
});

describe('tenant isolation', () => {
  it("org B cannot see, revoke or borrow org A's client", async () => {
    const a = await orgWithOwner(t, admin, 'tenant-a');
    const b = await orgWithOwner(t, admin, 'tenant-b');
    const client = await createClient(t, a.owner, a.orgId, {
      name: 'A job',
      grantTypes: ['client_credentials'],
      scopes: ['inference'],
    });
    const before = await orgFingerprint(admin, a.orgId);
    for (const method of ['GET', 'DELETE'] as const) {
      // B's owner, under B's org, naming A's client: indistinguishable from a missing one.
      const res = await t.app.inject({
        method,
        url: `/api/orgs/${b.orgId}/oauth-clients/${client.clientId}`,
        headers: bearer(b.owner),
      });
      expect(res.statusCode).toBe(404);
      // B's owner under A's org: not a member.
      const direct = await t.app.inject({
        method,
        url: `/api/orgs/${a.orgId}/oauth-clients/${client.clientId}`,
        headers: bearer(b.owner),
      });
      expect(direct.statusCode).toBe(404);
    }
    const listB = await t.app.inject({
      method: 'GET',
      url: `/api/orgs/${b.orgId}/oauth-clients`,
      headers: bearer(b.owner),
    });
    expect(listB.json<{ items: unknown[] }>().items).toEqual([]);
    expect(await orgFingerprint(admin, a.orgId)).toBe(before);

    // A client_id whose org part was rewritten to B's is not a client at all.
    const forged = {
      ...client,
      clientId: client.clientId.replace(a.orgId.replaceAll('-', ''), b.orgId.replaceAll('-', '')),
    };
    const res = await clientCredentials(forged);
    expect(res.statusCode).toBe(401);
    expect(res.json<{ error: string }>().error).toBe('invalid_client');

    // A's machine token acts for A only: B's org routes take user tokens, and its key view names A.
    const token = (await clientCredentials(client)).json<{ access_token: string }>().access_token;
    const key = await t.app.inject({
      method: 'GET',
      url: '/api/auth/key',
      headers: bearer({ accessToken: token }),
    });
    expect(key.json<{ orgId: string }>().orgId).toBe(a.orgId);
    const bOrg = await t.app.inject({
      method: 'GET',
      url: `/api/orgs/${b.orgId}`,
      headers: bearer({ accessToken: token }),
    });
    expect(bOrg.statusCode).toBe(401);
  });
});
