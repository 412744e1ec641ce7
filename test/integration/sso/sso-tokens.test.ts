// Bearer JWTs from an org's identity provider: accepted on user routes as the linked user when
// signed by a configured issuer for the connection's API audience and within their lifetime; refused
// (401) in every other shape an attacker might try — ID tokens and tokens of a connection without an
// API audience included — and an unconfigured issuer is never contacted.
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestApp } from '../../support/app.js';
import { startCompanyIdp, type CompanyAccount, type CompanyIdp } from '../../support/company-idp.js';
import { bearer, errorCode, useAdminPool } from '../api/helpers.js';
import {
  addAccount,
  orgWithConnection,
  redirectUri,
  ssoAppConfig,
  ssoLogin,
  type SsoOrg,
  type SsoSession,
} from './support.js';

const t = useTestApp(ssoAppConfig);
const admin = useAdminPool();
let idp: CompanyIdp;
let stranger: CompanyIdp;
let org: SsoOrg;
let account: CompanyAccount;
let session: SsoSession;

/** The audience the provider's access tokens for the Vlinders API carry (the connection's `audience`). */
const apiAudience = 'https://api.vlinders.test';

const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

beforeAll(async () => {
  idp = await startCompanyIdp({ redirectUri });
  stranger = await startCompanyIdp({ redirectUri });
  org = await orgWithConnection(t.app, admin, idp, { audience: apiAudience });
  account = addAccount(idp, ['vl-admins']);
  // The subject is linked to a platform user by signing in once.
  const res = await ssoLogin(t.app, idp, org.orgId, { account: account.sub });
  expect(res.statusCode, res.body).toBe(200);
  session = res.json<SsoSession>();
});
afterAll(async () => {
  await Promise.all([idp?.close(), stranger?.close()]);
});

function me(token: string) {
  return t.app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${token}` } });
}

async function expectRefused(token: string): Promise<void> {
  const res = await me(token);
  expect(res.statusCode, res.body).toBe(401);
  expect(errorCode(res)).toBe('INVALID_TOKEN');
}

describe("tokens from the org's identity provider", () => {
  it('act as the linked user on user routes and org routes', async () => {
    const token = await idp.sign({ sub: account.sub, aud: apiAudience });
    const res = await me(token);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json<{ id: string }>().id).toBe(session.user.id);
    const members = await t.app.inject({
      method: 'GET',
      url: `/api/orgs/${org.orgId}/members`,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(members.statusCode).toBe(200);
    // An admin by mapping: may read the SSO connection.
    const sso = await t.app.inject({
      method: 'GET',
      url: `/api/orgs/${org.orgId}/sso`,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(sso.statusCode).toBe(200);
  });

  it('are accepted just past exp within the clock tolerance', async () => {
    const token = await idp.sign({ sub: account.sub, aud: apiAudience, exp: now() - 10 });
    expect((await me(token)).statusCode).toBe(200);
  });

  it('are refused from an issuer no org configured, whose keys are never fetched', async () => {
    stranger.accounts.set(account.sub, account);
    await expectRefused(await stranger.sign({ sub: account.sub, aud: apiAudience }));
    await expectRefused(await stranger.sign({ sub: account.sub, aud: stranger.clientId }));
    await expectRefused(await stranger.sign({ sub: account.sub, aud: idp.clientId }));
    expect(stranger.jwksFetches()).toBe(0);
  });

  it('are refused for another audience', async () => {
    await expectRefused(await idp.sign({ sub: account.sub, aud: 'someone-else' }));
    await expectRefused(await idp.sign({ sub: account.sub, aud: 'vlinders-api' }));
  });

  it("are refused when they are ID tokens (aud = the connection's client id), alone or beside the API audience", async () => {
    await expectRefused(await idp.sign({ sub: account.sub, aud: idp.clientId }));
    await expectRefused(await idp.sign({ sub: account.sub, aud: [apiAudience, idp.clientId] }));
    await expectRefused(
      await idp.sign({ sub: account.sub, aud: [idp.clientId, apiAudience], azp: idp.clientId }),
    );
  });

  it('are refused when expired beyond the tolerance, or not yet valid', async () => {
    await expectRefused(await idp.sign({ sub: account.sub, aud: apiAudience, exp: now() - 60 }));
    await expectRefused(await idp.sign({ sub: account.sub, aud: apiAudience, nbf: now() + 120 }));
  });

  it('are refused without an expiry', async () => {
    await expectRefused(await idp.sign({ sub: account.sub, aud: apiAudience }, { expiresIn: null }));
  });

  it('are refused with alg none', async () => {
    const claims = { iss: idp.issuer, aud: apiAudience, sub: account.sub, exp: now() + 300 };
    await expectRefused(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`);
    await expectRefused(`${b64({ alg: 'none', kid: idp.kid })}.${b64(claims)}.`);
  });

  it("are refused when HMAC-signed with the provider's public key", async () => {
    const secret = new TextEncoder().encode(await exportSPKI(idp.publicKey));
    const token = await new SignJWT({ sub: account.sub, aud: apiAudience })
      .setProtectedHeader({ alg: 'HS256', kid: idp.kid })
      .setIssuer(idp.issuer)
      .setExpirationTime('5m')
      .sign(secret);
    await expectRefused(token);
  });

  it('are refused with a tampered signature or payload', async () => {
    const token = await idp.sign({ sub: account.sub, aud: apiAudience });
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const flipped = `${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`;
    await expectRefused(`${header}.${payload}.${flipped}`);
    const other = addAccount(idp, []);
    const forged = b64({ iss: idp.issuer, aud: apiAudience, sub: other.sub, exp: now() + 300 });
    await expectRefused(`${header}.${forged}.${signature}`);
  });

  it('are refused when signed with a key the provider does not publish, after refetching its JWKS', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const before = idp.jwksFetches();
    await expectRefused(
      await idp.sign({ sub: account.sub, aud: apiAudience }, { kid: 'not-published', key: privateKey }),
    );
    expect(idp.jwksFetches()).toBeGreaterThan(before);
    // Under the provider's own kid, a foreign key's signature does not verify either.
    await expectRefused(await idp.sign({ sub: account.sub, aud: apiAudience }, { key: privateKey }));
  });

  it('are refused for a subject no user is linked to', async () => {
    const unlinked = addAccount(idp, ['vl-admins']);
    await expectRefused(await idp.sign({ sub: unlinked.sub, aud: apiAudience }));
  });

  it('are checked against the audience the connection names, when it names one', async () => {
    const second = await startCompanyIdp({ redirectUri });
    try {
      const audience = 'https://api.vlinders.test';
      const other = await orgWithConnection(t.app, admin, second, { audience });
      const employee = addAccount(second, []);
      expect((await ssoLogin(t.app, second, other.orgId, { account: employee.sub })).statusCode).toBe(200);
      expect((await me(await second.sign({ sub: employee.sub, aud: audience }))).statusCode).toBe(200);
      await expectRefused(await second.sign({ sub: employee.sub, aud: second.clientId }));

      // Deleting the connection ends its tokens at once.
      const removed = await t.app.inject({
        method: 'DELETE',
        url: `/api/orgs/${other.orgId}/sso`,
        headers: bearer(other.owner),
      });
      expect(removed.statusCode).toBe(204);
      await expectRefused(await second.sign({ sub: employee.sub, aud: audience }));
    } finally {
      await second.close();
    }
  });

  it('of a connection without an API audience are all refused, until the admin names one', async () => {
    const third = await startCompanyIdp({ redirectUri });
    try {
      const plain = await orgWithConnection(t.app, admin, third);
      const employee = addAccount(third, []);
      // The connection signs people in all the same.
      expect((await ssoLogin(t.app, third, plain.orgId, { account: employee.sub })).statusCode).toBe(200);
      await expectRefused(await third.sign({ sub: employee.sub, aud: third.clientId }));
      await expectRefused(await third.sign({ sub: employee.sub, aud: apiAudience }));

      const put = (audience: string) =>
        t.app.inject({
          method: 'PUT',
          url: `/api/orgs/${plain.orgId}/sso`,
          headers: bearer(plain.owner),
          payload: {
            issuer: third.issuer,
            clientId: third.clientId,
            allowedDomains: ['company.test'],
            roleMapping: { claim: 'groups', values: {}, default: 'member' },
            audience,
          },
        });
      // The client id as the API audience would let ID tokens in: refused, nothing stored.
      const same = await put(third.clientId);
      expect(same.statusCode, same.body).toBe(400);
      expect(errorCode(same)).toBe('VALIDATION');
      const stored = await admin.query<{ audience: string | null }>(
        'SELECT audience FROM sso_connections WHERE org_id = $1',
        [plain.orgId],
      );
      expect(stored.rows).toEqual([{ audience: null }]);

      expect((await put(apiAudience)).statusCode).toBe(200);
      expect((await me(await third.sign({ sub: employee.sub, aud: apiAudience }))).statusCode).toBe(200);
      await expectRefused(await third.sign({ sub: employee.sub, aud: third.clientId }));
    } finally {
      await third.close();
    }
  });
});
