// The plan catalog: what each plan lets an organization do on the inference path and what it costs.
// Pure data, no I/O (workflows import it). Entitlements are a plan plus the subscription's state.

export const planNames = ['free', 'developer', 'team', 'enterprise'] as const;
export type PlanName = (typeof planNames)[number];

export interface PlanLimits {
  /** Per organization, across all its keys (a key may carry its own lower limits). */
  requestsPerMinute: number;
  tokensPerMinute: number;
  /** Requests in flight at once, per organization. */
  concurrentRequests: number;
  /** Tokens per calendar month (UTC), per organization. */
  monthlyTokens: number;
  /** The cap on a request's max_tokens. */
  maxTokensPerRequest: number;
  /** The models the plan may call; null means every model. */
  models: readonly string[] | null;
}

/**
 * Stripe prices by lookup key (operators create prices with these keys in their Stripe account, so
 * the catalog never holds account-specific ids): a flat monthly fee per seat and metered prices
 * for input and output tokens, each attached to the Billing Meter of core/billing.ts.
 */
export interface PlanPrices {
  flat: string;
  inputTokens: string;
  outputTokens: string;
}

export interface PlanBilling {
  prices: PlanPrices;
  /** Tokens a month that the flat fee covers; quota notices count against this. */
  includedTokens: number;
  /** Past the included tokens: 'bill' reports the overage to Stripe, 'block' stops at the quota. */
  overage: 'bill' | 'block';
  /** Members the plan allows; a plan change below the org's member count is refused. */
  seats: number;
  /** Days of trial a new subscription on this plan starts with (0: none). */
  trialDays: number;
}

export type Plan = PlanLimits & PlanBilling & { name: PlanName };

function prices(plan: PlanName): PlanPrices {
  return {
    flat: `vlinders_${plan}_flat`,
    inputTokens: `vlinders_${plan}_input_tokens`,
    outputTokens: `vlinders_${plan}_output_tokens`,
  };
}

const catalog: Readonly<Record<PlanName, Readonly<Plan>>> = {
  free: {
    name: 'free',
    requestsPerMinute: 20,
    tokensPerMinute: 10_000,
    concurrentRequests: 2,
    monthlyTokens: 100_000,
    maxTokensPerRequest: 1_024,
    models: null,
    prices: prices('free'),
    includedTokens: 100_000,
    overage: 'block',
    seats: 3,
    trialDays: 0,
  },
  developer: {
    name: 'developer',
    requestsPerMinute: 300,
    tokensPerMinute: 100_000,
    concurrentRequests: 10,
    monthlyTokens: 10_000_000,
    maxTokensPerRequest: 4_096,
    models: null,
    prices: prices('developer'),
    includedTokens: 5_000_000,
    overage: 'bill',
    seats: 5,
    trialDays: 14,
  },
  team: {
    name: 'team',
    requestsPerMinute: 1_000,
    tokensPerMinute: 400_000,
    concurrentRequests: 50,
    monthlyTokens: 100_000_000,
    maxTokensPerRequest: 8_192,
    models: null,
    prices: prices('team'),
    includedTokens: 50_000_000,
    overage: 'bill',
    seats: 50,
    trialDays: 14,
  },
  // Sized for production traffic (and the gateway benchmark): 10,000 requests/s sustained.
  enterprise: {
    name: 'enterprise',
    requestsPerMinute: 600_000,
    tokensPerMinute: 60_000_000,
    concurrentRequests: 5_000,
    monthlyTokens: 100_000_000_000,
    maxTokensPerRequest: 32_768,
    models: null,
    prices: prices('enterprise'),
    includedTokens: 1_000_000_000,
    overage: 'bill',
    seats: 1_000,
    trialDays: 30,
  },
};

export function isPlanName(value: unknown): value is PlanName {
  return typeof value === 'string' && (planNames as readonly string[]).includes(value);
}

export function planLimits(plan: PlanName): PlanLimits {
  return catalog[plan];
}

/** The whole catalog entry: limits, prices, included tokens, overage, seats and trial. */
export function plan(name: PlanName): Plan {
  return catalog[name];
}
