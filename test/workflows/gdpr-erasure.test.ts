// The GDPR erasure workflow in the time-skipping environment, with the real activities against the
// real PostgreSQL, Redis, S3 (rclone's server), stripe-mock and the embedded vector store: an
// organization's erasure after its grace period leaves no trace of it in any store but what the law
// keeps, anonymised, and its payloads no longer decrypt; a person's erasure reaches only that person;
// a cancelled or held erasure changes nothing; a second erasure finds nothing left; a store that
// keeps failing past the deadline flags the request overdue. Set RECORD_HISTORIES=1 to re-record the
// replay fixture.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import { eq, sql } from 'drizzle-orm';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { createGdprErasureActivities, type GdprErasureDeps } from '../../activities/gdpr/erasure.js';
import { ObjectStorage } from '../../activities/storage/index.js';
import { S3ObjectStore } from '../../activities/storage/s3-store.js';
import { sharedVectorStore } from '../../activities/vectors/index.js';
import { erasureStores, erasureSubject } from '../../core/data-requests.js';
import { createDb, createPool, type Db } from '../../db/client.js';
import { dataRequests, erasureTombstones } from '../../db/schema/index.js';
import { withTenant } from '../../db/tenant.js';
import { TenantPayloadCodec } from '../../runtime/codec.js';
import { DataKeyStore } from '../../runtime/data-keys.js';
import { masterKeyFromConfig } from '../../runtime/envelope.js';
import { createStripe, type Stripe } from '../../runtime/stripe.js';
import { workflowIds } from '../../temporal.config.js';
import {
  gdprErasureQueries,
  gdprErasureSignals,
  type GdprErasureInput,
} from '../../workflows/definitions.js';
import { gdprErasure } from '../../workflows/index.js';
import { bundleWorkflows } from '../../workers/bootstrap.js';
import { tenantWorkflowsClient } from '../../workers/tenant-workflows.js';
import { testConfig } from '../support/config.js';
import { suiteS3Options } from '../support/s3.js';
import { databaseTraces, redisTraces } from '../support/trace-search.js';
import {
  erasureCollection,
  erasureRequest,
  seedErasureTenant,
  type ErasureTenant,
} from './gdpr-erasure-fixture.js';
import { saveHistory } from './histories.js';
import { createTimeSkippingEnv, terminateWhenIdle } from './time-skipping-env.js';

const taskQueue = 'gdpr-erasure-time-skipping';

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundle;
let pool: pg.Pool;
let admin: pg.Pool;
let db: Db;
let store: S3ObjectStore;
let storage: ObjectStorage;
let stripe: Stripe;
let redis: Redis;
let vectorsDir: string;
let vectors: ReturnType<typeof sharedVectorStore>;

const dataKeys = () => new DataKeyStore(db, masterKeyFromConfig(testConfig()));
const openVectors = () => vectors.open();

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  pool = createPool({ url: inject('databaseUrl'), size: 4, applicationName: 'test-gdpr-erasure' });
  admin = new pg.Pool({ connectionString: inject('adminDatabaseUrl'), max: 2 });
  db = createDb(pool);
  store = new S3ObjectStore(suiteS3Options());
  storage = new ObjectStorage(store, dataKeys(), 1 << 20);
  stripe = createStripe(testConfig({ STRIPE_API_URL: inject('stripeUrl') }));
  redis = new Redis(inject('redisUrl'));
  vectorsDir = mkdtempSync(join(tmpdir(), 'vlinders-erasure-vectors-'));
  vectors = sharedVectorStore({ VECTOR_DATA_DIR: vectorsDir });
  [env, bundle] = await Promise.all([createTimeSkippingEnv(), bundleWorkflows()]);
});

afterAll(async () => {
  await env?.teardown();
  store?.close();
  redis?.disconnect();
  await vectors?.close();
  await Promise.all([pool?.end(), admin?.end()]);
  if (vectorsDir) rmSync(vectorsDir, { recursive: true, force: true });
});

const tenant = () => seedErasureTenant(db, (orgId) => storage.forTenant(orgId), stripe, redis, openVectors);

function worker(overrides: Partial<GdprErasureDeps> = {}) {
  const activities = createGdprErasureActivities({
    db,
    storage,
    stripe,
    redis,
    vectors: openVectors,
    dataKeys: dataKeys(),
    workflows: tenantWorkflowsClient(env.client),
    ...overrides,
  });
  return Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: bundle, activities });
}

function start(input: GdprErasureInput) {
  return env.client.workflow.start(gdprErasure, {
    taskQueue,
    workflowId: workflowIds.gdprErasure(input.requestId),
    args: [input],
  });
}

const requestRow = async (orgId: string, id: string) =>
  (await withTenant(db, orgId, (tx) => tx.select().from(dataRequests).where(eq(dataRequests.id, id))))[0]!;

/** What the tenant holds in every store, to compare before and after an erasure that must change nothing. */
async function snapshot(org: ErasureTenant) {
  const tables = await withTenant(db, org.orgId, async (tx) => {
    const rows = async (table: string) =>
      (await tx.execute(sql.raw(`SELECT * FROM ${table} WHERE org_id = '${org.orgId}' ORDER BY 1, 2`))).rows;
    return {
      organizations: (await tx.execute(sql`SELECT * FROM organizations WHERE id = ${org.orgId}`)).rows,
      memberships: await rows('memberships'),
      teamMembers: await rows('team_members'),
      invitations: await rows('invitations'),
      apiKeys: await rows('api_keys'),
      billing: await rows('billing_accounts'),
      usage: await rows('usage_hourly'),
      dataKeys: await rows('tenant_data_keys'),
    };
  });
  const users = (
    await db.execute(sql`SELECT * FROM users WHERE id IN (${org.owner.id}, ${org.other.id}) ORDER BY id`)
  ).rows;
  const tokens = (await db.execute(sql`SELECT * FROM refresh_tokens WHERE user_id = ${org.other.id}`)).rows;
  const redisKeys = (await redisTraces(redis, [org.orgId, org.other.email])).map((t) => t.where).sort();
  const objects = await storage.forTenant(org.orgId).list();
  const points = await (await openVectors()).forTenant(org.orgId).count(erasureCollection);
  return { tables, users, tokens, redisKeys, objects, points };
}

describe('gdpr-erasure (time-skipping)', () => {
  // These two come first: once a test has waited for a workflow's result, this server was seen to
  // let its clock run on by itself, ending a grace period (or reaching a deadline) at once.
  it('cancelled during its grace period, an erasure changes nothing', async () => {
    const org = await tenant();
    const before = await snapshot(org);
    const input = await erasureRequest(db, org.orgId, 'organization', null);
    await (
      await worker()
    ).runUntil(async () => {
      const handle = await start(input);
      expect((await handle.query(gdprErasureQueries.progress)).phase).toBe('grace');
      await handle.signal(gdprErasureSignals.cancel);
      expect(await handle.result()).toMatchObject({ phase: 'cancelled', stores: [] });
    });
    expect(await requestRow(org.orgId, input.requestId)).toMatchObject({ status: 'cancelled' });
    expect(await snapshot(org)).toEqual(before);
  });

  it('a cancel the API recorded just before the grace period ended wins over the timer', async () => {
    const org = await tenant();
    const before = await snapshot(org);
    const input = await erasureRequest(db, org.orgId, 'organization', null);
    // What POST …/cancel writes; its signal lost (the workflow finds the row when its grace ends).
    await withTenant(db, org.orgId, (tx) =>
      tx
        .update(dataRequests)
        .set({ status: 'cancelled', finishedAt: new Date() })
        .where(eq(dataRequests.id, input.requestId)),
    );
    await (
      await worker()
    ).runUntil(async () => {
      expect(await (await start(input)).result()).toMatchObject({ phase: 'cancelled', stores: [] });
    });
    expect(await snapshot(org)).toEqual(before);
  });

  it('flags the request overdue when a store still fails at the legal deadline, and keeps trying', async () => {
    const org = await tenant();
    const input = await erasureRequest(db, org.orgId, 'organization', null);
    await (
      await worker({ vectors: () => Promise.reject(new Error('the vector store is down')) })
    ).runUntil(async () => {
      const handle = await start(input);
      await env.sleep('31 days');
      const progress = await handle.query(gdprErasureQueries.progress);
      expect(progress).toMatchObject({ phase: 'erasing', overdue: true, finishedAt: null });
      expect(progress.stores.map((s) => s.store)).toEqual(['redis', 'account', 'usage', 'billing']);
      const row = await requestRow(org.orgId, input.requestId);
      expect(row).toMatchObject({ status: 'running', finishedAt: null });
      expect(row.overdueAt!.getTime()).toBeGreaterThanOrEqual(row.dueAt.getTime());
      await terminateWhenIdle(env, handle);
    });
  }, 180_000);

  it('erases an organization after its grace period: no trace in any store but what the law keeps, and its payloads no longer decrypt', async () => {
    const org = await tenant();
    const codec = new TenantPayloadCodec(dataKeys());
    const sealed = await codec.encode([
      defaultPayloadConverter.toPayload({ orgId: org.orgId, note: 'history' }),
    ]);
    await expect(codec.decode(sealed)).resolves.toHaveLength(1);
    const deleteCustomer = vi.spyOn(stripe.customers, 'del');
    const input = await erasureRequest(db, org.orgId, 'organization', null);

    await (
      await worker()
    ).runUntil(async () => {
      const handle = await start(input);
      expect(await handle.query(gdprErasureQueries.progress)).toMatchObject({ phase: 'grace', stores: [] });
      const result = await handle.result();
      expect(result).toMatchObject({ phase: 'erased', blockedReason: null });
      expect(result.stores.map((s) => s.store)).toEqual([...erasureStores.organization]);
      if (process.env.RECORD_HISTORIES === '1') saveHistory('gdpr-erasure', await handle.fetchHistory());
    });

    expect(await requestRow(org.orgId, input.requestId)).toMatchObject({
      status: 'completed',
      subjectUserId: null,
      requestedBy: null,
    });

    // Nothing of the organization is left: not its name, team, invitations, keys or documents.
    const identifiers = [org.orgName, org.teamName, org.inviteeEmail, org.documentPhrase, ...org.keyPrefixes];
    expect(await databaseTraces(admin, identifiers)).toEqual([]);
    expect(await redisTraces(redis, [org.orgId])).toEqual([]);
    expect(await storage.forTenant(org.orgId).list()).toEqual([]);
    const { rows: uploaded } = await admin.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM files WHERE org_id = $1',
      [org.orgId],
    );
    expect(uploaded[0]!.n).toBe(0);
    expect(await (await openVectors()).forTenant(org.orgId).count(erasureCollection)).toBe(0);
    const [account] = (
      await admin.query<{ stripe_customer_id: string }>(
        'SELECT stripe_customer_id FROM billing_accounts WHERE org_id = $1',
        [org.orgId],
      )
    ).rows;
    expect(deleteCustomer).toHaveBeenCalledWith(account!.stripe_customer_id);

    // What the law keeps stays, pointing at nobody: usage, the billing account, the audit log.
    const kept = await admin.query<{ usage: string; audit: string; members: string; org: string }>(
      `SELECT (SELECT count(*) FROM usage_hourly WHERE org_id = $1) AS usage,
              (SELECT count(*) FROM audit_log WHERE org_id = $1) AS audit,
              (SELECT count(*) FROM memberships WHERE org_id = $1) AS members,
              (SELECT name || '/' || status FROM organizations WHERE id = $1) AS org`,
      [org.orgId],
    );
    expect(kept.rows[0]).toEqual({ usage: '2', audit: '2', members: '0', org: 'Erased organization/erased' });

    // Crypto-shredding: what was sealed under the tenant's key before no longer opens.
    await expect(new TenantPayloadCodec(dataKeys()).decode(sealed)).rejects.toThrow(/destroyed/);

    const [tombstone] = await withTenant(db, org.orgId, (tx) =>
      tx.select().from(erasureTombstones).where(eq(erasureTombstones.requestId, input.requestId)),
    );
    expect(tombstone!.subjectSha256).toBe(
      createHash('sha256')
        .update(erasureSubject('organization', org.orgId, null))
        .digest('hex'),
    );
    expect(tombstone!.stores.find((s) => s.store === 'account')!.counts).toMatchObject({
      memberships: 2,
      teams: 1,
      invitations: 1,
      api_keys: 2,
    });
    expect(tombstone!.stores.find((s) => s.store === 'audit')).toMatchObject({ action: 'kept' });
    expect(JSON.stringify(tombstone)).not.toContain(org.owner.email);
  }, 180_000);

  it("erases a person in the organization and nobody else's data", async () => {
    const org = await tenant();
    const input = await erasureRequest(db, org.orgId, 'person', org.other.id);
    await (
      await worker()
    ).runUntil(async () => {
      const result = await (await start(input)).result();
      expect(result.phase).toBe('erased');
      expect(result.stores.map((s) => s.store)).toEqual([...erasureStores.person]);
    });

    expect(await databaseTraces(admin, [org.other.email, org.otherName])).toEqual([]);
    expect(await redisTraces(redis, [org.other.email, org.other.keyId])).toEqual([]);
    const [key] = (
      await admin.query('SELECT name, revoked_at FROM api_keys WHERE id = $1', [org.other.keyId])
    ).rows;
    expect(key).toMatchObject({ name: 'key of an erased member', revoked_at: expect.any(Date) });
    const after = await snapshot(org);
    expect(after.tables.memberships.map((m) => m.user_id)).toEqual([org.owner.id]);
    expect(after.tables.teamMembers).toEqual([]);
    expect(after.tokens).toEqual([]);
    // The organization and its owner keep what is theirs.
    expect((await databaseTraces(admin, [org.owner.email, org.orgName])).map((t) => t.where).sort()).toEqual([
      'organizations',
      'users',
    ]);
    expect(after.redisKeys).toEqual(
      [`vl:lim:{${org.orgId}}:key:${org.owner.keyId}:rpm`, `vl:lim:{${org.orgId}}:rpm`].sort(),
    );
    expect(after.objects.map((o) => o.name).sort()).toEqual(
      ['files/handbook.txt', `files/${org.fileId}`].sort(),
    );
    expect(after.points).toBe(1);
  });

  it('a legal hold blocks the erasure with its reason, and nothing changes', async () => {
    const org = await tenant();
    await withTenant(db, org.orgId, (tx) =>
      tx.execute(sql`INSERT INTO legal_holds (org_id, reason, placed_by)
        VALUES (${org.orgId}, 'litigation hold: case 42', ${org.owner.id})`),
    );
    const before = await snapshot(org);
    const input = await erasureRequest(db, org.orgId, 'organization', null);
    await (
      await worker()
    ).runUntil(async () => {
      const result = await (await start(input)).result();
      expect(result).toMatchObject({
        phase: 'blocked',
        blockedReason: 'litigation hold: case 42',
        stores: [],
      });
    });
    expect(await requestRow(org.orgId, input.requestId)).toMatchObject({
      status: 'blocked',
      blockedReason: 'litigation hold: case 42',
    });
    expect(await snapshot(org)).toEqual(before);
  });

  it('a second erasure of the same person finds nothing left and changes nothing', async () => {
    const org = await tenant();
    await (
      await worker()
    ).runUntil(async () => {
      await (await start(await erasureRequest(db, org.orgId, 'person', org.other.id))).result();
      const once = await snapshot(org);
      const again = await (await start(await erasureRequest(db, org.orgId, 'person', org.other.id))).result();
      expect(again.phase).toBe('erased');
      const account = again.stores.find((s) => s.store === 'account')!;
      expect(Object.values(account.counts).every((n) => n === 0)).toBe(true);
      expect(await snapshot(org)).toEqual(once);
    });
  });
});
