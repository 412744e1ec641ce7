// Tenants with a Stripe account and hourly usage, written straight to the tables the billing run
// reads (as the subscription workflow and the usage ingester would), for the billing run's tests and
// its benchmark. Rollups grow by upsert-add, exactly as the ingester writes them.
import { randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { PlanName } from '../../core/plans.js';

export interface BillingTenant {
  orgId: string;
  ownerId: string;
  ownerEmail: string;
  customerId: string;
}

export interface TenantOptions {
  plan?: PlanName;
  currentPeriodStart?: Date | null;
}

/** `count` active orgs, each with an owner and a billing account (one statement per table). */
export async function seedBillingTenants(
  admin: pg.Pool,
  count: number,
  { plan = 'developer', currentPeriodStart = null }: TenantOptions = {},
): Promise<BillingTenant[]> {
  const tenants = Array.from({ length: count }, (): BillingTenant => {
    const ownerId = randomUUID();
    return {
      orgId: randomUUID(),
      ownerId,
      ownerEmail: `owner-${ownerId}@billing.test`,
      customerId: `cus_${randomBytes(8).toString('hex')}`,
    };
  });
  const column = <K extends keyof BillingTenant>(key: K) => tenants.map((t) => t[key]);
  await admin.query(
    `INSERT INTO users (id, email, password_hash, display_name)
     SELECT id, email, 'not-a-hash', 'Owner' FROM unnest($1::uuid[], $2::text[]) AS t(id, email)`,
    [column('ownerId'), column('ownerEmail')],
  );
  await admin.query(
    `INSERT INTO organizations (id, name, slug, status, created_by)
     SELECT id, 'Tenant ' || id, 'org-' || id, 'active', owner FROM unnest($1::uuid[], $2::uuid[]) AS t(id, owner)`,
    [column('orgId'), column('ownerId')],
  );
  await admin.query(
    `INSERT INTO memberships (org_id, user_id, role)
     SELECT org, owner, 'owner' FROM unnest($1::uuid[], $2::uuid[]) AS t(org, owner)`,
    [column('orgId'), column('ownerId')],
  );
  await admin.query(
    `INSERT INTO billing_accounts (org_id, stripe_customer_id, plan, seats, status, current_period_start)
     SELECT org, customer, $3, 1, 'active', $4 FROM unnest($1::uuid[], $2::text[]) AS t(org, customer)`,
    [column('orgId'), column('customerId'), plan, currentPeriodStart],
  );
  return tenants;
}

export interface UsageAdd {
  orgId: string;
  hour: Date;
  keyId?: string;
  model?: string;
  promptTokens: number;
  completionTokens: number;
}

/** A fixed key per fixture, so repeated adds to the same hour and model land in one bucket. */
export const fixtureKeyId = '00000000-0000-4000-8000-00000000b111';

/** Adds usage to the rollups (upsert-add on the bucket, as the usage ingester does). */
export async function addUsage(admin: pg.Pool, rows: UsageAdd[]): Promise<void> {
  if (rows.length === 0) return;
  await admin.query(
    `INSERT INTO usage_hourly AS h (org_id, hour, team_id, key_id, model, requests, errors, cancelled,
       prompt_tokens, completion_tokens, cached_tokens, estimated)
     SELECT org, hour, NULL, key, model, 1, 0, 0, prompt, completion, 0, 0
     FROM unnest($1::uuid[], $2::timestamptz[], $3::uuid[], $4::text[], $5::bigint[], $6::bigint[])
       AS t(org, hour, key, model, prompt, completion)
     ON CONFLICT (org_id, hour, team_id, key_id, model) DO UPDATE SET
       requests = h.requests + excluded.requests,
       prompt_tokens = h.prompt_tokens + excluded.prompt_tokens,
       completion_tokens = h.completion_tokens + excluded.completion_tokens`,
    [
      rows.map((r) => r.orgId),
      rows.map((r) => r.hour.toISOString()),
      rows.map((r) => r.keyId ?? fixtureKeyId),
      rows.map((r) => r.model ?? 'model-a'),
      rows.map((r) => r.promptTokens),
      rows.map((r) => r.completionTokens),
    ],
  );
}

/** Every tenant's metered tokens (all hours), per meter. */
export async function meteredTotals(
  admin: pg.Pool,
  orgIds: string[],
): Promise<Map<string, { inputTokens: number; outputTokens: number }>> {
  const { rows } = await admin.query<{ org_id: string; input: string; output: string }>(
    `SELECT org_id, sum(prompt_tokens)::text AS input, sum(completion_tokens)::text AS output
     FROM usage_hourly WHERE org_id = ANY($1::uuid[]) GROUP BY org_id`,
    [orgIds],
  );
  return new Map(
    rows.map((r) => [r.org_id, { inputTokens: Number(r.input), outputTokens: Number(r.output) }]),
  );
}
