import Type from 'typebox';
import { plan, planNames, type PlanName } from '../../core/plans.js';
import { subscriptionStatuses } from '../../core/billing.js';
import { Timestamp, Uuid } from '../common-schemas.js';

const PlanName = Type.Enum(planNames, { description: `one of ${planNames.join(', ')}` });
const Status = Type.Enum(subscriptionStatuses, {
  description: 'suspended and canceled tenants are refused on /v1 (past_due is still served)',
});
const MaybeTime = Type.Union([Timestamp, Type.Null()]);

export const BillingAccount = Type.Object({
  orgId: Uuid,
  plan: PlanName,
  status: Status,
  seats: Type.Integer(),
  trialEndsAt: MaybeTime,
  currentPeriodStart: MaybeTime,
  currentPeriodEnd: MaybeTime,
  cancelAtPeriodEnd: Type.Boolean(),
});

/** Seats on a plan: at least one, at most what the plan allows (core/plans.ts). */
const planSeats = (name: PlanName, description: string) =>
  Type.Integer({
    minimum: 1,
    maximum: plan(name).seats,
    description: `${description}; ${name}: 1 to ${plan(name).seats}`,
  });

/**
 * One shape per plan, so that the document says how many seats each plan allows. The union is built
 * from the catalog, so its static type is declared (TypeBox infers unions of tuples only).
 */
export const ChangePlanBody = Type.Unsafe<{ plan: PlanName; seats: number }>(
  Type.Union(
    planNames.map((name) =>
      Type.Object(
        { plan: Type.Literal(name), seats: planSeats(name, 'paid seats, at least the members the org has') },
        { additionalProperties: false },
      ),
    ),
  ),
);

export const CancelBody = Type.Object(
  {
    atPeriodEnd: Type.Optional(
      Type.Boolean({ description: 'true (default): at the end of the paid period; false: now' }),
    ),
  },
  { additionalProperties: false },
);

export const CheckoutBody = Type.Unsafe<{ plan: PlanName; seats?: number }>(
  Type.Union(
    planNames.map((name) =>
      Type.Object(
        {
          plan: Type.Literal(name),
          seats: Type.Optional(planSeats(name, "paid seats, default the org's member count")),
        },
        { additionalProperties: false },
      ),
    ),
  ),
);

export const CheckoutSession = Type.Object({
  sessionId: Type.String(),
  url: Type.String({ description: "Stripe Checkout's page: send the tenant's browser there" }),
});

export const PortalSession = Type.Object({
  url: Type.String({ description: "Stripe's customer portal: payment methods, invoices, cancellation" }),
});

// Query strings arrive as text and the validator does not coerce types, so numbers are patterns.
export const InvoicesQuery = Type.Object(
  {
    limit: Type.Optional(
      Type.String({ pattern: '^(100|[1-9][0-9]?)$', description: 'page size, 1 to 100 (default 12)' }),
    ),
    startingAfter: Type.Optional(
      Type.String({ pattern: '^in_[A-Za-z0-9]{1,64}$', description: 'nextCursor of the previous page' }),
    ),
  },
  { additionalProperties: false },
);

export const Invoice = Type.Object({
  id: Type.String(),
  number: Type.Union([Type.String(), Type.Null()]),
  status: Type.Union([Type.String(), Type.Null()], { description: 'draft, open, paid, uncollectible, void' }),
  amountDue: Type.Integer({ description: "in the currency's smallest unit (cents)" }),
  amountPaid: Type.Integer(),
  currency: Type.String(),
  periodStart: Timestamp,
  periodEnd: Timestamp,
  createdAt: Timestamp,
  hostedInvoiceUrl: Type.Union([Type.String(), Type.Null()], { description: 'where the tenant can pay it' }),
});

export const InvoicePage = Type.Object({
  invoices: Type.Array(Invoice, { description: 'newest first' }),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

export const BillingUsage = Type.Object({
  orgId: Uuid,
  plan: PlanName,
  periodStart: Timestamp,
  periodEnd: Timestamp,
  usedTokens: Type.Integer({ description: 'prompt + completion tokens metered this period' }),
  includedTokens: Type.Integer({ description: "what the plan's flat fee covers" }),
  percent: Type.Number({ description: 'usedTokens / includedTokens, in percent (one decimal)' }),
  overageTokens: Type.Integer({ description: 'tokens past the included ones' }),
  overage: Type.Union([Type.Literal('bill'), Type.Literal('block')], {
    description: 'bill: overage is billed per token; block: requests stop at the quota',
  }),
});
