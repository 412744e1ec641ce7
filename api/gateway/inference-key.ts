// Who may call /v1: an API key or a machine client's token (a user's token is not one) of an org
// whose subscription serves inference. The key's IP allow-list is checked when it is verified, once
// for every later step. Every /v1 route runs this first (onRequest, before the body is read: a
// stranger costs no parsing).
import type { FastifyRequest } from 'fastify';
import { servesInference } from '../../core/billing.js';
import { authorizeKey } from '../../core/policy.js';
import { InferenceError } from '../errors.js';
import type { VerifiedKey } from '../identity/api-keys/verifier.js';

export function inferenceKeyHook(
  authenticate: (request: FastifyRequest) => Promise<void>,
): (request: FastifyRequest) => Promise<void> {
  return async (request) => {
    await authenticate(request);
    const key = request.apiKey;
    if (!key)
      throw new InferenceError('UNAUTHENTICATED', 'invalid_api_key', 'The inference API takes an API key.', {
        type: 'authentication_error',
      });
    if (!servesInference(key.subscriptionStatus)) throw subscriptionRefusal(key);
  };
}

/** The verified key of a request that passed the hook. */
export function inferenceKeyOf(request: FastifyRequest): VerifiedKey {
  if (!request.apiKey) throw new InferenceError('UNAUTHENTICATED', 'invalid_api_key', 'No API key.');
  return request.apiKey;
}

/** Files and vector stores are inputs to inference: a key that may call no model may not keep them. */
export function requireFilesAccess(key: VerifiedKey): void {
  if (!authorizeKey(key, 'files', {}))
    throw new InferenceError(
      'FORBIDDEN',
      'insufficient_permissions',
      'This key may not call any model, so it may not keep files or vector stores.',
      { type: 'invalid_request_error' },
    );
}

/** The refusal of a tenant whose subscription does not serve inference: it pays through the billing routes. */
function subscriptionRefusal(key: VerifiedKey): InferenceError {
  const billing = `/api/orgs/${key.orgId}/billing`;
  return new InferenceError(
    'SUBSCRIPTION_INACTIVE',
    `subscription_${key.subscriptionStatus}`,
    key.subscriptionStatus === 'suspended'
      ? `This organization's subscription is suspended for an unpaid invoice. Pay it through ${billing}/portal (or see ${billing}/invoices); inference resumes within seconds of the payment.`
      : `This organization's subscription is canceled. Subscribe again through ${billing}/checkout to resume inference.`,
  );
}
