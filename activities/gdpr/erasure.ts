// The GDPR erasure's activities (workflows/gdpr-erasure.ts): the request's row kept in step, legal
// holds checked, the subject frozen, each store erased or anonymised, the tombstone written. Each is
// idempotent: run again, it finds nothing left to do and counts zero.
//
// Inputs and outputs name the tenant `erasedOrgId`, never `orgId`, so the codec seals them with the
// platform key: the erasure destroys the tenant's key and must still read its own history.
import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { and, eq, isNull, or, sql } from 'drizzle-orm';
import type { Redis } from 'ioredis';
import { apiKeyInvalidationChannel } from '../../core/api-key-cache.js';
import {
  erasureSubject,
  type DataRequestScope,
  type ErasureOutcome,
  type ErasureStore,
} from '../../core/data-requests.js';
import type { Db, Tx } from '../../db/client.js';
import {
  apiKeys,
  auditLog,
  billingAccounts,
  dataRequests,
  erasureTombstones,
  legalHolds,
  refreshTokens,
  files,
  usageEvents,
  usageHourly,
  users,
  vectorStoreFiles,
  vectorStores,
} from '../../db/schema/index.js';
import { withTenant } from '../../db/tenant.js';
import type { DataKeyStore } from '../../runtime/data-keys.js';
import type { Stripe } from '../../runtime/stripe.js';
import { workflowIds } from '../../temporal.config.js';
import type { ObjectStorage } from '../storage/index.js';
import type { VectorStore } from '../vectors/port.js';
import { eraseRedisKeys } from './erase-redis.js';

/** The tenant's own workflows, as an erasure reaches them (workers/tenant-workflows.ts). */
export interface TenantWorkflows {
  /** Cancels the subscription now, with its final invoice; false when there is none to cancel. */
  cancelSubscription(orgId: string): Promise<boolean>;
  /** Terminates those of these workflows that are running; answers how many were. */
  terminate(workflowIds: string[], reason: string): Promise<number>;
}

export interface GdprErasureDeps {
  db: Db;
  storage: ObjectStorage;
  stripe: Stripe | undefined;
  /** Undefined without REDIS_URL: there is nothing in Redis to erase then. */
  redis: Redis | undefined;
  /** The process's vector store (activities/vectors/index.ts sharedVectorStore). */
  vectors: () => Promise<VectorStore>;
  dataKeys: DataKeyStore;
  workflows: TenantWorkflows;
}

export interface ErasureRef {
  erasedOrgId: string;
  requestId: string;
}

/** The workflow's input, as the activities take it. */
export interface ErasureSubjectInput extends ErasureRef {
  scope: DataRequestScope;
  subjectUserId: string | null;
}

const auditKeptNote =
  'kept: the audit log is an append-only, hash-chained accountability record (GDPR Art. 17(3)(b) and (e)); ' +
  'it names people by id and keeps client IP addresses, and an erased account id names no one';

function nothing(store: ErasureStore, note?: string): ErasureOutcome {
  return { store, action: 'none', counts: {}, ...(note !== undefined && { note }) };
}

function personOf(input: ErasureSubjectInput): string {
  if (input.scope === 'person' && input.subjectUserId) return input.subjectUserId;
  throw new Error(`erasure ${input.requestId}: a person's erasure without its person`);
}

async function count(tx: Tx, query: ReturnType<typeof sql>): Promise<number> {
  const [row] = (await tx.execute<{ n: string }>(query)).rows;
  return Number(row?.n ?? 0);
}

export function createGdprErasureActivities(deps: GdprErasureDeps) {
  const { db } = deps;
  const inTenant = <T>(ref: ErasureRef, fn: (tx: Tx) => Promise<T>) => withTenant(db, ref.erasedOrgId, fn);
  /** Ends the tenant's file ingestions and deletes their rows; answers how many were running. */
  const stopIngestions = async (ref: ErasureRef): Promise<number> => {
    const removed = await inTenant(ref, (tx) =>
      tx.delete(vectorStoreFiles).returning({
        fileId: vectorStoreFiles.fileId,
        vectorStoreId: vectorStoreFiles.vectorStoreId,
        status: vectorStoreFiles.status,
      }),
    );
    return deps.workflows.terminate(
      removed
        .filter((r) => r.status === 'in_progress')
        .map((r) => workflowIds.ingest(r.fileId, r.vectorStoreId)),
      'the organization is erased (GDPR)',
    );
  };
  const finish = async (ref: ErasureRef, values: Partial<typeof dataRequests.$inferInsert>) => {
    const finishedAt = new Date();
    await inTenant(ref, (tx) =>
      tx
        .update(dataRequests)
        .set({ ...values, finishedAt })
        .where(and(eq(dataRequests.id, ref.requestId), isNull(dataRequests.finishedAt))),
    );
    return finishedAt.toISOString();
  };

  /** Revokes keys and publishes their prefixes, so every gateway's key cache drops them at once. */
  async function revokeKeys(input: ErasureSubjectInput): Promise<number> {
    const revoked = await inTenant(input, (tx) =>
      tx
        .update(apiKeys)
        .set({ revokedAt: sql`now()` })
        .where(
          and(
            eq(apiKeys.orgId, input.erasedOrgId),
            isNull(apiKeys.revokedAt),
            input.scope === 'person' ? eq(apiKeys.createdBy, personOf(input)) : undefined,
          ),
        )
        .returning({ prefix: apiKeys.prefix }),
    );
    for (const { prefix } of revoked) await deps.redis?.publish(apiKeyInvalidationChannel, prefix);
    return revoked.length;
  }

  const erasers: Record<ErasureStore, (input: ErasureSubjectInput) => Promise<ErasureOutcome>> = {
    async account(input) {
      const counts = await inTenant(input, async (tx) => {
        const query =
          input.scope === 'organization'
            ? sql`SELECT erase_organization_rows(${input.erasedOrgId}) AS counts`
            : sql`SELECT erase_person_rows(${input.erasedOrgId}, ${personOf(input)}) AS counts`;
        const [row] = (await tx.execute<{ counts: Record<string, number> }>(query)).rows;
        return row!.counts;
      });
      return {
        store: 'account',
        action: 'erased',
        counts,
        note:
          input.scope === 'organization'
            ? "the org row is anonymised; its members' own accounts stay theirs"
            : counts.account
              ? 'the account is anonymised: a member of no other organization'
              : 'the account stays: the person is a member of another organization',
      };
    },

    async usage(input) {
      const counts = await inTenant(input, async (tx) => ({
        hourly: await count(
          tx,
          sql`SELECT count(*) AS n FROM ${usageHourly} WHERE org_id = ${input.erasedOrgId}`,
        ),
        events: await count(
          tx,
          sql`SELECT count(*) AS n FROM ${usageEvents} WHERE org_id = ${input.erasedOrgId}`,
        ),
      }));
      return {
        store: 'usage',
        action: 'kept',
        counts,
        note: 'kept for tax law (the usage invoices were based on); its key and team ids point at nothing now',
      };
    },

    async billing(input) {
      const [account] = await inTenant(input, (tx) =>
        tx.select({ customer: billingAccounts.stripeCustomerId }).from(billingAccounts),
      );
      if (!account) return nothing('billing');
      if (!deps.stripe)
        throw new Error(
          'billing is not configured (STRIPE_SECRET_KEY): the Stripe customer cannot be deleted',
        );
      await deleteStripeCustomer(deps.stripe, account.customer);
      return {
        store: 'billing',
        action: 'erased',
        counts: { stripeCustomers: 1 },
        note: 'the Stripe customer is deleted; the billing account and reports are kept for tax law, and Stripe keeps the invoices',
      };
    },

    async redis(input) {
      if (!deps.redis) return nothing('redis', 'no Redis configured');
      const patterns =
        input.scope === 'organization'
          ? [`vl:lim:{${input.erasedOrgId}}:*`]
          : await personRedisPatterns(input);
      return {
        store: 'redis',
        action: 'erased',
        counts: { keys: await eraseRedisKeys(deps.redis, patterns) },
        note: 'usage events still in the stream are kept: they are billed like the rest',
      };
    },

    async vectors(input) {
      // Ingestion stops first: its rows go (a batch stores only while its row exists, so none can
      // land after this) and its workflows end; then no point of the tenant is left anywhere.
      const ingestions = await stopIngestions(input);
      const store = await deps.vectors();
      const tenant = store.forTenant(input.erasedOrgId);
      let points = 0;
      for (const collection of await store.collections()) {
        points += await tenant.count(collection);
        await tenant.delete(collection);
        Context.current().heartbeat(collection);
      }
      return { store: 'vectors', action: 'erased', counts: { points, ingestions } };
    },

    async files(input) {
      const ingestions = await stopIngestions(input);
      const rows = await inTenant(input, async (tx) => {
        const deleted = await tx.delete(files).returning({ id: files.id });
        const stores = await tx.delete(vectorStores).returning({ id: vectorStores.id });
        return { files: deleted.length, vectorStores: stores.length };
      });
      const objects = await deps.storage.forTenant(input.erasedOrgId).deleteAll();
      return { store: 'files', action: 'erased', counts: { objects, ...rows, ingestions } };
    },

    async workflows(input) {
      const exports = await inTenant(input, (tx) =>
        tx.select({ id: dataRequests.id }).from(dataRequests).where(eq(dataRequests.kind, 'export')),
      );
      const ids = [
        workflowIds.onboarding(input.erasedOrgId),
        workflowIds.subscription(input.erasedOrgId),
        ...exports.map((e) => workflowIds.gdprExport(e.id)),
      ];
      const terminated = await deps.workflows.terminate(ids, `GDPR erasure ${input.requestId}`);
      return {
        store: 'workflows',
        action: 'erased',
        counts: { terminated },
        note: 'running workflows are terminated; every history of the org becomes unreadable with its codec key',
      };
    },

    async audit(input) {
      const entries = await inTenant(input, (tx) =>
        input.scope === 'organization'
          ? count(tx, sql`SELECT count(*) AS n FROM ${auditLog} WHERE org_id = ${input.erasedOrgId}`)
          : count(
              tx,
              sql`SELECT count(*) AS n FROM ${auditLog}
                   WHERE org_id = ${input.erasedOrgId}
                     AND (actor_id = ${personOf(input)} OR target_id = ${personOf(input)}::text)`,
            ),
      );
      return { store: 'audit', action: 'kept', counts: { entries }, note: auditKeptNote };
    },

    async 'codec-key'(input) {
      await deps.dataKeys.destroy(input.erasedOrgId);
      return {
        store: 'codec-key',
        action: 'erased',
        counts: { keys: 1 },
        note: "the tenant's data key is destroyed: its Temporal payloads and any object left no longer decrypt",
      };
    },
  };

  /** A person's counters: those of the keys they created, and their failed sign-ins. */
  async function personRedisPatterns(input: ErasureSubjectInput): Promise<string[]> {
    const person = personOf(input);
    const [keys, [account]] = await Promise.all([
      inTenant(input, (tx) =>
        tx.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.createdBy, person)),
      ),
      db.select({ email: users.email }).from(users).where(eq(users.id, person)),
    ]);
    return [
      ...keys.map((k) => `vl:lim:{${input.erasedOrgId}}:key:${k.id}:*`),
      ...(account ? [`vlinders:auth:account:${account.email.trim().toLowerCase()}`] : []),
    ];
  }

  return {
    /**
     * The erasure's grace period passed: starts it (null), unless it was cancelled in the row
     * meanwhile, or a legal hold blocks it (with the hold's reason).
     */
    async startErasure(ref: ErasureRef): Promise<{ cancelled?: true; blockedBy?: string } | null> {
      return inTenant(ref, async (tx) => {
        const [request] = await tx
          .select({
            subjectUserId: dataRequests.subjectUserId,
            scope: dataRequests.scope,
            status: dataRequests.status,
          })
          .from(dataRequests)
          .where(eq(dataRequests.id, ref.requestId))
          // Locked until this decides: a cancel the API writes meanwhile waits, then finds it begun.
          .for('update');
        if (!request) throw new Error(`data request ${ref.requestId} does not exist`);
        if (request.status === 'cancelled') return { cancelled: true };
        const [hold] = await tx
          .select({ reason: legalHolds.reason })
          .from(legalHolds)
          .where(
            and(
              isNull(legalHolds.releasedAt),
              request.scope === 'organization' || request.subjectUserId === null
                ? undefined
                : or(isNull(legalHolds.subjectUserId), eq(legalHolds.subjectUserId, request.subjectUserId)),
            ),
          )
          .orderBy(legalHolds.placedAt)
          .limit(1);
        if (hold) return { blockedBy: hold.reason };
        await tx
          .update(dataRequests)
          .set({ status: 'running' })
          .where(and(eq(dataRequests.id, ref.requestId), eq(dataRequests.status, 'pending')));
        return null;
      });
    },

    async cancelErasure(ref: ErasureRef): Promise<string> {
      return finish(ref, { status: 'cancelled' });
    },

    async blockErasure(ref: ErasureRef & { reason: string }): Promise<string> {
      return finish(ref, { status: 'blocked', blockedReason: ref.reason });
    },

    /** The deadline passed with the erasure unfinished: recorded once, for operators to act on. */
    async markErasureOverdue(ref: ErasureRef & { at: string }): Promise<void> {
      await inTenant(ref, (tx) =>
        tx
          .update(dataRequests)
          .set({ overdueAt: new Date(ref.at) })
          .where(and(eq(dataRequests.id, ref.requestId), isNull(dataRequests.overdueAt))),
      );
    },

    /**
     * Stops the subject acting: keys revoked (and dropped from every key cache), refresh tokens
     * revoked (a person's), the subscription cancelled now with its final invoice (an org's).
     */
    async freezeSubject(
      input: ErasureSubjectInput,
    ): Promise<{ keys: number; refreshTokens: number; subscriptionCancelled: boolean }> {
      const keys = await revokeKeys(input);
      if (input.scope === 'person') {
        const tokens = await db
          .update(refreshTokens)
          .set({ revokedAt: sql`now()` })
          .where(and(eq(refreshTokens.userId, personOf(input)), isNull(refreshTokens.revokedAt)))
          .returning({ id: refreshTokens.id });
        return { keys, refreshTokens: tokens.length, subscriptionCancelled: false };
      }
      const subscriptionCancelled = await deps.workflows.cancelSubscription(input.erasedOrgId);
      return { keys, refreshTokens: 0, subscriptionCancelled };
    },

    async eraseStore(input: ErasureSubjectInput & { store: ErasureStore }): Promise<ErasureOutcome> {
      Context.current().heartbeat(input.store);
      return erasers[input.store](input);
    },

    /** The tombstone, then the request recorded as completed; answers when it finished. */
    async finishErasure(input: ErasureSubjectInput & { stores: ErasureOutcome[] }): Promise<string> {
      const subject = erasureSubject(input.scope, input.erasedOrgId, input.subjectUserId);
      await inTenant(input, (tx) =>
        tx
          .insert(erasureTombstones)
          .values({
            requestId: input.requestId,
            orgId: input.erasedOrgId,
            scope: input.scope,
            subjectSha256: createHash('sha256').update(subject).digest('hex'),
            stores: input.stores,
          })
          .onConflictDoNothing(),
      );
      return finish(input, { status: 'completed' });
    },
  };
}

/** Deletes the customer; one already deleted (a retry) counts as done. */
async function deleteStripeCustomer(stripe: Stripe, customerId: string): Promise<void> {
  try {
    await stripe.customers.del(customerId);
  } catch (err) {
    if ((err as { code?: string }).code !== 'resource_missing') throw err;
  }
}

export type GdprErasureActivities = ReturnType<typeof createGdprErasureActivities>;
