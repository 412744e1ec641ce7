// Part of the Stripe STAND-IN (tests and `up`). stripe-mock is stateless: it answers every price list with one fixture price without a lookup
// key, and every created customer or subscription with the same fixture id. These hooks on a
// StripeRecorder make it look like one Stripe account: the plan catalog's prices (core/plans.ts
// lookup keys), and a fresh id per created customer and subscription (billing_accounts keeps
// them unique). Everything else still reaches stripe-mock, which validates each request.
import { randomBytes } from 'node:crypto';
import type { InterceptedAnswer, RecordedStripeRequest, StripeRecorder } from './stripe-recorder.js';

const freshId = (prefix: string) => `${prefix}_${randomBytes(8).toString('hex')}`;

/**
 * Stripe's answer to a price list by lookup keys: one active price per key asked for (stripe-mock's
 * fixture price has none of ours), except those in `missing`. Undefined for any other request.
 */
export function priceList(
  request: RecordedStripeRequest,
  missing: string[] = [],
): InterceptedAnswer | undefined {
  if (request.method !== 'GET' || request.path !== '/v1/prices') return undefined;
  const keys = Object.entries(request.params)
    .filter(([name]) => name.startsWith('lookup_keys'))
    .map(([, key]) => key)
    .filter((key) => !missing.includes(key));
  return {
    status: 200,
    body: {
      object: 'list',
      url: '/v1/prices',
      has_more: false,
      data: keys.map((key) => ({ id: `price_${key}`, object: 'price', lookup_key: key, active: true })),
    },
  };
}

export function actAsStripeAccount(recorder: StripeRecorder): StripeRecorder {
  recorder.intercept = (request) => priceList(request);
  recorder.rewrite = (request, body) => {
    if (request.method !== 'POST') return body;
    if (request.path === '/v1/customers') return { ...body, id: freshId('cus') };
    if (request.path === '/v1/subscriptions') return { ...body, id: freshId('sub') };
    return body;
  };
  return recorder;
}
