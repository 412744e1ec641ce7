// Sign-up, login, token refresh and logout; GET /api/me for the signed-in user.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import Type from 'typebox';
import { AppError } from '../../errors.js';
import { currentUser, requireSignedIn } from '../auth-plugin.js';
import { LoginBody, RefreshBody, Session, SignUpBody, TokenPair, User } from './schemas.js';
import { errors } from '../../common-schemas.js';
import { getUser, logIn, signUp, type SignedIn } from './accounts.js';
import { preparePasswordVerification } from './passwords.js';
import { RefreshTokenReusedError, revokeRefreshToken, rotateRefreshToken } from './refresh-tokens.js';

const tags = ['auth'];

const auth: FastifyPluginAsyncTypebox = async (app) => {
  const refreshTtl = app.config.REFRESH_TOKEN_TTL_SECONDS;
  await preparePasswordVerification();
  const throttle = app.authThrottle;
  // Every unauthenticated endpoint here spends the caller's per-address budget.
  const admitAddress = async (request: FastifyRequest) => throttle.admitAddress(request.ip);
  const session = async (signedIn: SignedIn) => ({
    user: signedIn.user,
    refreshToken: signedIn.refreshToken,
    tokenType: 'Bearer' as const,
    ...(await app.accessTokens.issue(signedIn.user.id)),
  });

  app.post(
    '/api/auth/signup',
    {
      preHandler: admitAddress,
      schema: { tags, body: SignUpBody, response: { 201: Session, ...errors(400, 409, 429) } },
    },
    async (request, reply) =>
      reply.code(201).send(await session(await signUp(app.db, request.body, refreshTtl, request.ip))),
  );

  app.post(
    '/api/auth/login',
    {
      preHandler: admitAddress,
      schema: { tags, body: LoginBody, response: { 200: Session, ...errors(400, 401, 429) } },
    },
    async (request) => {
      const { email } = request.body;
      await throttle.admitAccount(email);
      try {
        const signedIn = await logIn(app.db, request.body, refreshTtl, request.ip);
        await throttle.loginSucceeded(email);
        return session(signedIn);
      } catch (err) {
        if (err instanceof AppError && err.code === 'INVALID_CREDENTIALS') {
          const { locked } = await throttle.loginFailed(email);
          app.securityEvents.loginFailed(request, 'password', locked);
        }
        throw err;
      }
    },
  );

  app.post(
    '/api/auth/refresh',
    {
      preHandler: admitAddress,
      schema: { tags, body: RefreshBody, response: { 200: TokenPair, ...errors(400, 401, 429) } },
    },
    async (request) => {
      const { userId, refreshToken } = await rotateRefreshToken(
        app.db,
        request.body.refreshToken,
        refreshTtl,
        request.ip,
      ).catch((err: unknown) => {
        if (err instanceof RefreshTokenReusedError) app.securityEvents.refreshTokenReused(request, err.reuse);
        throw err;
      });
      return { refreshToken, tokenType: 'Bearer' as const, ...(await app.accessTokens.issue(userId)) };
    },
  );

  app.post(
    '/api/auth/logout',
    {
      preHandler: admitAddress,
      schema: { tags, body: RefreshBody, response: { 204: Type.Null(), ...errors(400, 429) } },
    },
    async (request, reply) => {
      await revokeRefreshToken(app.db, request.body.refreshToken, request.ip);
      return reply.code(204).send(null);
    },
  );

  await app.register(async (signedIn) => {
    requireSignedIn(signedIn);
    signedIn.get(
      '/api/me',
      {
        config: { access: 'signed-in' },
        schema: { tags, security: [{ bearer: [] }], response: { 200: User, ...errors(401) } },
      },
      async (request) => getUser(app.db, currentUser(request).id),
    );
  });
};

export default auth;
