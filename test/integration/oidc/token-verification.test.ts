// The API's verification of the authorization server's access tokens: only RS256 JWTs signed by a
// published key, from issuer PUBLIC_URL/oidc, for the API's audience, unexpired and untampered act
// as anyone; everything else is a 401 that changes nothing.
import { createPublicKey } from 'node:crypto';
import { decodeJwt, importJWK, SignJWT, type JWK } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { privateSigningJwks } from '../../../api/identity/signing-keys/signing-keys.js';
import { masterKeyFromConfig } from '../../../runtime/envelope.js';
import { useTestApp } from '../../support/app.js';
import { bearer, errorCode, useAdminPool } from '../api/helpers.js';
import { createClient, machineAccessToken, orgWithOwner, type RegisteredClient } from './support.js';

const t = useTestApp();
const admin = useAdminPool();
let machine: RegisteredClient;
let orgId: string;
let signingJwk: JWK;

beforeAll(async () => {
  const org = await orgWithOwner(t, admin, 'verify');
  orgId = org.orgId;
  machine = await createClient(t, org.owner, orgId, {
    name: 'machine',
    grantTypes: ['client_credentials'],
    scopes: ['inference'],
  });
  const [newest] = await privateSigningJwks(t.app.db, masterKeyFromConfig(t.config));
  if (!newest) throw new Error('no signing key');
  signingJwk = newest;
});

const issuedToken = () => machineAccessToken(t, machine);

/** A token signed with the platform's own key, with the given changes to a valid machine token's claims. */
async function forged(
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
): Promise<string> {
  const valid = decodeJwt(await issuedToken());
  const key = await importJWK(signingJwk, 'RS256');
  return new SignJWT({ ...valid, ...claims })
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: signingJwk.kid, ...header })
    .sign(key);
}

function keyRoute(token: string) {
  return t.app.inject({ method: 'GET', url: '/api/auth/key', headers: bearer({ accessToken: token }) });
}

function segments(token: string): [string, string, string] {
  const [h = '', p = '', s = ''] = token.split('.');
  return [h, p, s];
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('access tokens of the authorization server at the API', () => {
  it('accepts a token the server issued (inject reaches the mounted provider too)', async () => {
    const res = await keyRoute(await issuedToken());
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ orgId, scopes: ['inference'] });
  });

  it('accepts a token signed the same way (the forging helper is sound)', async () => {
    expect((await keyRoute(await forged({}))).statusCode).toBe(200);
  });

  it.each([
    ['a wrong audience', { aud: 'https://other.example/api' }],
    ['the platform audience', { aud: 'vlinders-api' }],
    ['a wrong issuer', { iss: 'https://evil.example/oidc' }],
    [
      'an expiry in the past',
      { exp: Math.floor(Date.now() / 1000) - 60, iat: Math.floor(Date.now() / 1000) - 120 },
    ],
    ['no client_id', { client_id: undefined }],
  ])('refuses a token with %s', async (_name, claims) => {
    const res = await keyRoute(await forged(claims));
    expect(res.statusCode).toBe(401);
    expect(errorCode(res)).toBe('INVALID_TOKEN');
  });

  it('refuses the wrong token type and an unknown kid', async () => {
    expect((await keyRoute(await forged({}, { typ: 'JWT' }))).statusCode).toBe(401);
    expect((await keyRoute(await forged({}, { kid: 'not-a-published-key' }))).statusCode).toBe(401);
  });

  it('refuses alg none', async () => {
    const [, payload] = segments(await issuedToken());
    const res = await keyRoute(`${b64({ alg: 'none', typ: 'at+jwt' })}.${payload}.`);
    expect(res.statusCode).toBe(401);
  });

  it('refuses HS256 signed with the public key as the secret', async () => {
    const publicPem = createPublicKey({ key: signingJwk, format: 'jwk' }).export({
      type: 'spki',
      format: 'pem',
    });
    const valid = decodeJwt(await issuedToken());
    const token = await new SignJWT(valid)
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: signingJwk.kid })
      .sign(Buffer.from(publicPem));
    expect((await keyRoute(token)).statusCode).toBe(401);
  });

  it('refuses a tampered payload and a tampered signature', async () => {
    const [header, payload, signature] = segments(await issuedToken());
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const widened = b64({ ...claims, scope: 'inference admin usage:read' });
    expect((await keyRoute(`${header}.${widened}.${signature}`)).statusCode).toBe(401);
    const flipped = `${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`;
    expect((await keyRoute(`${header}.${payload}.${flipped}`)).statusCode).toBe(401);
  });
});
