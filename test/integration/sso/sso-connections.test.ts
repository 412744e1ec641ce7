// Managing an org's SSO connection: owners and admins create, read, replace and delete it; the
// client secret is write-only and stored wrapped; bad configurations are refused before anything is
// stored; nobody outside the org can read or change it.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, useTestApp } from '../../support/app.js';
import { startCompanyIdp, type CompanyIdp } from '../../support/company-idp.js';
import {
  addMember,
  auditRows,
  bearer,
  errorCode,
  seedActiveOrg,
  signUp,
  useAdminPool,
} from '../api/helpers.js';
import {
  addAccount,
  companyDomain,
  orgWithConnection,
  redirectUri,
  roleMapping,
  ssoAppConfig,
  ssoLogin,
  type SsoOrg,
} from './support.js';

const t = useTestApp(ssoAppConfig);
const admin = useAdminPool();
let idp: CompanyIdp;
let org: SsoOrg;

beforeAll(async () => {
  idp = await startCompanyIdp({ redirectUri });
  org = await orgWithConnection(t.app, admin, idp);
});
afterAll(async () => {
  await idp?.close();
});

interface ConnectionRow {
  id: string;
  issuer: string;
  client_id: string;
  client_secret_wrapped: string;
  allowed_domains: string[];
  updated_at: Date;
}

async function connectionRow(orgId: string): Promise<ConnectionRow | undefined> {
  const { rows } = await admin.query<ConnectionRow>('SELECT * FROM sso_connections WHERE org_id = $1', [
    orgId,
  ]);
  return rows[0];
}

function put(orgId: string, token: { accessToken: string }, payload: Record<string, unknown>) {
  return t.app.inject({ method: 'PUT', url: `/api/orgs/${orgId}/sso`, headers: bearer(token), payload });
}

const validBody = () => ({
  issuer: idp.issuer,
  clientId: idp.clientId,
  clientSecret: idp.clientSecret,
  allowedDomains: [companyDomain],
  roleMapping,
});

describe('the SSO connection', () => {
  it('is shown without its client secret, which is stored wrapped, never in plain text', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: `/api/orgs/${org.orgId}/sso`,
      headers: bearer(org.owner),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      issuer: idp.issuer,
      clientId: idp.clientId,
      allowedDomains: [companyDomain],
      roleMapping,
      audience: null,
      redirectUri,
    });
    expect(res.body).not.toContain(idp.clientSecret);
    expect(Object.keys(res.json<object>())).not.toContain('clientSecret');

    const row = await connectionRow(org.orgId);
    expect(row?.client_secret_wrapped).toBeTruthy();
    expect(row?.client_secret_wrapped).not.toContain(idp.clientSecret);
    expect(row?.client_secret_wrapped).not.toContain(Buffer.from(idp.clientSecret).toString('base64url'));
    expect(row?.client_secret_wrapped).not.toContain(Buffer.from(idp.clientSecret).toString('base64'));

    const [created] = await auditRows(admin, { orgId: org.orgId, action: 'sso.connection_create' });
    expect(created?.actor_id).toBe(org.owner.id);
    expect(JSON.stringify(created?.details)).not.toContain(idp.clientSecret);
  });

  it('can be replaced without resending the secret, which keeps working', async () => {
    const { clientSecret: _kept, ...body } = validBody();
    const res = await put(org.orgId, org.owner, {
      ...body,
      allowedDomains: [companyDomain, 'subsidiary.test'],
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json<{ allowedDomains: string[] }>().allowedDomains).toEqual([
      companyDomain,
      'subsidiary.test',
    ]);
    const account = addAccount(idp, [], { email: `someone-${randomUUID().slice(0, 8)}@subsidiary.test` });
    // The code exchange authenticates with the stored secret: a sign-in proves it was kept.
    expect((await ssoLogin(t.app, idp, org.orgId, { account: account.sub })).statusCode).toBe(200);
    const updates = await auditRows(admin, { orgId: org.orgId, action: 'sso.connection_update' });
    expect(updates.at(-1)?.details).toMatchObject({ clientSecretChanged: false });
  });

  it('refuses bad configurations with 400 and stores nothing', async () => {
    const owner = await signUp(t.app, 'sso-bad');
    const orgId = await seedActiveOrg(admin, owner, 'Bad SSO');
    const { clientSecret: _missing, ...withoutSecret } = validBody();
    const cases: Record<string, unknown>[] = [
      withoutSecret,
      { ...validBody(), roleMapping: { ...roleMapping, default: 'owner' } },
      { ...validBody(), roleMapping: { ...roleMapping, values: { 'vl-owners': 'owner' } } },
      { ...validBody(), allowedDomains: [] },
      { ...validBody(), allowedDomains: ['Not A Domain'] },
      { ...validBody(), issuer: 'ftp://idp.example.test' },
      // Nothing listens there: no discovery document.
      { ...validBody(), issuer: 'http://127.0.0.1:1' },
      // A server that is no OpenID provider.
      { ...validBody(), issuer: `${idp.issuer}/nothing-here` },
    ];
    for (const payload of cases) {
      const res = await put(orgId, owner, payload);
      expect({ payload, status: res.statusCode, code: errorCode(res) }).toMatchObject({
        status: 400,
        code: 'VALIDATION',
      });
    }
    expect(await connectionRow(orgId)).toBeUndefined();
    expect(await auditRows(admin, { orgId })).toEqual([]);
  });

  it('refuses http issuers unless EGRESS_ALLOW_HTTP is set', async () => {
    const strict = await buildTestApp();
    try {
      const owner = await signUp(strict.app, 'sso-strict');
      const orgId = await seedActiveOrg(admin, owner, 'Strict SSO');
      const res = await strict.app.inject({
        method: 'PUT',
        url: `/api/orgs/${orgId}/sso`,
        headers: bearer(owner),
        payload: validBody(),
      });
      expect(res.statusCode).toBe(400);
      expect(res.json<{ error: { message: string } }>().error.message).toMatch(/https/);
      expect(await connectionRow(orgId)).toBeUndefined();
    } finally {
      await strict.close();
    }
  });

  it('refuses a second connection for the same issuer and audience (409)', async () => {
    const owner = await signUp(t.app, 'sso-twin');
    const orgId = await seedActiveOrg(admin, owner, 'Twin SSO');
    const res = await put(orgId, owner, validBody());
    expect(res.statusCode).toBe(409);
    expect(await connectionRow(orgId)).toBeUndefined();
    const distinct = await put(orgId, owner, { ...validBody(), audience: `urn:twin:${orgId}` });
    expect(distinct.statusCode).toBe(201);
  });

  it("cannot be read or changed by another org's members, nor by a plain member", async () => {
    const outsider = await signUp(t.app, 'sso-outsider');
    await seedActiveOrg(admin, outsider, 'Other org');
    const member = await signUp(t.app, 'sso-member');
    await addMember(admin, org.orgId, member.id, 'member');
    const before = await connectionRow(org.orgId);
    for (const [user, status] of [
      [outsider, 404],
      [member, 403],
    ] as const) {
      const url = `/api/orgs/${org.orgId}/sso`;
      const read = await t.app.inject({ method: 'GET', url, headers: bearer(user) });
      const change = await put(org.orgId, user, { ...validBody(), allowedDomains: ['attacker.test'] });
      const remove = await t.app.inject({ method: 'DELETE', url, headers: bearer(user) });
      expect([read.statusCode, change.statusCode, remove.statusCode]).toEqual([status, status, status]);
      expect(read.body).not.toContain(idp.issuer);
    }
    expect(await connectionRow(org.orgId)).toEqual(before);
  });

  it('forgets its identity links when it moves to another issuer', async () => {
    const other = await startCompanyIdp({ redirectUri });
    try {
      const moving = await orgWithConnection(t.app, admin, idp, { audience: `urn:moving:${randomUUID()}` });
      const account = addAccount(idp, []);
      expect((await ssoLogin(t.app, idp, moving.orgId, { account: account.sub })).statusCode).toBe(200);
      const links = async () =>
        (await admin.query('SELECT 1 FROM sso_identities WHERE org_id = $1', [moving.orgId])).rowCount;
      expect(await links()).toBe(1);
      const res = await put(moving.orgId, moving.owner, {
        ...validBody(),
        issuer: other.issuer,
        clientId: other.clientId,
        clientSecret: other.clientSecret,
      });
      expect(res.statusCode, res.body).toBe(200);
      expect(await links()).toBe(0);
    } finally {
      await other.close();
    }
  });

  it('is deleted with its identity links, audited', async () => {
    const gone = await orgWithConnection(t.app, admin, idp, { audience: `urn:gone:${randomUUID()}` });
    const account = addAccount(idp, []);
    expect((await ssoLogin(t.app, idp, gone.orgId, { account: account.sub })).statusCode).toBe(200);
    const url = `/api/orgs/${gone.orgId}/sso`;
    const res = await t.app.inject({ method: 'DELETE', url, headers: bearer(gone.owner) });
    expect(res.statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url, headers: bearer(gone.owner) })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'DELETE', url, headers: bearer(gone.owner) })).statusCode).toBe(404);
    expect((await admin.query('SELECT 1 FROM sso_identities WHERE org_id = $1', [gone.orgId])).rowCount).toBe(
      0,
    );
    expect(await auditRows(admin, { orgId: gone.orgId, action: 'sso.connection_delete' })).toHaveLength(1);
    expect((await t.app.inject({ method: 'GET', url: `/api/sso/${gone.orgId}/login` })).statusCode).toBe(404);
  });
});
