// Management of API keys: create (the key is shown once), list and show (never secrets or hashes),
// rotate (new secret; the previous one works for a grace period) and revoke. Every change writes an
// audit row — the prefix and settings, never the secret — in the same transaction.
import { and, desc, eq, sql } from 'drizzle-orm';
import { planLimits } from '../../../core/plans.js';
import { denial, grantableScopes, permits, type AppAbility } from '../../../core/policy.js';
import type { ApiKeyScope } from '../../../core/rbac.js';
import type { Db, Tx } from '../../../db/client.js';
import { apiKeys, organizations, teams } from '../../../db/schema/index.js';
import { withTenant } from '../../../db/tenant.js';
import { AppError } from '../../errors.js';
import { generateKey, hashSecret } from '../../../runtime/api-key-secrets.js';
import { recordAudit, type UserActor } from '../../audit.js';
import { isInvalidTextRepresentation } from '../../db-errors.js';

export interface ApiKeyView {
  id: string;
  name: string;
  prefix: string;
  teamId: string | null;
  createdBy: string;
  scopes: ApiKeyScope[];
  expiresAt: string | null;
  allowedModels: string[] | null;
  allowedIps: string[] | null;
  /** The key's own limits (null: its org's plan decides). */
  requestsPerMinute: number | null;
  tokensPerMinute: number | null;
  lastUsedAt: string | null;
  previousValidUntil: string | null;
  revokedAt: string | null;
  createdAt: string;
}

export interface CreateApiKeyInput {
  name: string;
  scopes: ApiKeyScope[];
  teamId?: string | undefined;
  expiresAt?: string | undefined;
  allowedModels?: string[] | undefined;
  allowedIps?: string[] | undefined;
  requestsPerMinute?: number | undefined;
  tokensPerMinute?: number | undefined;
}

export interface KeyIssuer {
  pepper: Buffer;
  env: string;
  /** Called after a change commits, so every replica drops the key from its cache. */
  invalidate: (prefix: string) => Promise<void>;
}

/** The caller: who they are and what the policy lets them do in the org (from the route's authorization). */
export interface KeyActor extends UserActor {
  ability: AppAbility;
}

// Every column but the secret hashes; cidr[] read as text[] (node-pg parses that).
const viewColumns = {
  id: apiKeys.id,
  name: apiKeys.name,
  prefix: apiKeys.prefix,
  teamId: apiKeys.teamId,
  createdBy: apiKeys.createdBy,
  scopes: apiKeys.scopes,
  expiresAt: apiKeys.expiresAt,
  allowedModels: apiKeys.allowedModels,
  allowedIps: sql<string[] | null>`${apiKeys.allowedIps}::text[]`,
  requestsPerMinute: apiKeys.requestsPerMinute,
  tokensPerMinute: apiKeys.tokensPerMinute,
  lastUsedAt: apiKeys.lastUsedAt,
  previousValidUntil: apiKeys.previousValidUntil,
  revokedAt: apiKeys.revokedAt,
  createdAt: apiKeys.createdAt,
};

/** A key as the database answers it: the view with its timestamps still Dates. */
type NullableTimestamp = 'expiresAt' | 'lastUsedAt' | 'previousValidUntil' | 'revokedAt';
type ViewRow = Omit<ApiKeyView, NullableTimestamp | 'createdAt'> &
  Record<NullableTimestamp, Date | null> & { createdAt: Date };

const iso = (d: Date | null) => (d ? d.toISOString() : null);

function toView(row: ViewRow): ApiKeyView {
  return {
    ...row,
    expiresAt: iso(row.expiresAt),
    lastUsedAt: iso(row.lastUsedAt),
    previousValidUntil: iso(row.previousValidUntil),
    revokedAt: iso(row.revokedAt),
    createdAt: row.createdAt.toISOString(),
  };
}

const notFound = () => new AppError('NOT_FOUND', 'The API key does not exist.');

/** A key as the policy sees it. */
const asKey = (orgId: string, row: ViewRow) => ({
  orgId,
  id: row.id,
  createdBy: row.createdBy,
  teamId: row.teamId,
  scopes: row.scopes,
});

/** Managers see every key of the org; members the keys they created and their teams' keys. */
async function findKey(tx: Tx, actor: KeyActor, orgId: string, keyId: string): Promise<ViewRow> {
  const [row] = await tx
    .select(viewColumns)
    .from(apiKeys)
    .where(and(eq(apiKeys.orgId, orgId), eq(apiKeys.id, keyId)));
  if (!row || !permits(actor.ability, 'read', 'ApiKey', asKey(orgId, row))) throw notFound();
  return row;
}

/** A key the actor may see and must also be allowed to `action` (rotate, revoke). */
async function findKeyFor(
  tx: Tx,
  actor: KeyActor,
  action: 'rotate' | 'revoke',
  orgId: string,
  keyId: string,
): Promise<ViewRow> {
  const row = await findKey(tx, actor, orgId, keyId);
  const refusal = denial(actor.ability, action, 'ApiKey', asKey(orgId, row));
  if (refusal) throw new AppError('FORBIDDEN', refusal);
  return row;
}

/** A key's own limits are lower ones: never above what its org's plan allows. */
async function checkLimits(tx: Tx, orgId: string, input: CreateApiKeyInput): Promise<void> {
  if (input.requestsPerMinute === undefined && input.tokensPerMinute === undefined) return;
  const [org] = await tx
    .select({ plan: organizations.plan })
    .from(organizations)
    .where(eq(organizations.id, orgId));
  if (!org) throw new AppError('NOT_FOUND', 'The organization does not exist.');
  const plan = planLimits(org.plan);
  const checks = [
    {
      field: 'requestsPerMinute',
      value: input.requestsPerMinute,
      limit: plan.requestsPerMinute,
      unit: 'requests',
    },
    { field: 'tokensPerMinute', value: input.tokensPerMinute, limit: plan.tokensPerMinute, unit: 'tokens' },
  ] as const;
  for (const { field, value, limit, unit } of checks) {
    if (value !== undefined && value > limit) {
      throw new AppError(
        'VALIDATION',
        `${field} (${value}) is above the organization's ${org.plan} plan limit of ${limit} ${unit} per minute.`,
        { field, limit, plan: org.plan },
      );
    }
  }
}

/**
 * The privilege-escalation guard: a key never carries more than its creator may do. The scopes
 * must be within what the policy lets the creator grant (`grantableScopes`); the team must be one
 * of the org's (another org's team id is 404); the policy decides who may bind a key to it. Its
 * own limits never exceed its org's plan.
 */
async function checkGrant(tx: Tx, actor: KeyActor, orgId: string, input: CreateApiKeyInput): Promise<void> {
  const grantable = grantableScopes(actor.ability);
  const excess = input.scopes.filter((s) => !grantable.includes(s));
  if (excess.length > 0) {
    throw new AppError('FORBIDDEN', 'A key cannot carry scopes beyond its creator’s.', { scopes: excess });
  }
  if (input.teamId) {
    const [team] = await tx
      .select({ id: teams.id })
      .from(teams)
      .where(and(eq(teams.orgId, orgId), eq(teams.id, input.teamId)));
    if (!team) throw new AppError('NOT_FOUND', 'The team does not exist.');
  }
  const refusal = denial(actor.ability, 'create', 'ApiKey', {
    orgId,
    createdBy: actor.userId,
    teamId: input.teamId ?? null,
    scopes: input.scopes,
  });
  if (refusal) throw new AppError('FORBIDDEN', refusal);
  if (input.expiresAt && Date.parse(input.expiresAt) <= Date.now()) {
    throw new AppError('VALIDATION', 'expiresAt must be in the future.', { field: 'expiresAt' });
  }
  await checkLimits(tx, orgId, input);
}

export async function createApiKey(
  db: Db,
  issuer: KeyIssuer,
  actor: KeyActor,
  orgId: string,
  input: CreateApiKeyInput,
): Promise<ApiKeyView & { key: string }> {
  const generated = generateKey(issuer.env);
  try {
    const view = await withTenant(db, orgId, async (tx) => {
      await checkGrant(tx, actor, orgId, input);
      const [inserted] = await tx
        .insert(apiKeys)
        .values({
          orgId,
          teamId: input.teamId ?? null,
          createdBy: actor.userId,
          name: input.name.trim(),
          prefix: generated.prefix,
          secretHash: hashSecret(issuer.pepper, generated.secret).toString('base64url'),
          scopes: input.scopes,
          expiresAt: input.expiresAt ? new Date(input.expiresAt) : null,
          allowedModels: input.allowedModels ?? null,
          allowedIps: input.allowedIps ?? null,
          requestsPerMinute: input.requestsPerMinute ?? null,
          tokensPerMinute: input.tokensPerMinute ?? null,
        })
        .returning({ id: apiKeys.id });
      if (!inserted) throw new Error('insert returned no row');
      const row = await findKey(tx, actor, orgId, inserted.id);
      await recordAudit(tx, actor, {
        orgId,
        action: 'api-key.create',
        targetType: 'api-key',
        targetId: row.id,
        details: {
          name: row.name,
          prefix: row.prefix,
          scopes: row.scopes,
          teamId: row.teamId,
          expiresAt: iso(row.expiresAt),
          allowedModels: row.allowedModels,
          allowedIps: row.allowedIps,
          requestsPerMinute: row.requestsPerMinute,
          tokensPerMinute: row.tokensPerMinute,
        },
      });
      return toView(row);
    });
    // A replica may have cached this (random, so practically never seen) prefix as unknown.
    await issuer.invalidate(generated.prefix);
    return { ...view, key: generated.key };
  } catch (err) {
    if (isInvalidTextRepresentation(err)) {
      throw new AppError('VALIDATION', 'allowedIps must be CIDR networks (no host bits set).', {
        field: 'allowedIps',
      });
    }
    throw err;
  }
}

export function listApiKeys(db: Db, actor: KeyActor, orgId: string): Promise<ApiKeyView[]> {
  return withTenant(db, orgId, async (tx) => {
    const rows = await tx
      .select(viewColumns)
      .from(apiKeys)
      .where(eq(apiKeys.orgId, orgId))
      .orderBy(desc(apiKeys.createdAt), desc(apiKeys.id));
    return rows.filter((row) => permits(actor.ability, 'read', 'ApiKey', asKey(orgId, row))).map(toView);
  });
}

export function getApiKey(db: Db, actor: KeyActor, orgId: string, keyId: string): Promise<ApiKeyView> {
  return withTenant(db, orgId, async (tx) => toView(await findKey(tx, actor, orgId, keyId)));
}

/** A new secret under the same prefix; the current one keeps working for `graceSeconds`. */
export async function rotateApiKey(
  db: Db,
  issuer: KeyIssuer,
  actor: KeyActor,
  orgId: string,
  keyId: string,
  graceSeconds: number,
): Promise<ApiKeyView & { key: string }> {
  const view = await withTenant(db, orgId, async (tx) => {
    const key = await findKeyFor(tx, actor, 'rotate', orgId, keyId);
    if (key.revokedAt) throw new AppError('CONFLICT', 'A revoked key cannot be rotated.');
    const generated = generateKey(issuer.env);
    const [row] = await tx
      .update(apiKeys)
      .set({
        previousSecretHash: apiKeys.secretHash,
        previousValidUntil: sql`now() + make_interval(secs => ${graceSeconds})`,
        secretHash: hashSecret(issuer.pepper, generated.secret).toString('base64url'),
      })
      .where(and(eq(apiKeys.orgId, orgId), eq(apiKeys.id, keyId)))
      .returning({ id: apiKeys.id });
    if (!row) throw new Error('api key vanished inside its transaction');
    const rotated = await findKey(tx, actor, orgId, keyId);
    await recordAudit(tx, actor, {
      orgId,
      action: 'api-key.rotate',
      targetType: 'api-key',
      targetId: keyId,
      details: { prefix: rotated.prefix, previousValidUntil: iso(rotated.previousValidUntil) },
    });
    return { ...toView(rotated), key: `vl_${issuer.env}_${rotated.prefix}_${generated.secret}` };
  });
  await issuer.invalidate(view.prefix);
  return view;
}

/** Revokes a key (idempotent: revoking a revoked key changes nothing). */
export async function revokeApiKey(
  db: Db,
  issuer: KeyIssuer,
  actor: KeyActor,
  orgId: string,
  keyId: string,
): Promise<void> {
  const prefix = await withTenant(db, orgId, async (tx) => {
    const key = await findKeyFor(tx, actor, 'revoke', orgId, keyId);
    if (key.revokedAt) return key.prefix;
    await tx
      .update(apiKeys)
      .set({ revokedAt: sql`now()` })
      .where(and(eq(apiKeys.orgId, orgId), eq(apiKeys.id, keyId)));
    await recordAudit(tx, actor, {
      orgId,
      action: 'api-key.revoke',
      targetType: 'api-key',
      targetId: keyId,
      details: { prefix: key.prefix },
    });
    return key.prefix;
  });
  await issuer.invalidate(prefix);
}
