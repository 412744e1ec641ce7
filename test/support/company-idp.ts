// A company's identity provider for the SSO tests: a real, independent oidc-provider on its own
// free port, with its own RSA signing key, one confidential client and accounts that carry an
// email and a `groups` claim. A tiny interaction handler stands in for the login page, so a test
// can sign an account in over HTTP (cookies kept by hand) or have the sign-in refused.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from 'jose';
import Provider from 'oidc-provider';
import { request } from 'undici';

export interface CompanyAccount {
  sub: string;
  email: string;
  name: string;
  groups: string[];
  emailVerified?: boolean;
}

/** What the person at the login page does: sign in as an account, or refuse. */
export type LoginChoice = { account: string } | { deny: true };

export interface CompanyIdp {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Accounts by subject; tests add accounts and change their groups. */
  accounts: Map<string, CompanyAccount>;
  /** The public half of the provider's signing key (as published in its JWKS). */
  publicKey: CryptoKey;
  /** The `kid` of the provider's signing key. */
  kid: string;
  /** How many times the JWKS was fetched. */
  jwksFetches(): number;
  /** Signs a JWT with the provider's own key, as if the provider had issued it. */
  sign(
    claims: JWTPayload,
    options?: { expiresIn?: string | null; kid?: string; key?: CryptoKey },
  ): Promise<string>;
  /** Follows an authorization URL through the provider; answers the redirect back to the client. */
  authorize(authorizationUrl: string, choice: LoginChoice): Promise<URL>;
  /** The account a real browser at the login page signs in as (its requests name none). */
  signBrowsersInAs(sub: string): void;
  close(): Promise<void>;
}

export async function startCompanyIdp(options: { redirectUri: string }): Promise<CompanyIdp> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = `company-${randomUUID().slice(0, 8)}`;
  const signingJwk = { ...(await exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
  const clientId = `vlinders-${randomUUID().slice(0, 8)}`;
  const clientSecret = randomUUID();
  const accounts = new Map<string, CompanyAccount>();
  let jwksFetches = 0;

  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
  const server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [options.redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [signingJwk] },
    cookies: { keys: [randomUUID()] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
      groups: ['groups'],
    },
    pkce: { required: () => true },
    ttl: {
      AccessToken: 300,
      AuthorizationCode: 60,
      Grant: 600,
      IdToken: 300,
      Interaction: 600,
      Session: 600,
    },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: (_ctx, sub) => {
      const account = accounts.get(sub);
      if (!account) return undefined;
      return {
        accountId: sub,
        claims: () => ({
          sub,
          email: account.email,
          email_verified: account.emailVerified ?? true,
          name: account.name,
          groups: account.groups,
        }),
      };
    },
  });
  const callback = provider.callback();
  let browserAccount: string | undefined;

  async function interaction(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const details = await provider.interactionDetails(req, res);
    const choice = new URL(req.url ?? '/', issuer).searchParams;
    if (choice.get('deny')) {
      await provider.interactionFinished(req, res, {
        error: 'access_denied',
        error_description: 'The person refused to sign in.',
      });
      return;
    }
    const accountId = choice.get('account') ?? browserAccount ?? '';
    const grant = new provider.Grant({ accountId, clientId: String(details.params.client_id) });
    grant.addOIDCScope(String(details.params.scope));
    const grantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
  }

  handler = (req, res) => {
    const path = new URL(req.url ?? '/', issuer).pathname;
    if (path === '/jwks') jwksFetches += 1;
    if (path.startsWith('/interaction/')) {
      interaction(req, res).catch((err: unknown) => {
        res.statusCode = 500;
        res.end(String(err));
      });
      return;
    }
    void callback(req, res);
  };

  return {
    issuer,
    clientId,
    clientSecret,
    accounts,
    publicKey,
    kid,
    jwksFetches: () => jwksFetches,
    sign: (claims, signOptions = {}) => {
      const jwt = new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: signOptions.kid ?? kid, typ: 'JWT' })
        .setIssuer(issuer)
        .setIssuedAt();
      // An explicit exp claim wins; null leaves the token without one.
      if (signOptions.expiresIn !== null && claims.exp === undefined)
        jwt.setExpirationTime(signOptions.expiresIn ?? '5m');
      return jwt.sign(signOptions.key ?? privateKey);
    },
    signBrowsersInAs: (sub) => {
      browserAccount = sub;
    },
    authorize: async (authorizationUrl, choice) => {
      const jar = new Map<string, string>();
      let next = new URL(authorizationUrl);
      for (let hop = 0; hop < 10; hop++) {
        if (next.origin !== new URL(issuer).origin) return next;
        if (next.pathname.startsWith('/interaction/')) {
          if ('deny' in choice) next.searchParams.set('deny', '1');
          else next.searchParams.set('account', choice.account);
        }
        const res = await request(next, {
          headers: { cookie: [...jar].map(([name, value]) => `${name}=${value}`).join('; ') },
        });
        const body = await res.body.text();
        const setCookie = res.headers['set-cookie'];
        for (const line of Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : []) {
          const [pair = ''] = line.split(';');
          const eq = pair.indexOf('=');
          jar.set(pair.slice(0, eq), pair.slice(eq + 1));
        }
        const location = res.headers.location;
        if (res.statusCode < 300 || res.statusCode >= 400 || typeof location !== 'string')
          throw new Error(`the identity provider answered ${res.statusCode} at ${next.pathname}: ${body}`);
        next = new URL(location, next);
      }
      throw new Error('the identity provider redirected too often');
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
