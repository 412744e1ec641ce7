// The GDPR export workflow in the time-skipping environment, with the real activities against the
// real PostgreSQL, S3 (rclone's server), stripe-mock and the embedded vector store: an
// organization's export and a person's, each part listed in the manifest with a SHA-256 that
// verifies, the request recorded as finished, the requester mailed the link, the archive deleted
// when it expires; and a store that keeps failing past the legal deadline
// flagging the request overdue. Set RECORD_HISTORIES=1 to re-record the replay fixture.
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker, type WorkflowBundle } from '@temporalio/worker';
import { eq } from 'drizzle-orm';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createGdprActivities, type GdprDeps } from '../../activities/gdpr/index.js';
import { FileMailer } from '../../activities/mail/mailer.js';
import { createMailActivities } from '../../activities/outbox.js';
import { sharedVectorStore } from '../../activities/vectors/index.js';
import { ObjectStorage } from '../../activities/storage/index.js';
import { S3ObjectStore } from '../../activities/storage/s3-store.js';
import { archivePrefix, type ExportManifest } from '../../core/data-requests.js';
import { createDb, createPool, type Db } from '../../db/client.js';
import { dataRequests } from '../../db/schema/index.js';
import { withTenant } from '../../db/tenant.js';
import { DataKeyStore } from '../../runtime/data-keys.js';
import { masterKeyFromConfig } from '../../runtime/envelope.js';
import { createStripe, type Stripe } from '../../runtime/stripe.js';
import { workflowIds } from '../../temporal.config.js';
import { gdprExportQueries, type GdprExportInput } from '../../workflows/definitions.js';
import { gdprExport } from '../../workflows/index.js';
import { bundleWorkflows } from '../../workers/bootstrap.js';
import { testConfig } from '../support/config.js';
import { suiteS3Options } from '../support/s3.js';
import { exportRequest, seedExportTenant, type ExportTenant } from './gdpr-export-fixture.js';
import { saveHistory } from './histories.js';
import { createTimeSkippingEnv, terminateWhenIdle } from './time-skipping-env.js';

const taskQueue = 'gdpr-export-time-skipping';

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundle;
let pool: pg.Pool;
let db: Db;
let store: S3ObjectStore;
let storage: ObjectStorage;
let stripe: Stripe;
let vectors: ReturnType<typeof sharedVectorStore>;
let scratch: string;
const publicUrl = 'https://vlinders.example.test';
const collection = { model: 'export-test-embedding', dimensions: 3 };

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'vlinders-gdpr-export-'));
  vectors = sharedVectorStore({ VECTOR_DATA_DIR: join(scratch, 'vectors') });
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  pool = createPool({ url: inject('databaseUrl'), size: 4, applicationName: 'test-gdpr-export' });
  db = createDb(pool);
  store = new S3ObjectStore(suiteS3Options());

  storage = new ObjectStorage(store, new DataKeyStore(db, masterKeyFromConfig(testConfig())), 1 << 20);
  stripe = createStripe(testConfig({ STRIPE_API_URL: inject('stripeUrl') }));
  [env, bundle] = await Promise.all([createTimeSkippingEnv(), bundleWorkflows()]);
});

afterAll(async () => {
  await env?.teardown();
  store?.close();
  await vectors?.close();
  await pool?.end();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** The export fixture's organization, with a document's chunk in the vector store. */
async function tenant() {
  const org = await seedExportTenant(db, (orgId) => storage.forTenant(orgId), stripe);
  const store = await vectors.open();
  await store.ensureCollection(collection);
  await store.forTenant(org.orgId).upsert(collection, [
    {
      id: randomUUID(),
      vector: [0, 1, 0],
      storeId: 'vs_1',
      fileId: 'file_1',
      text: 'chapter one',
      attributes: {},
    },
  ]);
  return org;
}

const mailDir = () => join(scratch, 'mail');

function worker(overrides: Partial<GdprDeps> = {}) {
  const activities = {
    ...createGdprActivities({ db, storage, stripe, vectors: vectors.open, publicUrl, ...overrides }),
    ...createMailActivities({ db, mailer: new FileMailer(mailDir()), from: 'privacy@vlinders.test' }),
  };
  return Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: bundle, activities });
}

/** The mails written about a request (the embedded mailer's <id>.json): the ready mail names its link. */
function mailsAbout(requestId: string): { to: string; text: string }[] {
  let names: string[] = [];
  try {
    names = readdirSync(mailDir());
  } catch {
    return [];
  }
  return names
    .filter((name) => name.endsWith('.json'))
    .map((name) => JSON.parse(readFileSync(join(mailDir(), name), 'utf8')) as { to: string; text: string })
    .filter((mail) => mail.text.includes(requestId));
}

async function start(input: GdprExportInput) {
  return env.client.workflow.start(gdprExport, {
    taskQueue,
    workflowId: workflowIds.gdprExport(input.requestId),
    args: [input],
  });
}

const requestRow = async (orgId: string, id: string) =>
  (await withTenant(db, orgId, (tx) => tx.select().from(dataRequests).where(eq(dataRequests.id, id))))[0]!;

/** The archive as a data subject receives it: the manifest, and every file it lists, verified. */
async function readArchive(orgId: string, requestId: string) {
  const objects = storage.forTenant(orgId);
  const manifestObject = await objects.get(`${archivePrefix(requestId)}manifest.json`);
  const manifest = JSON.parse(manifestObject!.body.toString()) as ExportManifest;
  const files = new Map<string, string>();
  for (const file of manifest.files) {
    const body = (await objects.get(file.name))!.body;
    expect({
      name: file.name,
      sha256: createHash('sha256').update(body).digest('hex'),
      bytes: body.length,
    }).toEqual(file);
    files.set(file.name.slice(archivePrefix(requestId).length), body.toString());
  }
  return { manifest, manifestObject: manifestObject!, files };
}

async function untilPhase(handle: Awaited<ReturnType<typeof start>>, phase: string) {
  for (let i = 0; i < 300; i++) {
    if ((await handle.query(gdprExportQueries.progress)).phase === phase) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the export never reached ${phase}`);
}

describe('gdpr-export (time-skipping)', () => {
  let org: ExportTenant;
  beforeAll(async () => {
    org = await tenant();
  });

  it("archives the organization's every store with a manifest whose checksums verify, then deletes it when it expires", async () => {
    const input = await exportRequest(db, org.orgId, 'organization', null);
    await (
      await worker()
    ).runUntil(async () => {
      const handle = await start(input);
      await untilPhase(handle, 'archived');

      const { manifest, manifestObject, files } = await readArchive(org.orgId, input.requestId);
      expect(manifest).toMatchObject({ requestId: input.requestId, orgId: org.orgId, scope: 'organization' });
      expect([...files.keys()].sort()).toEqual(
        [
          'account.json',
          'account-organization.csv',
          'account-members.csv',
          'account-teams.csv',
          'account-invitations.csv',
          'api-keys.json',
          'api-keys-keys.csv',
          'audit.json',
          'audit-entries.csv',
          'usage.json',
          'usage-hourly.csv',
          'billing.json',
          'billing-accounts.csv',
          'billing-invoices.csv',
          'files.json',
          'files-objects.csv',
          'files-files.csv',
          'files-vector_stores.csv',
          'files-vector_store_files.csv',
          `files-content-${org.fileId}.txt`,
          'vectors.json',
          'vectors-points.csv',
        ].sort(),
      );
      for (const person of [org.owner, org.other]) {
        expect(files.get('account-members.csv')).toContain(person.email);
        expect(files.get('api-keys-keys.csv')).toContain(person.keyId);
        expect(files.get('usage-hourly.csv')).toContain(person.keyId);
      }
      expect(files.get('files-objects.csv')).toContain('files/handbook.txt');
      expect(files.get('files-files.csv')).toContain('guide.txt');
      expect(files.get(`files-content-${org.fileId}.txt`)).toBe('the uploaded guide');
      expect(files.get('vectors-points.csv')).toContain('chapter one');
      expect(JSON.parse(files.get('billing.json')!)).toMatchObject({ customer: { object: 'customer' } });
      expect(files.get('api-keys-keys.csv')).not.toContain('hash');

      const row = await requestRow(org.orgId, input.requestId);
      expect(row).toMatchObject({
        status: 'completed',
        manifestSha256: createHash('sha256').update(manifestObject.body).digest('hex'),
        archivePrefix: archivePrefix(input.requestId),
        overdueAt: null,
      });
      expect(row.finishedAt!.getTime()).toBeLessThanOrEqual(row.dueAt.getTime());
      expect(row.archiveExpiresAt).toEqual(manifestObject.expiresAt);

      const result = await handle.result();
      expect(result).toMatchObject({ phase: 'expired', overdue: false });
      expect(await storage.forTenant(org.orgId).list(archivePrefix(input.requestId))).toEqual([]);
      expect(await requestRow(org.orgId, input.requestId)).toMatchObject({ status: 'expired' });
      if (process.env.RECORD_HISTORIES === '1') saveHistory('gdpr-export', await handle.fetchHistory());
    });
  });

  it("gives a person their own rows in the organization and nobody else's", async () => {
    const input = await exportRequest(db, org.orgId, 'person', org.other.id);
    await (
      await worker()
    ).runUntil(async () => {
      const handle = await start(input);
      await untilPhase(handle, 'archived');
      const { files } = await readArchive(org.orgId, input.requestId);
      expect([...files.keys()].some((name) => name.startsWith('billing') || name.startsWith('files'))).toBe(
        false,
      );
      const everything = [...files.values()].join('\n');
      expect(everything).toContain(org.other.email);
      expect(everything).toContain(org.other.keyId);
      expect(everything).not.toContain(org.owner.email);
      expect(everything).not.toContain(org.owner.keyId);
      expect(everything).not.toContain('chapter one');

      // The requester is mailed the link to the request, once.
      for (let i = 0; i < 600 && mailsAbout(input.requestId).length === 0; i++)
        await new Promise((r) => setTimeout(r, 100));
      const mails = mailsAbout(input.requestId);
      expect(mails).toHaveLength(1);
      expect(mails[0]!.to).toBe(org.other.email);
      expect(mails[0]!.text).toContain(`${publicUrl}/api/orgs/${org.orgId}/data-requests/${input.requestId}`);
      await terminateWhenIdle(env, handle);
    });
  });

  it('flags the request overdue when a store still fails at the legal deadline, and keeps trying', async () => {
    const input = await exportRequest(db, org.orgId, 'organization', null);
    // Billing without a Stripe key: the billing store fails on every attempt.
    await (
      await worker({ stripe: undefined })
    ).runUntil(async () => {
      const handle = await start(input);
      await env.sleep('31 days');
      const progress = await handle.query(gdprExportQueries.progress);
      expect(progress).toMatchObject({ phase: 'gathering', overdue: true, finishedAt: null });
      expect(progress.stores.map((s) => s.store)).toEqual(['account', 'api-keys', 'audit', 'usage']);
      const row = await requestRow(org.orgId, input.requestId);
      expect(row).toMatchObject({ status: 'running', finishedAt: null });
      expect(row.overdueAt!.getTime()).toBeGreaterThanOrEqual(row.dueAt.getTime());
      await terminateWhenIdle(env, handle);
    });
  }, 180_000);
});
