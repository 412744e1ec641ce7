// GDPR data requests through the API, with a real tenants worker (its own namespace) and the archive
// on the suite's S3 server: a member asks for their own export and downloads every file, each
// matching the checksum the request lists; the owner asks for the organization's; a member may not,
// nor see another person's request; another tenant sees none of it; an expired archive is gone.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { LightMyRequestResponse } from 'fastify';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { FileMailer } from '../../../activities/mail/mailer.js';
import { createDb, createPool } from '../../../db/client.js';
import { createTenantsWorker } from '../../../workers/bootstrap.js';
import { buildTestApp, type TestApp } from '../../support/app.js';
import { workerNamespaces } from '../../support/global-setup.js';
import { suiteS3Options } from '../../support/s3.js';
import { addMember, adminPool, bearer, errorCode, seedActiveOrg, signUp, type TestUser } from './helpers.js';
import { orgFingerprint } from './state.js';

interface DataRequestView {
  id: string;
  scope: 'person' | 'organization';
  subjectUserId: string | null;
  status: string;
  dueAt: string;
  requestedAt: string;
  archiveExpiresAt: string | null;
  manifestSha256: string | null;
  files: { name: string; bytes: number; sha256: string }[];
}

const s3 = suiteS3Options();
let t: TestApp;
let admin: pg.Pool;
let pool: pg.Pool;
let connection: NativeConnection;
let worker: Worker;
let running: Promise<void>;
let mailDir: string;
let owner: TestUser;
let member: TestUser;
let orgId: string;
let otherOwner: TestUser;
let otherOrgId: string;

beforeAll(async () => {
  t = await buildTestApp({
    TEMPORAL_NAMESPACE: workerNamespaces.dataRequests,
    STRIPE_API_URL: inject('stripeUrl'),
    S3_BUCKET: s3.bucket,
    S3_ENDPOINT: s3.endpoint!,
    S3_ACCESS_KEY_ID: s3.credentials!.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.credentials!.secretAccessKey,
    S3_FORCE_PATH_STYLE: 'true',
  });
  admin = adminPool();
  pool = createPool({ url: t.config.DATABASE_URL, size: 3, applicationName: 'vlinders-test-worker' });
  connection = await NativeConnection.connect({ address: inject('temporalAddress') });
  mailDir = mkdtempSync(join(tmpdir(), 'vlinders-data-requests-mail-'));
  worker = await createTenantsWorker({
    config: t.config,
    connection,
    db: createDb(pool),
    mailer: new FileMailer(mailDir),
  });
  running = worker.run();

  owner = await signUp(t.app, 'gdpr-owner');
  orgId = await seedActiveOrg(admin, owner, 'Data Subjects Co');
  member = await signUp(t.app, 'gdpr-member');
  await addMember(admin, orgId, member.id, 'member');
  otherOwner = await signUp(t.app, 'gdpr-other');
  otherOrgId = await seedActiveOrg(admin, otherOwner, 'Other Co');
}, 120_000);

afterAll(async () => {
  worker?.shutdown();
  await running;
  await connection?.close();
  await pool?.end();
  await t?.close();
  await admin?.end();
  rmSync(mailDir, { recursive: true, force: true });
});

function call(
  user: TestUser,
  method: 'GET' | 'POST',
  path: string,
  payload?: object,
  org = orgId,
): Promise<LightMyRequestResponse> {
  return t.app.inject({
    method,
    url: `/api/orgs/${org}/data-requests${path}`,
    headers: bearer(user),
    ...(payload && { payload }),
  });
}

async function ask(user: TestUser, scope: 'person' | 'organization'): Promise<DataRequestView> {
  const res = await call(user, 'POST', '', { kind: 'export', scope });
  expect(res.statusCode, res.body).toBe(202);
  return res.json<DataRequestView>();
}

async function completed(user: TestUser, requestId: string): Promise<DataRequestView> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const view = (await call(user, 'GET', `/${requestId}`)).json<DataRequestView>();
    if (view.status === 'completed') return view;
    if (Date.now() > deadline) throw new Error(`export ${requestId} not completed: ${JSON.stringify(view)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function download(user: TestUser, requestId: string, file: string): Promise<LightMyRequestResponse> {
  return call(user, 'GET', `/${requestId}/archive/${file}`);
}

const sha256 = (body: Buffer) => createHash('sha256').update(body).digest('hex');

describe('GDPR export through the API', () => {
  it("gives a member their own data: every file downloads and matches the request's checksums", async () => {
    const asked = await ask(member, 'person');
    expect(asked).toMatchObject({ scope: 'person', subjectUserId: member.id, files: [] });
    expect(new Date(asked.dueAt).getTime() - new Date(asked.requestedAt).getTime()).toBe(30 * 86_400_000);

    const done = await completed(member, asked.id);
    expect(done.files.map((f) => f.name)).toEqual(
      expect.arrayContaining(['manifest.json', 'account.json', 'api-keys.json', 'audit.json', 'usage.json']),
    );
    expect(done.files.find((f) => f.name === 'manifest.json')?.sha256).toBe(done.manifestSha256);
    for (const file of done.files) {
      const res = await download(member, asked.id, file.name);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers['content-disposition']).toBe(`attachment; filename="${file.name}"`);
      expect({ ...file, bytes: res.rawPayload.length, sha256: sha256(res.rawPayload) }).toEqual(file);
    }
    const account = (await download(member, asked.id, 'account.json')).json<Record<string, unknown>>();
    expect(JSON.stringify(account)).toContain(member.email);
    expect(JSON.stringify(account)).not.toContain(owner.email);

    const { rows } = await admin.query<{ action: string }>(
      `SELECT action FROM audit_log WHERE org_id = $1 AND target_id = $2 ORDER BY id`,
      [orgId, asked.id],
    );
    expect(rows.map((r) => r.action)).toEqual([
      'data_request.created',
      ...done.files.map(() => 'data_request.downloaded'),
      'data_request.downloaded',
    ]);
  });

  it("gives the owner the organization's export; a member may neither ask for it nor see it", async () => {
    const before = await orgFingerprint(admin, orgId);
    const refused = await call(member, 'POST', '', { kind: 'export', scope: 'organization' });
    expect(refused.statusCode).toBe(403);
    expect(errorCode(refused)).toBe('FORBIDDEN');
    expect(await orgFingerprint(admin, orgId)).toBe(before);

    const asked = await ask(owner, 'organization');
    expect(asked).toMatchObject({ scope: 'organization', subjectUserId: null });
    const done = await completed(owner, asked.id);
    expect(done.files.map((f) => f.name)).toEqual(expect.arrayContaining(['billing.json', 'files.json']));

    expect((await call(member, 'GET', `/${asked.id}`)).statusCode).toBe(404);
    expect((await download(member, asked.id, 'manifest.json')).statusCode).toBe(404);
    const mine = (await call(member, 'GET', '')).json<{ items: DataRequestView[] }>().items;
    expect(mine.every((r) => r.subjectUserId === member.id)).toBe(true);
    const all = (await call(owner, 'GET', '')).json<{ items: DataRequestView[] }>().items;
    expect(all.map((r) => r.id)).toContain(asked.id);
    expect(all.some((r) => r.subjectUserId === member.id)).toBe(true);
  });

  it("shows another tenant nothing: not under the victim's org, not by id under its own", async () => {
    const asked = await ask(owner, 'organization');
    await completed(owner, asked.id);
    expect((await call(otherOwner, 'GET', `/${asked.id}`)).statusCode).toBe(404);
    expect((await call(otherOwner, 'GET', '')).statusCode).toBe(404);
    const underOwn = await call(otherOwner, 'GET', `/${asked.id}`, undefined, otherOrgId);
    expect(underOwn.statusCode).toBe(404);
    const file = await call(otherOwner, 'GET', `/${asked.id}/archive/manifest.json`, undefined, otherOrgId);
    expect(file.statusCode).toBe(404);
    expect((await call(otherOwner, 'GET', '', undefined, otherOrgId)).json()).toEqual({ items: [] });
  });

  it('answers 410 once the archive has expired, and lists no files', async () => {
    const asked = await ask(member, 'person');
    await completed(member, asked.id);
    await admin.query(
      `UPDATE data_requests SET archive_expires_at = now() - interval '1 second' WHERE id = $1`,
      [asked.id],
    );
    const gone = await download(member, asked.id, 'manifest.json');
    expect(gone.statusCode).toBe(410);
    expect(errorCode(gone)).toBe('GONE');
    expect((await call(member, 'GET', `/${asked.id}`)).json<DataRequestView>().files).toEqual([]);
  });

  it('answers 404 for a file the archive does not have', async () => {
    const asked = await ask(member, 'person');
    await completed(member, asked.id);
    const res = await download(member, asked.id, 'secrets.json');
    expect(res.statusCode).toBe(404);
  });
});
