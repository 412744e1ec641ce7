// The authorization server's interactions: minimal server-rendered pages under
// /oidc/interaction/:uid. Login checks the platform's own users (accounts service, with the same
// per-address budget and per-account lockout as /api/auth/login); consent grants the scopes the
// client asked for. The interaction cookie (signed, httpOnly, SameSite=Lax) ties each page to the
// browser that started the authorization request, so a cross-site form cannot complete it.
//
// The login page also signs in through an org's identity provider: the person names the org by its
// slug (never guessed from an email domain, which two orgs may share), the platform's SSO sign-in
// runs with this interaction's uid kept in its server-side row, and its callback sends the browser
// back to /oidc/interaction/:uid/sso-complete with a one-time ticket for the signed-in user.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errors as oidcErrors, type InteractionResults, type Provider } from 'oidc-provider';
import Type from 'typebox';
import { masterKeyFromConfig } from '../../../runtime/envelope.js';
import { AppError, RateLimitError } from '../../errors.js';
import { checkPassword } from '../accounts/accounts.js';
import type { AuthThrottle } from '../auth-throttle.js';
import { takeInteractionTicket } from '../sso/interaction-tickets.js';
import { orgIdBySlug, ssoStateCookieHeader, startSsoLogin } from '../sso/login.js';
import type { OidcHost } from './host.js';
import { escapeHtml, interactionPath, page } from './provider.js';

export interface InteractionOptions {
  host: OidcHost;
  throttle: AuthThrottle;
}

const UidParams = Type.Object({ uid: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }) });
const LoginForm = Type.Object({
  email: Type.String({ minLength: 1, maxLength: 254 }),
  password: Type.String({ minLength: 1, maxLength: 1024 }),
});
// Loose on purpose: a slug of the wrong shape gets the same answer as an unknown one.
const SsoForm = Type.Object({ slug: Type.String({ minLength: 1, maxLength: 100 }) });
const SsoCompleteQuery = Type.Object({ ticket: Type.String({ minLength: 1, maxLength: 100 }) });

/** One answer for an unknown slug and an org without single sign-on: the page tells no org apart. */
const noSsoOrg = 'No organization with this name signs in through single sign-on.';

type InteractionDetails = Awaited<ReturnType<Provider['interactionDetails']>>;

async function detailsOf(provider: Provider, request: FastifyRequest, reply: FastifyReply) {
  try {
    return await provider.interactionDetails(request.raw, reply.raw);
  } catch (err) {
    if (err instanceof oidcErrors.SessionNotFound)
      throw new AppError('NOT_FOUND', 'The sign-in request expired or does not exist; start again.');
    throw err;
  }
}

/** The pages may submit to themselves and the resulting redirects may reach the client's redirect URI. */
function sendPage(reply: FastifyReply, details: InteractionDetails, status: number, html: string) {
  const redirectUri = details.params.redirect_uri;
  const clientOrigin = typeof redirectUri === 'string' ? new URL(redirectUri).origin : '';
  return reply
    .code(status)
    .header('cache-control', 'no-store')
    .header(
      'content-security-policy',
      `default-src 'none'; form-action 'self' ${clientOrigin}; frame-ancestors 'none'`,
    )
    .type('text/html; charset=utf-8')
    .send(html);
}

function loginPage(uid: string, clientName: string, error?: string): string {
  return page(
    'Sign in to Vlinders',
    `<p>${escapeHtml(clientName)} asks you to sign in.</p>` +
      (error ? `<p role="alert">${escapeHtml(error)}</p>` : '') +
      `<form method="post" action="${interactionPath(uid)}/login">` +
      `<label>Email <input type="email" name="email" autocomplete="username" required></label>` +
      `<label>Password <input type="password" name="password" autocomplete="current-password" required></label>` +
      `<button type="submit">Sign in</button></form>` +
      `<h2>Sign in with your organization's single sign-on</h2>` +
      `<form method="post" action="${interactionPath(uid)}/sso">` +
      `<label>Organization <input type="text" name="slug" autocomplete="organization" required></label>` +
      `<button type="submit">Continue</button></form>`,
  );
}

/**
 * Leaves for the identity provider with a page of its own rather than a redirect: a redirect after
 * the form's POST would be checked against the login page's form-action, which cannot name every
 * org's provider. A meta refresh is a new navigation (and a link is there should it be blocked).
 */
function sendLeavingPage(reply: FastifyReply, url: string) {
  const href = escapeHtml(url);
  return reply
    .code(200)
    .header('cache-control', 'no-store')
    .header('referrer-policy', 'no-referrer')
    .header('content-security-policy', "default-src 'none'; form-action 'none'; frame-ancestors 'none'")
    .type('text/html; charset=utf-8')
    .send(
      page(
        'Continue to your organization',
        `<p><a href="${href}">Continue to your organization's sign-in page.</a></p>`,
        `<meta http-equiv="refresh" content="0; url=${href}">`,
      ),
    );
}

function consentPage(uid: string, clientName: string, scopes: string[]): string {
  const items = scopes.map((s) => `<li>${escapeHtml(s)}</li>`).join('');
  return page(
    'Allow access?',
    `<p>${escapeHtml(clientName)} asks for:</p><ul>${items}</ul>` +
      `<form method="post" action="${interactionPath(uid)}/confirm"><button type="submit">Allow</button></form>` +
      `<form method="post" action="${interactionPath(uid)}/abort"><button type="submit">Deny</button></form>`,
  );
}

/** The scopes a consent prompt asks for: OpenID scopes and the API's scopes. */
function requestedScopes(details: InteractionDetails): { oidc: string[]; api: Record<string, string[]> } {
  const prompt = details.prompt.details as {
    missingOIDCScope?: string[];
    missingResourceScopes?: Record<string, string[]>;
  };
  return { oidc: prompt.missingOIDCScope ?? [], api: prompt.missingResourceScopes ?? {} };
}

async function clientName(provider: Provider, details: InteractionDetails): Promise<string> {
  const client = await provider.Client.find(String(details.params.client_id));
  return client?.clientName ?? client?.clientId ?? 'An application';
}

const interactions: FastifyPluginAsyncTypebox<InteractionOptions> = async (app, { host, throttle }) => {
  const ssoSettings = {
    publicUrl: app.config.PUBLIC_URL,
    egress: app.egress,
    master: masterKeyFromConfig(app.config),
  };
  // The pages post plain HTML forms.
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );

  const finish = async (
    request: FastifyRequest,
    reply: FastifyReply,
    result: InteractionResults,
    mergeWithLastSubmission = false,
  ) => {
    const { provider } = await host.current();
    const redirectTo = await provider.interactionResult(request.raw, reply.raw, result, {
      mergeWithLastSubmission,
    });
    return reply.header('cache-control', 'no-store').redirect(redirectTo, 303);
  };

  /** The interaction behind a form of the login page, which must be waiting for a login; and its client's name. */
  const loginStep = async (request: FastifyRequest, reply: FastifyReply) => {
    const { provider } = await host.current();
    const details = await detailsOf(provider, request, reply);
    if (details.prompt.name !== 'login')
      throw new AppError('CONFLICT', 'This step does not ask for a login.');
    return { details, name: await clientName(provider, details) };
  };

  app.get('/oidc/interaction/:uid', { schema: { hide: true, params: UidParams } }, async (request, reply) => {
    const { provider } = await host.current();
    const details = await detailsOf(provider, request, reply);
    const name = await clientName(provider, details);
    if (details.prompt.name === 'login') return sendPage(reply, details, 200, loginPage(details.uid, name));
    const { oidc, api } = requestedScopes(details);
    return sendPage(
      reply,
      details,
      200,
      consentPage(details.uid, name, [...oidc, ...Object.values(api).flat()]),
    );
  });

  app.post(
    '/oidc/interaction/:uid/login',
    { schema: { hide: true, params: UidParams, body: LoginForm } },
    async (request, reply) => {
      const { details, name } = await loginStep(request, reply);
      const { email, password } = request.body;
      try {
        await throttle.admitAddress(request.ip);
        await throttle.admitAccount(email);
        const user = await checkPassword(app.db, { email, password }, request.ip);
        await throttle.loginSucceeded(email);
        return await finish(request, reply, { login: { accountId: user.id } });
      } catch (err) {
        if (err instanceof RateLimitError) {
          reply.header('retry-after', String(err.retryAfterSeconds));
          return sendPage(reply, details, 429, loginPage(details.uid, name, err.message));
        }
        // The right password of an account whose address was never verified.
        if (err instanceof AppError && err.code === 'EMAIL_NOT_VERIFIED')
          return sendPage(reply, details, 403, loginPage(details.uid, name, err.message));
        if (!(err instanceof AppError) || err.code !== 'INVALID_CREDENTIALS') throw err;
        const { locked } = await throttle.loginFailed(email);
        app.securityEvents.loginFailed(request, 'oidc-login', locked);
        return sendPage(reply, details, 401, loginPage(details.uid, name, err.message));
      }
    },
  );

  app.post(
    '/oidc/interaction/:uid/sso',
    { schema: { hide: true, params: UidParams, body: SsoForm } },
    async (request, reply) => {
      const { details, name } = await loginStep(request, reply);
      try {
        // Starting a sign-in takes no credential: it spends the address's budget, as /api/sso/:orgId/login does.
        await throttle.admitAddress(request.ip);
      } catch (err) {
        if (!(err instanceof RateLimitError)) throw err;
        reply.header('retry-after', String(err.retryAfterSeconds));
        return sendPage(reply, details, 429, loginPage(details.uid, name, err.message));
      }
      const orgId = await orgIdBySlug(app.db, request.body.slug.trim().toLowerCase());
      const started = orgId
        ? await startSsoLogin(app.db, ssoSettings, orgId, details.uid).catch((err: unknown) => {
            if (err instanceof AppError && err.code === 'NOT_FOUND') return undefined;
            throw err;
          })
        : undefined;
      if (!started) return sendPage(reply, details, 404, loginPage(details.uid, name, noSsoOrg));
      reply.header('set-cookie', ssoStateCookieHeader(started.state));
      return sendLeavingPage(reply, started.url);
    },
  );

  app.get(
    '/oidc/interaction/:uid/sso-complete',
    { schema: { hide: true, params: UidParams, querystring: SsoCompleteQuery } },
    async (request, reply) => {
      const { details, name } = await loginStep(request, reply);
      let userId: string;
      try {
        userId = await takeInteractionTicket(app.db, request.query.ticket, details.uid);
      } catch (err) {
        if (!(err instanceof AppError) || err.code !== 'VALIDATION') throw err;
        return sendPage(reply, details, 400, loginPage(details.uid, name, err.message));
      }
      return finish(request, reply, { login: { accountId: userId } });
    },
  );

  app.post(
    '/oidc/interaction/:uid/confirm',
    { schema: { hide: true, params: UidParams } },
    async (request, reply) => {
      const { provider } = await host.current();
      const details = await detailsOf(provider, request, reply);
      const accountId = details.session?.accountId;
      if (details.prompt.name !== 'consent' || !accountId)
        throw new AppError('CONFLICT', 'This step does not ask for consent.');
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId, clientId: String(details.params.client_id) });
      if (!grant) throw new AppError('NOT_FOUND', 'The grant no longer exists; start again.');
      const { oidc, api } = requestedScopes(details);
      if (oidc.length > 0) grant.addOIDCScope(oidc.join(' '));
      for (const [indicator, scopes] of Object.entries(api))
        grant.addResourceScope(indicator, scopes.join(' '));
      const grantId = await grant.save();
      return finish(request, reply, { consent: { grantId } }, true);
    },
  );

  app.post(
    '/oidc/interaction/:uid/abort',
    { schema: { hide: true, params: UidParams } },
    async (request, reply) => {
      const { provider } = await host.current();
      await detailsOf(provider, request, reply);
      return finish(request, reply, { error: 'access_denied', error_description: 'The user denied access.' });
    },
  );
};

export default interactions;
