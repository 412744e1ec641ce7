// RFC 7662 introspection of the built-in server's JWT access tokens, as an attacker probes it: a
// token is active only while it verifies, its grant (a user's) or its client (a machine's) lives,
// and only to the client it was issued to — another client of the same org, a client of another
// org, or no client at all learns nothing. Expired, tampered, forged and foreign tokens are inactive.
import { decodeJwt, importJWK, SignJWT, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { privateSigningJwks } from '../../api/identity/signing-keys/signing-keys.js';
import { masterKeyFromConfig } from '../../runtime/envelope.js';
import { bearer, useAdminPool, type TestUser } from '../integration/api/helpers.js';
import {
  clientCall,
  createClient,
  exchangeCode,
  http,
  introspect as introspectAt,
  json,
  orgWithOwner,
  redirectUri,
  signInAndConsent,
  useListeningApp,
  type RegisteredClient,
  type TokenAnswer,
} from '../integration/oidc/support.js';

const t = useListeningApp();
const admin = useAdminPool();

let owner: TestUser;
let orgId: string;
let webClient: RegisteredClient;
let machine: RegisteredClient;
let sibling: RegisteredClient;
let stranger: RegisteredClient;
let signingJwk: JWK;

beforeAll(async () => {
  ({ owner, orgId } = await orgWithOwner(t, admin, 'introspect'));
  webClient = await createClient(t, owner, orgId, {
    name: 'Web app',
    grantTypes: ['authorization_code'],
    redirectUris: [redirectUri],
    scopes: ['inference', 'admin'],
  });
  const machineBody = { grantTypes: ['client_credentials'], scopes: ['inference', 'usage:read'] };
  machine = await createClient(t, owner, orgId, { name: 'Batch job', ...machineBody });
  sibling = await createClient(t, owner, orgId, { name: 'Another job', ...machineBody });
  const other = await orgWithOwner(t, admin, 'introspect-other');
  stranger = await createClient(t, other.owner, other.orgId, { name: 'Stranger', ...machineBody });
  const [newest] = await privateSigningJwks(t.app.db, masterKeyFromConfig(t.config));
  if (!newest) throw new Error('no signing key');
  signingJwk = newest;
});

const introspect = (client: RegisteredClient, token: string) => introspectAt(t.base, client, token);

async function machineToken(client: RegisteredClient = machine): Promise<string> {
  const res = await clientCall(t.base, 'token', client, {
    grant_type: 'client_credentials',
    scope: 'inference',
  });
  expect(res.status, res.text).toBe(200);
  return json<TokenAnswer>(res).access_token ?? '';
}

async function userTokens(): Promise<TokenAnswer> {
  const { code, verifier } = await signInAndConsent(t.base, webClient, owner);
  return exchangeCode(t.base, webClient, code, verifier);
}

/** A machine token re-signed with the platform's key, with the given claims changed. */
async function resigned(token: string, claims: Record<string, unknown>): Promise<string> {
  const key = await importJWK(signingJwk, 'RS256');
  return new SignJWT({ ...decodeJwt(token), ...claims })
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: signingJwk.kid })
    .sign(key);
}

const now = () => Math.floor(Date.now() / 1000);

describe('introspection of JWT access tokens (control)', () => {
  it("a user's live token is active for its client, with RFC 7662's claims", async () => {
    const tokens = await userTokens();
    const info = await introspect(webClient, tokens.access_token ?? '');
    const claims = decodeJwt(tokens.access_token ?? '');
    expect(info).toEqual({
      active: true,
      client_id: webClient.clientId,
      sub: owner.id,
      scope: expect.stringContaining('admin') as unknown,
      iss: `${t.base}/oidc`,
      aud: `${t.base}/api`,
      exp: claims.exp,
      iat: claims.iat,
      jti: claims.jti,
      token_type: 'Bearer',
    });
  });

  it("a machine client's live token is active for that client", async () => {
    const info = await introspect(machine, await machineToken());
    expect(info).toMatchObject({ active: true, client_id: machine.clientId, sub: machine.clientId });
    expect(info.scope).toBe('inference');
  });

  it('a token signed with the platform key and unchanged claims is active (the re-signing helper is sound)', async () => {
    expect((await introspect(machine, await resigned(await machineToken(), {}))).active).toBe(true);
  });
});

describe('introspection refuses to vouch', () => {
  const inactive = { active: false };

  it('for a token whose grant was revoked (its refresh token revoked)', async () => {
    const tokens = await userTokens();
    const res = await clientCall(t.base, 'token/revocation', webClient, {
      token: tokens.refresh_token ?? '',
      token_type_hint: 'refresh_token',
    });
    expect(res.status).toBe(200);
    expect(await introspect(webClient, tokens.access_token ?? '')).toEqual(inactive);
  });

  it('for a token whose machine client was revoked', async () => {
    const job = await createClient(t, owner, orgId, {
      name: 'Revoked job',
      grantTypes: ['client_credentials'],
      scopes: ['inference'],
    });
    const token = await machineToken(job);
    expect((await introspect(job, token)).active).toBe(true);
    const revoked = await t.app.inject({
      method: 'DELETE',
      url: `/api/orgs/${orgId}/oauth-clients/${job.clientId}`,
      headers: bearer(owner),
    });
    expect(revoked.statusCode).toBe(204);
    // The revoked client cannot authenticate any more; the org's other clients learn nothing either.
    expect((await clientCall(t.base, 'token/introspection', job, { token })).status).toBe(401);
    expect(await introspect(machine, token)).toEqual(inactive);
  });

  it('for an expired token', async () => {
    const token = await resigned(await machineToken(), { iat: now() - 120, exp: now() - 60 });
    expect(await introspect(machine, token)).toEqual(inactive);
  });

  it('for a tampered token (payload changed, signature kept)', async () => {
    const token = await machineToken();
    const [header, , signature] = token.split('.');
    const payload = Buffer.from(JSON.stringify({ ...decodeJwt(token), scope: 'admin' })).toString(
      'base64url',
    );
    expect(await introspect(machine, `${header}.${payload}.${signature}`)).toEqual(inactive);
  });

  it('for a JWT of another issuer', async () => {
    const token = await resigned(await machineToken(), { iss: 'https://idp.example' });
    expect(await introspect(machine, token)).toEqual(inactive);
  });

  it('to another client of the same org, and to a client of another org', async () => {
    const token = await machineToken();
    expect(await introspect(sibling, token)).toEqual(inactive);
    expect(await introspect(stranger, token)).toEqual(inactive);
    const user = (await userTokens()).access_token ?? '';
    expect(await introspect(machine, user)).toEqual(inactive);
    expect(await introspect(stranger, user)).toEqual(inactive);
  });

  it('to a caller that does not authenticate as a client (401 invalid_client), or with a wrong secret', async () => {
    const token = await machineToken();
    const anonymous = await http(`${t.base}/oidc/token/introspection`, {
      form: { token, client_id: machine.clientId },
    });
    expect(anonymous.status).toBe(401);
    expect(json<TokenAnswer>(anonymous).error).toBe('invalid_client');
    expect(anonymous.text).not.toContain('"active"');
    const wrong = await clientCall(
      t.base,
      'token/introspection',
      { ...machine, clientSecret: 'wrong' },
      { token },
    );
    expect(wrong.status).toBe(401);
  });
});
