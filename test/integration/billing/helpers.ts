// Billing test helpers: a tenant's billing account written as the subscription workflow's
// activities would, and Stripe webhook deliveries signed like Stripe signs them.
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow/index.js';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type pg from 'pg';
import Stripe from 'stripe';
import type { SubscriptionStatus } from '../../../core/billing.js';
import type { PlanName } from '../../../core/plans.js';
import { stripeWebhookSecret } from '../../support/config.js';

export interface AccountSeed {
  plan?: PlanName;
  seats?: number;
  status?: SubscriptionStatus;
  stripeSubscriptionId?: string | null;
  currentPeriodStart?: Date | null;
  currentPeriodEnd?: Date | null;
}

/** Writes the org's billing account and its status on the org; answers the Stripe customer id. */
export async function seedBillingAccount(
  admin: pg.Pool,
  orgId: string,
  seed: AccountSeed = {},
): Promise<string> {
  const customerId = `cus_${randomUUID().replaceAll('-', '').slice(0, 14)}`;
  const status = seed.status ?? 'active';
  const plan = seed.plan ?? 'developer';
  await admin.query(
    `INSERT INTO billing_accounts (org_id, stripe_customer_id, stripe_subscription_id, plan, seats, status,
       current_period_start, current_period_end)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      orgId,
      customerId,
      seed.stripeSubscriptionId === undefined ? `sub_${randomUUID().slice(0, 8)}` : seed.stripeSubscriptionId,
      plan,
      seed.seats ?? 3,
      status,
      seed.currentPeriodStart ?? null,
      seed.currentPeriodEnd ?? null,
    ],
  );
  await admin.query('UPDATE organizations SET plan = $2, subscription_status = $3 WHERE id = $1', [
    orgId,
    plan,
    status,
  ]);
  return customerId;
}

export interface Delivery {
  /** Unix seconds of the signature (default now). */
  timestamp?: number;
  secret?: string;
  /** A stripe-signature header to send as is (null: none). */
  signature?: string | null;
}

/** POSTs an event to /webhooks/stripe as Stripe would: the JSON body signed with the endpoint secret. */
export function deliver(
  app: FastifyInstance,
  event: Record<string, unknown>,
  delivery: Delivery = {},
): Promise<LightMyRequestResponse> {
  const payload = JSON.stringify(event);
  const signature =
    delivery.signature === undefined
      ? Stripe.webhooks.generateTestHeaderString({
          payload,
          secret: delivery.secret ?? stripeWebhookSecret,
          ...(delivery.timestamp !== undefined && { timestamp: delivery.timestamp }),
        })
      : delivery.signature;
  return app.inject({
    method: 'POST',
    url: '/webhooks/stripe',
    headers: {
      'content-type': 'application/json; charset=utf-8',
      ...(signature !== null && { 'stripe-signature': signature }),
    },
    payload,
  });
}

export const eventId = () => `evt_${randomUUID().replaceAll('-', '')}`;

export type TestEvent = Record<string, unknown> & { id: string; type: string; created: number };

/** A Stripe event around its object. */
export function stripeEvent(type: string, object: Record<string, unknown>, created: number): TestEvent {
  return {
    id: eventId(),
    object: 'event',
    api_version: '2026-10-28.endive',
    type,
    created,
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    data: { object },
  };
}

/** The signals and the start input of a workflow, decoded by the client's own data converter. */
export async function workflowMessages(
  temporal: Client,
  workflowId: string,
): Promise<{ input: unknown[]; signals: { name: string; args: unknown[] }[] }> {
  const history = await temporal.workflow.getHandle(workflowId).fetchHistory();
  const converter = temporal.options.loadedDataConverter;
  const events = history.events ?? [];
  const started = events[0]?.workflowExecutionStartedEventAttributes;
  const signals = [];
  for (const event of events) {
    const signaled = event.workflowExecutionSignaledEventAttributes;
    if (!signaled) continue;
    signals.push({
      name: signaled.signalName ?? '',
      args: await decodeArrayFromPayloads(converter, signaled.input?.payloads),
    });
  }
  return { input: await decodeArrayFromPayloads(converter, started?.input?.payloads), signals };
}
