// Sign-in through an org's identity provider: anyone may start one (/api/sso/:orgId/login, a
// redirect to the provider) and finish it (/api/sso/callback, which answers the platform's own
// access and refresh tokens, as /api/auth/login does). A sign-in started from the authorization
// server's login page (/oidc/interaction/:uid/sso) instead ends with a redirect back to that
// interaction, carrying a one-time ticket, and no platform token.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { masterKeyFromConfig } from '../../../runtime/envelope.js';
import { errors } from '../../common-schemas.js';
import { AppError, type ErrorCode } from '../../errors.js';
import { interactionPath } from '../oidc/provider.js';
import { SsoCallbackQuery, SsoLoginParams, SsoRedirect, SsoSession } from './schemas.js';
import type { SsoSettings } from './connections.js';
import { finishSsoLogin, ssoStateCookie, ssoStateCookieHeader, startSsoLogin } from './login.js';

const tags = ['sso'];
/** The callback's answers that refuse the sign-in itself (a forged or replayed state, a token that fails, an unverified address). */
const refusedSignIn = new Set<ErrorCode>(['VALIDATION', 'UNAUTHENTICATED', 'FORBIDDEN', 'CONFLICT']);

function cookieValue(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [key, ...value] = part.trim().split('=');
    if (key === name) return value.join('=');
  }
  return undefined;
}

const ssoLogin: FastifyPluginAsyncTypebox = async (app) => {
  const settings: SsoSettings = {
    publicUrl: app.config.PUBLIC_URL,
    egress: app.egress,
    master: masterKeyFromConfig(app.config),
  };
  // The sign-in endpoints take no credential: they spend the caller's per-address budget.
  const admitAddress = async (request: FastifyRequest) => app.authThrottle.admitAddress(request.ip);

  app.get(
    '/api/sso/:orgId/login',
    {
      preHandler: admitAddress,
      schema: {
        tags,
        params: SsoLoginParams,
        response: { 302: SsoRedirect, ...errors(400, 404, 429) },
      },
    },
    async (request, reply) => {
      const { url, state } = await startSsoLogin(app.db, settings, request.params.orgId);
      return reply
        .code(302)
        .header('location', url)
        .header('set-cookie', ssoStateCookieHeader(state))
        .send({ location: url });
    },
  );

  app.get(
    '/api/sso/callback',
    {
      preHandler: admitAddress,
      schema: {
        tags,
        querystring: SsoCallbackQuery,
        response: { 200: SsoSession, 303: SsoRedirect, ...errors(400, 401, 403, 409, 429, 503) },
      },
    },
    async (request, reply) => {
      // The state cookie has done its job whatever the outcome.
      reply.header('set-cookie', ssoStateCookieHeader('', 0));
      const signedIn = await finishSsoLogin(
        app.db,
        { ...settings, refreshTtlSeconds: app.config.REFRESH_TOKEN_TTL_SECONDS },
        {
          search: request.url.slice(request.url.indexOf('?')),
          state: request.query.state,
          cookieState: cookieValue(request, ssoStateCookie),
          ip: request.ip,
        },
      ).catch((err: unknown) => {
        // A refused sign-in is a security event; an identity provider or database that does not answer is not.
        if (err instanceof AppError && refusedSignIn.has(err.code))
          app.securityEvents.loginFailed(request, 'sso', false, { reason: err.code });
        throw err;
      });
      if (signedIn.interactionUid !== null) {
        const location = `${interactionPath(signedIn.interactionUid)}/sso-complete?${new URLSearchParams({ ticket: signedIn.credential }).toString()}`;
        return reply
          .code(303)
          .header('cache-control', 'no-store')
          .header('location', location)
          .send({ location });
      }
      return {
        user: signedIn.user,
        orgId: signedIn.orgId,
        role: signedIn.role,
        refreshToken: signedIn.credential,
        tokenType: 'Bearer' as const,
        ...(await app.accessTokens.issue(signedIn.user.id)),
      };
    },
  );
};

export default ssoLogin;
