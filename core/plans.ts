// The plan catalog: what each plan lets an organization do on the inference path. Pure data, no
// I/O (workflows may import it). Billing (prices, seats) will extend the entries, not replace them.

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

const catalog: Readonly<Record<PlanName, Readonly<PlanLimits>>> = {
  free: {
    requestsPerMinute: 20,
    tokensPerMinute: 10_000,
    concurrentRequests: 2,
    monthlyTokens: 100_000,
    maxTokensPerRequest: 1_024,
    models: null,
  },
  developer: {
    requestsPerMinute: 300,
    tokensPerMinute: 100_000,
    concurrentRequests: 10,
    monthlyTokens: 10_000_000,
    maxTokensPerRequest: 4_096,
    models: null,
  },
  team: {
    requestsPerMinute: 1_000,
    tokensPerMinute: 400_000,
    concurrentRequests: 50,
    monthlyTokens: 100_000_000,
    maxTokensPerRequest: 8_192,
    models: null,
  },
  // Sized for production traffic (and the gateway benchmark): 10,000 requests/s sustained.
  enterprise: {
    requestsPerMinute: 600_000,
    tokensPerMinute: 60_000_000,
    concurrentRequests: 5_000,
    monthlyTokens: 100_000_000_000,
    maxTokensPerRequest: 32_768,
    models: null,
  },
};

export function isPlanName(value: unknown): value is PlanName {
  return typeof value === 'string' && (planNames as readonly string[]).includes(value);
}

export function planLimits(plan: PlanName): PlanLimits {
  return catalog[plan];
}
