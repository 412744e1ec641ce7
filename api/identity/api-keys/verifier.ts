// The hot path: verifies a presented API key. parse → find the row by prefix (cached in memory for
// at most 5 s, unknown prefixes cached too) → constant-time compare of the secret's HMAC → revoked,
// expired, IP allow-list (asked of the policy) → the key's identity and its policy ability, built
// once per cache fill, with the org's plan and the key's own limits (the limiter reads them from the
// verified key, so limits cost no query per request) and its subscription status (the gateway refuses
// a suspended or canceled tenant; a status change reaches every replica within the cache TTL). last_used_at is written off the request path, at most once per key per minute
// per replica. A key's scopes are narrowed to what the policy lets its creator's current role grant,
// so it never outlives its creator's privileges (a creator who left the org, or was demoted to a
// role that creates no keys, leaves a key that verifies to nothing and is refused).
//
// Revocation reaches every replica within 5 s: a change publishes the key's prefix on Redis pub/sub
// (when REDIS_URL is set) and every replica drops it from its cache; without Redis the cache TTL
// (never above 5 s) bounds how long a revoked key can still be accepted.
//
// While the database does not answer, a key verified less than `staleServeMs` ago (and its plan and
// subscription status) keeps being accepted from memory, without waiting on the database again
// until one refresh in the background gets an answer; an invalidation through Redis still drops
// it at once. A key not in memory then is refused with DATABASE_UNAVAILABLE (503), not as invalid.
import { and, eq, sql } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import { apiKeyInvalidationChannel } from '../../../core/api-key-cache.js';
import type { SubscriptionStatus } from '../../../core/billing.js';
import { planLimits, type PlanName } from '../../../core/plans.js';
import { abilityFor, grantableScopes, keyUsableFrom, type AppAbility } from '../../../core/policy.js';
import type { ApiKeyScope } from '../../../core/rbac.js';
import { isDatabaseUnavailable, type Db } from '../../../db/client.js';
import { apiKeys, memberships, organizations } from '../../../db/schema/index.js';
import { withTenant } from '../../../db/tenant.js';
import { hashesEqual, hashSecret, parseKey } from '../../../runtime/api-key-secrets.js';
import { readThroughOutage } from '../outage-read.js';

export const maxCacheTtlMs = 5_000;
const lastUsedIntervalMs = 60_000;
const maxCacheEntries = 50_000;

/** A verified key; `authorizeKey(key, action, request)` (core/policy.ts) decides what it may do. */
export interface VerifiedKey {
  keyId: string;
  orgId: string;
  teamId: string | null;
  scopes: ApiKeyScope[];
  allowedModels: string[] | null;
  expiresAt: Date | null;
  ability: AppAbility;
  /** The org's plan (core/plans.ts) and the key's own lower limits (null: the plan's). */
  plan: PlanName;
  requestsPerMinute: number | null;
  tokensPerMinute: number | null;
  /** The org's subscription (core/billing.ts `servesInference`): the gateway refuses suspended and canceled. */
  subscriptionStatus: SubscriptionStatus;
}

interface KeyRecord {
  id: string;
  orgId: string;
  teamId: string | null;
  scopes: ApiKeyScope[];
  allowedModels: string[] | null;
  ability: AppAbility;
  secretHash: Buffer;
  previousSecretHash: Buffer | null;
  previousValidUntil: number | null;
  expiresAt: Date | null;
  revokedAt: number | null;
  plan: PlanName;
  requestsPerMinute: number | null;
  tokensPerMinute: number | null;
  subscriptionStatus: SubscriptionStatus;
}

interface CacheEntry {
  record: KeyRecord | null;
  until: number;
  /** Until when the record may stand in for the database while it does not answer. */
  staleUntil: number;
}

export interface VerifierOptions {
  db: Db;
  pepper: Buffer;
  env: string;
  /** 0 disables the cache (every verification reads Postgres); capped at 5000. */
  cacheTtlMs?: number;
  /** How long a loaded key may be served while the database does not answer; 0 never. */
  staleServeMs?: number;
  redis?: Redis | undefined;
  logger?: FastifyBaseLogger | undefined;
  now?: () => number;
}

export class ApiKeyVerifier {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly lastUsedWritten = new Map<string, number>();
  private readonly pendingWrites = new Set<Promise<void>>();
  private readonly ttlMs: number;
  private readonly staleMs: number;
  private readonly now: () => number;
  private subscriber: Redis | undefined;
  private readonly loading = new Map<string, Promise<KeyRecord | null>>();
  /** Bumped by every invalidation, so a load that started before one does not cache what it read. */
  private generation = 0;
  /** Set by a load the database did not answer, cleared by one it did. */
  private databaseDown = false;

  constructor(private readonly options: VerifierOptions) {
    this.ttlMs = Math.min(options.cacheTtlMs ?? maxCacheTtlMs, maxCacheTtlMs);
    this.now = options.now ?? Date.now;
    this.staleMs = Math.max(options.staleServeMs ?? 0, this.ttlMs);
  }

  /** Subscribes to invalidations from other replicas (when Redis is configured). */
  async start(): Promise<void> {
    if (!this.options.redis) return;
    this.subscriber = this.options.redis.duplicate();
    this.subscriber.on('message', (_channel: string, prefix: string) => this.drop(prefix));
    this.subscriber.on('error', (err: Error) => this.options.logger?.warn({ err }, 'api-key invalidation'));
    await this.subscriber.subscribe(apiKeyInvalidationChannel);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.pendingWrites]);
    if (this.subscriber) await this.subscriber.quit().catch(() => undefined);
  }

  /** Drops a key (or OAuth client) from this replica's memory and tells the others to. */
  async invalidate(id: string): Promise<void> {
    this.drop(id);
    if (this.options.redis) await this.options.redis.publish(apiKeyInvalidationChannel, id);
  }

  private readonly invalidationListeners: ((id: string) => void)[] = [];

  /** Also hears every invalidation (the channel carries API-key prefixes and OAuth client ids). */
  onInvalidation(listener: (id: string) => void): void {
    this.invalidationListeners.push(listener);
  }

  private drop(id: string): void {
    this.generation++;
    this.cache.delete(id);
    for (const listener of this.invalidationListeners) listener(id);
  }

  /** The key's identity, or null for anything that is not a valid, live key usable from `ip`. */
  async verify(candidate: string, ip: string): Promise<VerifiedKey | null> {
    const parsed = parseKey(candidate);
    if (!parsed || parsed.env !== this.options.env) return null;
    const record = await this.lookup(parsed.prefix);
    if (!record) return null;
    const presented = hashSecret(this.options.pepper, parsed.secret);
    const now = this.now();
    const current = hashesEqual(presented, record.secretHash);
    const previous =
      record.previousSecretHash !== null &&
      record.previousValidUntil !== null &&
      now < record.previousValidUntil &&
      hashesEqual(presented, record.previousSecretHash);
    if (!current && !previous) return null;
    if (record.scopes.length === 0) return null;
    if (record.revokedAt !== null && record.revokedAt <= now) return null;
    if (record.expiresAt && record.expiresAt.getTime() <= now) return null;
    if (!keyUsableFrom({ keyId: record.id, orgId: record.orgId, ability: record.ability }, ip)) return null;
    this.touch(record, now);
    return {
      keyId: record.id,
      orgId: record.orgId,
      teamId: record.teamId,
      scopes: record.scopes,
      allowedModels: record.allowedModels,
      expiresAt: record.expiresAt,
      ability: record.ability,
      plan: record.plan,
      requestsPerMinute: record.requestsPerMinute,
      tokensPerMinute: record.tokensPerMinute,
      subscriptionStatus: record.subscriptionStatus,
    };
  }

  private async lookup(prefix: string): Promise<KeyRecord | null> {
    if (this.ttlMs === 0) return this.load(prefix);
    const now = this.now();
    const hit = this.cache.get(prefix);
    if (hit && hit.until > now) return hit.record;
    const stale = hit?.record && hit.staleUntil > now ? hit.record : null;
    return readThroughOutage(this.refresh(prefix), stale, this.databaseDown);
  }

  /** One load per prefix at a time; caches what the database answered. */
  private refresh(prefix: string): Promise<KeyRecord | null> {
    const inFlight = this.loading.get(prefix);
    if (inFlight) return inFlight;
    const generation = this.generation;
    // Freshness counts from the read's start: the row may have changed while it was in flight.
    const startedAt = this.now();
    const load = this.load(prefix)
      .then(
        (record) => {
          this.databaseDown = false;
          if (generation === this.generation) this.remember(prefix, record, startedAt);
          return record;
        },
        (err: unknown) => {
          if (isDatabaseUnavailable(err)) {
            if (!this.databaseDown)
              this.options.logger?.warn({ err }, 'api-key lookup: database unavailable');
            this.databaseDown = true;
          }
          throw err;
        },
      )
      .finally(() => this.loading.delete(prefix));
    this.loading.set(prefix, load);
    return load;
  }

  private remember(prefix: string, record: KeyRecord | null, now: number): void {
    if (this.cache.size >= maxCacheEntries) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.delete(prefix);
    this.cache.set(prefix, { record, until: now + this.ttlMs, staleUntil: now + this.staleMs });
  }

  /** Reads one key by prefix before its tenant is known: the RLS lookup policy shows only that row. */
  private async load(prefix: string): Promise<KeyRecord | null> {
    const found = await this.options.db.transaction(async (tx) => {
      await tx.execute(sql`SELECT set_config('app.api_key_prefix', ${prefix}, true)`);
      const [key] = await tx
        .select({
          id: apiKeys.id,
          orgId: apiKeys.orgId,
          teamId: apiKeys.teamId,
          scopes: apiKeys.scopes,
          allowedModels: apiKeys.allowedModels,
          allowedIps: sql<string[] | null>`${apiKeys.allowedIps}::text[]`,
          secretHash: apiKeys.secretHash,
          previousSecretHash: apiKeys.previousSecretHash,
          previousValidUntil: apiKeys.previousValidUntil,
          expiresAt: apiKeys.expiresAt,
          revokedAt: apiKeys.revokedAt,
          createdBy: apiKeys.createdBy,
          requestsPerMinute: apiKeys.requestsPerMinute,
          tokensPerMinute: apiKeys.tokensPerMinute,
        })
        .from(apiKeys)
        .where(eq(apiKeys.prefix, prefix));
      if (!key) return null;
      // The creator's role today, in the key's org: a demoted or removed creator takes the key's
      // power down with them (within the cache TTL). The org's plan and subscription status come in
      // the same query.
      await tx.execute(sql`SELECT set_config('app.org_id', ${key.orgId}, true)`);
      const [org] = await tx
        .select({
          plan: organizations.plan,
          subscriptionStatus: organizations.subscriptionStatus,
          role: memberships.role,
        })
        .from(organizations)
        .leftJoin(
          memberships,
          and(eq(memberships.orgId, organizations.id), eq(memberships.userId, key.createdBy)),
        )
        .where(eq(organizations.id, key.orgId));
      if (!org) return null;
      return { key, plan: org.plan, subscriptionStatus: org.subscriptionStatus, creatorRole: org.role };
    });
    if (!found) return null;
    const { key: row, plan, subscriptionStatus, creatorRole } = found;
    // What the creator may grant does not depend on their teams.
    const grantable = creatorRole
      ? grantableScopes(
          abilityFor({
            kind: 'member',
            userId: row.createdBy,
            orgId: row.orgId,
            role: creatorRole,
            teamIds: [],
          }),
        )
      : [];
    const scopes = row.scopes.filter((scope) => grantable.includes(scope));
    return {
      id: row.id,
      orgId: row.orgId,
      teamId: row.teamId,
      scopes,
      allowedModels: row.allowedModels,
      ability: abilityFor({
        kind: 'api-key',
        keyId: row.id,
        orgId: row.orgId,
        teamId: row.teamId,
        scopes,
        allowedModels: row.allowedModels,
        allowedIps: row.allowedIps,
        planModels: planLimits(plan).models,
      }),
      secretHash: Buffer.from(row.secretHash, 'base64url'),
      previousSecretHash: row.previousSecretHash ? Buffer.from(row.previousSecretHash, 'base64url') : null,
      previousValidUntil: row.previousValidUntil?.getTime() ?? null,
      expiresAt: row.expiresAt,
      revokedAt: row.revokedAt?.getTime() ?? null,
      plan,
      requestsPerMinute: row.requestsPerMinute,
      tokensPerMinute: row.tokensPerMinute,
      subscriptionStatus,
    };
  }

  /** Records use off the request path: at most one write per key per minute from this replica. */
  private touch(record: KeyRecord, now: number): void {
    const last = this.lastUsedWritten.get(record.id);
    if (last !== undefined && now - last < lastUsedIntervalMs) return;
    this.lastUsedWritten.set(record.id, now);
    if (this.lastUsedWritten.size > maxCacheEntries) {
      for (const [id, at] of this.lastUsedWritten)
        if (now - at >= lastUsedIntervalMs) this.lastUsedWritten.delete(id);
    }
    const write = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() =>
        withTenant(this.options.db, record.orgId, (tx) =>
          tx
            .update(apiKeys)
            .set({ lastUsedAt: sql`now()` })
            .where(eq(apiKeys.id, record.id)),
        ),
      )
      .then(
        () => undefined,
        (err: unknown) =>
          this.options.logger?.warn({ err, keyId: record.id }, 'api key last_used_at write failed'),
      )
      .finally(() => this.pendingWrites.delete(write));
    this.pendingWrites.add(write);
  }
}
