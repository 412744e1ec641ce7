// Sign-up with email verification, password reset by mail, login, token refresh and logout; GET
// /api/me for the signed-in user.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import Type from 'typebox';
import { AppError } from '../../errors.js';
import { currentUser, requireSignedIn } from '../auth-plugin.js';
import { FileMailer } from '../../../activities/mail/mailer.js';
import {
  LoginBody,
  MailSent,
  PasswordResetBody,
  PasswordResetRequestBody,
  RefreshBody,
  Session,
  SignUpBody,
  TokenPair,
  Me,
  VerifyEmailBody,
} from './schemas.js';
import { errors } from '../../common-schemas.js';
import {
  getUser,
  logIn,
  requestPasswordReset,
  resetPassword,
  signUp,
  verifyEmail,
  type SignedIn,
} from './accounts.js';
import { AccountMailer, type EmailLinkSettings } from './email-links.js';
import { preparePasswordVerification } from './passwords.js';
import { RefreshTokenReusedError, revokeRefreshToken, rotateRefreshToken } from './refresh-tokens.js';

const tags = ['auth'];

const auth: FastifyPluginAsyncTypebox = async (app) => {
  const refreshTtl = app.config.REFRESH_TOKEN_TTL_SECONDS;
  const links: EmailLinkSettings = {
    verificationTtlHours: app.config.EMAIL_VERIFICATION_TTL_HOURS,
    resetTtlMinutes: app.config.PASSWORD_RESET_TTL_MINUTES,
    publicUrl: app.config.PUBLIC_URL,
  };
  const mail = new AccountMailer(app.db, new FileMailer(app.config.MAIL_DIR), app.config.MAIL_FROM, app.log);
  const sweep = setInterval(() => {
    mail.sweepUnsent().catch((err: unknown) => app.log.error({ err }, 'the account mail sweep failed'));
  }, 60_000);
  sweep.unref();
  app.addHook('onClose', async () => {
    clearInterval(sweep);
    await mail.settle();
  });
  // One answer for every address, known or not: what differs is only the mail its owner gets.
  const mailSent = {
    message: 'If the address can receive mail, a link is on its way: follow it to continue.',
  };
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
      schema: { tags, body: SignUpBody, response: { 202: MailSent, ...errors(400, 429) } },
    },
    async (request, reply) => {
      mail.deliverSoon(await signUp(app.db, request.body, links, request.ip));
      return reply.code(202).send(mailSent);
    },
  );

  app.post(
    '/api/auth/verify-email',
    {
      preHandler: admitAddress,
      schema: { tags, body: VerifyEmailBody, response: { 204: Type.Null(), ...errors(400, 401, 429) } },
    },
    async (request, reply) => {
      await verifyEmail(app.db, request.body.token, request.ip);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/auth/password-reset',
    {
      preHandler: admitAddress,
      schema: { tags, body: PasswordResetRequestBody, response: { 202: MailSent, ...errors(400, 429) } },
    },
    async (request, reply) => {
      const outboxId = await requestPasswordReset(app.db, request.body, links, request.ip);
      if (outboxId) mail.deliverSoon(outboxId);
      return reply.code(202).send(mailSent);
    },
  );

  app.post(
    '/api/auth/password-reset/confirm',
    {
      preHandler: admitAddress,
      schema: { tags, body: PasswordResetBody, response: { 204: Type.Null(), ...errors(400, 401, 429) } },
    },
    async (request, reply) => {
      await resetPassword(app.db, request.body, request.ip);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/auth/login',
    {
      preHandler: admitAddress,
      schema: { tags, body: LoginBody, response: { 200: Session, ...errors(400, 401, 403, 429) } },
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
        schema: { tags, security: [{ bearer: [] }], response: { 200: Me, ...errors(401) } },
      },
      async (request) => getUser(app.db, currentUser(request).id),
    );
  });
};

export default auth;
