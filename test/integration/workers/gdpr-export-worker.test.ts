// A GDPR export on the real dev server with the real tenants worker process, its archive on S3
// (rclone's server): the worker is SIGKILLed mid-export (four stores written, Stripe unreachable for
// the fifth) and restarted with Stripe back, and the export completes with a manifest whose
// checksums verify, every file once.
import { createHash } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ObjectStorage } from '../../../activities/storage/index.js';
import { S3ObjectStore } from '../../../activities/storage/s3-store.js';
import { archivePrefix, type ExportManifest } from '../../../core/data-requests.js';
import { createDb, createPool, type Db } from '../../../db/client.js';
import { dataRequests } from '../../../db/schema/index.js';
import { withTenant } from '../../../db/tenant.js';
import { DataKeyStore } from '../../../runtime/data-keys.js';
import { masterKeyFromConfig } from '../../../runtime/envelope.js';
import { createStripe } from '../../../runtime/stripe.js';
import { taskQueues, workflowIds } from '../../../temporal.config.js';
import { gdprExportQueries } from '../../../workflows/definitions.js';
import type { gdprExport } from '../../../workflows/index.js';
import { buildTestApp, type TestApp } from '../../support/app.js';
import { envFromConfig, startProcess, waitUntil } from '../../support/child-process.js';
import { workerNamespaces } from '../../support/global-setup.js';
import { suiteS3Options } from '../../support/s3.js';
import { freePort } from '../../support/services.js';
import { exportRequest, seedExportTenant } from '../../workflows/gdpr-export-fixture.js';

let t: TestApp;
let pool: pg.Pool;
let db: Db;
let store: S3ObjectStore;
let storage: ObjectStorage;
const s3 = suiteS3Options();

beforeAll(async () => {
  t = await buildTestApp({
    TEMPORAL_NAMESPACE: workerNamespaces.gdprExport,
    STRIPE_API_URL: inject('stripeUrl'),
  });
  pool = createPool({ url: inject('databaseUrl'), size: 2, applicationName: 'test-gdpr-export-worker' });
  db = createDb(pool);
  store = new S3ObjectStore(s3);
  storage = new ObjectStorage(store, new DataKeyStore(db, masterKeyFromConfig(t.config)), s3.maxBytes);
});

afterAll(async () => {
  store?.close();
  await pool?.end();
  await t?.close();
});

describe('tenants worker', () => {
  it('completes a GDPR export after being killed mid-export, with a manifest whose checksums verify', async () => {
    const org = await seedExportTenant(db, (orgId) => storage.forTenant(orgId), createStripe(t.config));
    const input = await exportRequest(db, org.orgId, 'organization', null);
    const workerEnv = async (stripeUrl: string) =>
      envFromConfig(t.config, {
        S3_BUCKET: s3.bucket,
        S3_ENDPOINT: s3.endpoint!,
        S3_ACCESS_KEY_ID: s3.credentials!.accessKeyId,
        S3_SECRET_ACCESS_KEY: s3.credentials!.secretAccessKey,
        S3_FORCE_PATH_STYLE: 'true',
        STRIPE_API_URL: stripeUrl,
        LOG_LEVEL: 'error',
        WORKER_METRICS_PORT: String(await freePort()),
      });

    // Stripe unreachable: the billing store fails until the worker is replaced.
    const first = startProcess('workers/main.ts', await workerEnv(`http://127.0.0.1:${await freePort()}`));
    const handle = await t.app.temporal.workflow.start<typeof gdprExport>('gdprExport', {
      taskQueue: taskQueues.tenants,
      workflowId: workflowIds.gdprExport(input.requestId),
      args: [input],
    });
    // A query needs a worker: until one is up (starting, or killed) it times out, which is not yet.
    const progress = () => handle.query(gdprExportQueries.progress).catch(() => undefined);
    await waitUntil('four stores written', async () => (await progress())?.stores.length === 4, first);
    first.child.kill('SIGKILL');
    expect(await first.exited).toBeNull();

    const second = startProcess('workers/main.ts', await workerEnv(inject('stripeUrl')));
    await waitUntil('the export archived', async () => (await progress())?.phase === 'archived', second);

    const objects = storage.forTenant(org.orgId);
    const manifestObject = (await objects.get(`${archivePrefix(input.requestId)}manifest.json`))!;
    const manifest = JSON.parse(manifestObject.body.toString()) as ExportManifest;
    expect(new Set(manifest.files.map((f) => f.name)).size).toBe(manifest.files.length);
    expect(manifest.files.map((f) => f.name)).toContain(
      `${archivePrefix(input.requestId)}billing-invoices.csv`,
    );
    for (const file of manifest.files) {
      const body = (await objects.get(file.name))!.body;
      expect({
        ...file,
        sha256: createHash('sha256').update(body).digest('hex'),
        bytes: body.length,
      }).toEqual(file);
    }
    // Nothing in the archive's folder that the manifest does not list.
    expect((await objects.list(archivePrefix(input.requestId))).map((o) => o.name).sort()).toEqual(
      [...manifest.files.map((f) => f.name), `${archivePrefix(input.requestId)}manifest.json`].sort(),
    );
    const [row] = await withTenant(db, org.orgId, (tx) =>
      tx.select().from(dataRequests).where(eq(dataRequests.id, input.requestId)),
    );
    expect(row).toMatchObject({
      status: 'completed',
      manifestSha256: createHash('sha256').update(manifestObject.body).digest('hex'),
    });

    await handle.terminate('test finished');
    second.child.kill('SIGTERM');
    expect(await second.exited, second.output()).toBe(0);
  }, 600_000);
});
