// A tenant's billing: /api/orgs/:orgId/billing and below. Reading needs `billing.read` (owner,
// admin, billing), changing `billing.manage` (owner, billing). None of these routes looks at the
// subscription's status: a suspended tenant must reach them to pay.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { isPlanName, plan } from '../../core/plans.js';
import { AppError } from '../errors.js';
import { requireSignedIn } from '../identity/auth-plugin.js';
import {
  BillingAccount,
  BillingUsage,
  CancelBody,
  ChangePlanBody,
  CheckoutBody,
  CheckoutSession,
  InvoicePage,
  InvoicesQuery,
  PortalSession,
} from './schemas.js';
import { errors, OrgParams } from '../common-schemas.js';
import { billingAccountView, memberCount, periodUsage, readBillingAccount } from './accounts.js';
import { createCheckout, createPortal, listInvoices, requireStripe } from './stripe-pages.js';
import { cancelSubscription, changePlan } from './subscription-updates.js';

/**
 * The schema bounds the seats per plan; this answers first, so the caller reads which plan allows how
 * many rather than the validator's account of every plan's shape.
 */
async function seatsWithinPlan(request: FastifyRequest): Promise<void> {
  const body = request.body as { plan?: unknown; seats?: unknown } | null;
  if (!body || !isPlanName(body.plan) || typeof body.seats !== 'number') return;
  const allowed = plan(body.plan).seats;
  if (body.seats > allowed)
    throw new AppError('VALIDATION', `The ${body.plan} plan allows at most ${allowed} seats.`, {
      field: 'seats',
    });
}

const tags = ['billing'];
const security = [{ bearer: [] }];
const base = '/api/orgs/:orgId/billing';

const billingRoutes: FastifyPluginAsyncTypebox = async (app) => {
  requireSignedIn(app);
  const publicUrl = app.config.PUBLIC_URL.replace(/\/$/, '');

  app.get(
    base,
    {
      config: { access: 'billing.read' },
      schema: {
        tags,
        summary: 'The plan, subscription status, seats, trial end and current period',
        security,
        params: OrgParams,
        response: { 200: BillingAccount, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => billingAccountView(await readBillingAccount(app.db, request.params.orgId)),
  );

  app.post(
    `${base}/plan`,
    {
      config: { access: 'billing.manage' },
      preValidation: seatsWithinPlan,
      schema: {
        tags,
        summary: 'Change the plan and seats (validated by the subscription workflow)',
        description:
          'Refused with 400 and the reason for fewer seats than members or more than the plan allows; 409 without a running subscription.',
        security,
        params: OrgParams,
        body: ChangePlanBody,
        response: { 200: BillingAccount, ...errors(400, 401, 403, 404, 409, 503) },
      },
    },
    async (request) => changePlan({ db: app.db, temporal: app.temporal }, request.params.orgId, request.body),
  );

  app.post(
    `${base}/cancel`,
    {
      config: { access: 'billing.manage' },
      schema: {
        tags,
        summary: 'Cancel the subscription, at the end of the paid period (default) or now',
        security,
        params: OrgParams,
        body: CancelBody,
        response: { 200: BillingAccount, ...errors(400, 401, 403, 404, 409, 503) },
      },
    },
    async (request) =>
      cancelSubscription(app.temporal, request.params.orgId, request.body.atPeriodEnd ?? true),
  );

  app.post(
    `${base}/checkout`,
    {
      config: { access: 'billing.manage' },
      preValidation: seatsWithinPlan,
      schema: {
        tags,
        summary: 'A Stripe Checkout page to subscribe to a plan (when there is no live subscription)',
        security,
        params: OrgParams,
        body: CheckoutBody,
        response: { 200: CheckoutSession, ...errors(400, 401, 403, 404, 409, 502, 503) },
      },
    },
    async (request) => {
      const { orgId } = request.params;
      const stripe = requireStripe(app.stripe);
      const account = await readBillingAccount(app.db, orgId);
      const members = await memberCount(app.db, orgId);
      const { plan, seats = Math.max(members, 1) } = request.body;
      return createCheckout(stripe, account, { plan, seats, members }, publicUrl);
    },
  );

  app.post(
    `${base}/portal`,
    {
      config: { access: 'billing.manage' },
      schema: {
        tags,
        summary: 'A Stripe customer portal session: pay invoices, manage payment methods',
        security,
        params: OrgParams,
        response: { 200: PortalSession, ...errors(400, 401, 403, 404, 502, 503) },
      },
    },
    async (request) => {
      const stripe = requireStripe(app.stripe);
      return createPortal(stripe, await readBillingAccount(app.db, request.params.orgId), publicUrl);
    },
  );

  app.get(
    `${base}/invoices`,
    {
      config: { access: 'billing.read' },
      schema: {
        tags,
        summary: "The organization's invoices, from Stripe, newest first",
        security,
        params: OrgParams,
        querystring: InvoicesQuery,
        response: { 200: InvoicePage, ...errors(400, 401, 403, 404, 502, 503) },
      },
    },
    async (request) => {
      const stripe = requireStripe(app.stripe);
      const account = await readBillingAccount(app.db, request.params.orgId);
      const { limit, startingAfter } = request.query;
      return listInvoices(stripe, account, { limit: limit ? Number(limit) : 12, startingAfter });
    },
  );

  app.get(
    `${base}/usage`,
    {
      config: { access: 'billing.read' },
      schema: {
        tags,
        summary: "This billing period's tokens against the plan's included tokens",
        security,
        params: OrgParams,
        response: { 200: BillingUsage, ...errors(400, 401, 403, 404) },
      },
    },
    async (request) => periodUsage(app.db, request.params.orgId),
  );
};

export default billingRoutes;
