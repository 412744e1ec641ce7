// Webhooks from outside systems, outside /api and /v1: POST /webhooks/stripe. The signature is
// verified on the raw body (Stripe signs the exact bytes), so this plugin's JSON parser keeps the
// Buffer; the event then goes to the tenant's subscription workflow (api/services/stripe-webhooks.ts).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Stripe from 'stripe';
import { AppError } from '../../errors.js';
import { errors } from '../../common-schemas.js';
import { StripeWebhookHeaders, WebhookReceipt } from './schemas.js';
import { isWellFormedEvent } from './stripe-events.js';
import { takeStripeEvent } from './stripe-webhooks.js';

/** Stripe's events are a few kilobytes; nothing legitimate comes near this. */
const webhookBodyLimit = 1024 * 1024;

type SignatureProblem = 'missing_signature' | 'stale_timestamp' | 'bad_signature';

function signatureError(problem: SignatureProblem, toleranceSeconds: number): AppError {
  const messages: Record<SignatureProblem, string> = {
    missing_signature: 'The stripe-signature header is missing.',
    stale_timestamp: `The Stripe signature's timestamp is more than ${toleranceSeconds} s old (a replayed event?).`,
    bad_signature:
      'The Stripe signature does not match the body (is STRIPE_WEBHOOK_SECRET the signing secret of this endpoint?).',
  };
  return new AppError('VALIDATION', messages[problem], { reason: problem });
}

const webhookRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const secret = app.config.STRIPE_WEBHOOK_SECRET;
  const tolerance = app.config.STRIPE_WEBHOOK_TOLERANCE_SECONDS;

  // Encapsulated: only this plugin's routes see the raw body.
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
    done(null, body);
  });

  app.post(
    '/webhooks/stripe',
    {
      bodyLimit: webhookBodyLimit,
      // The body is a Buffer: no NUL walk (the event's id and type are checked before they are stored).
      config: { bodyNeverStored: true },
      // The schema requires the header; this answers its absence first, with the reason a sender
      // can act on rather than the validator's wording.
      preValidation: async (request) => {
        if (!request.headers['stripe-signature']) throw signatureError('missing_signature', tolerance);
      },
      schema: {
        tags: ['webhooks'],
        summary:
          "Stripe's webhook endpoint: subscription and invoice events (signed with the endpoint secret)",
        headers: StripeWebhookHeaders,
        response: { 200: WebhookReceipt, ...errors(400, 413, 415, 503) },
      },
    },
    async (request) => {
      if (!secret) throw new AppError('UNAVAILABLE', 'Stripe webhooks are not configured.');
      const header = request.headers['stripe-signature'];
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      let event: Stripe.Event;
      try {
        event = Stripe.webhooks.constructEvent(raw, header, secret, tolerance);
      } catch (err) {
        // Signed, yet not JSON: only a sender holding the secret could make one.
        if (err instanceof SyntaxError) throw new AppError('VALIDATION', 'The body is not JSON.');
        if (!(err instanceof Stripe.errors.StripeSignatureVerificationError)) throw err;
        throw signatureError(/tolerance/i.test(err.message) ? 'stale_timestamp' : 'bad_signature', tolerance);
      }
      if (!isWellFormedEvent(event))
        throw new AppError('VALIDATION', 'The event lacks a valid id, type, created time or object.');
      return takeStripeEvent({ db: app.db, temporal: app.temporal, log: request.log }, event);
    },
  );
};

export default webhookRoutes;
