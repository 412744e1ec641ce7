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

describe('GDPR erasure through the API', () => {
  interface ErasureView extends DataRequestView {
    kind: 'erasure';
    graceEndsAt: string;
    blockedReason: string | null;
  }

  async function askErasure(user: TestUser, scope: 'person' | 'organization'): Promise<ErasureView> {
    const res = await call(user, 'POST', '', { kind: 'erasure', scope });
    expect(res.statusCode, res.body).toBe(202);
    return res.json<ErasureView>();
  }

  /** The fingerprint's parts before the data requests (organization, members, teams, keys, SSO, clients). */
  const rowsButRequestsAndAudit = (fingerprint: string) => fingerprint.split('|').slice(0, 9);

  async function auditActions(requestId: string): Promise<string[]> {
    const { rows } = await admin.query<{ action: string }>(
      `SELECT action FROM audit_log WHERE target_id = $1 ORDER BY id`,
      [requestId],
    );
    return rows.map((r) => r.action);
  }

  it('waits out a grace period in which the person cancels it: asked twice, it is one erasure; cancelled, nothing changed', async () => {
    const before = await orgFingerprint(admin, orgId);
    const asked = await askErasure(member, 'person');
    expect(asked).toMatchObject({ kind: 'erasure', status: 'pending', subjectUserId: member.id });
    const graceDays = (Date.parse(asked.graceEndsAt) - Date.parse(asked.requestedAt)) / 86_400_000;
    expect(graceDays).toBe(7);
    expect((await askErasure(member, 'person')).id).toBe(asked.id);

    const cancelled = await call(member, 'POST', `/${asked.id}/cancel`);
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    expect(cancelled.json<ErasureView>()).toMatchObject({
      status: 'cancelled',
      finishedAt: expect.any(String),
    });
    const again = await call(member, 'POST', `/${asked.id}/cancel`);
    expect(again.statusCode).toBe(409);
    expect(await auditActions(asked.id)).toEqual(['data_request.created', 'data_request.cancelled']);
    expect(rowsButRequestsAndAudit(await orgFingerprint(admin, orgId))).toEqual(
      rowsButRequestsAndAudit(before),
    );
  });

  it('lets only an owner erase the organization, and nobody else cancel it; an export cannot be cancelled', async () => {
    const before = await orgFingerprint(admin, orgId);
    const refused = await call(member, 'POST', '', { kind: 'erasure', scope: 'organization' });
    expect(refused.statusCode).toBe(403);
    expect(await orgFingerprint(admin, orgId)).toEqual(before);

    const asked = await askErasure(owner, 'organization');
    expect((await call(member, 'GET', `/${asked.id}`)).statusCode).toBe(404);
    expect((await call(member, 'POST', `/${asked.id}/cancel`)).statusCode).toBe(404);
    expect((await call(otherOwner, 'POST', `/${asked.id}/cancel`)).statusCode).toBe(404);
    expect((await call(otherOwner, 'POST', `/${asked.id}/cancel`, undefined, otherOrgId)).statusCode).toBe(
      404,
    );
    expect((await call(owner, 'GET', `/${asked.id}`)).json<ErasureView>().status).toBe('pending');
    expect((await call(owner, 'POST', `/${asked.id}/cancel`)).statusCode).toBe(200);

    const exported = await ask(member, 'person');
    const notCancellable = await call(member, 'POST', `/${exported.id}/cancel`);
    expect(notCancellable.statusCode).toBe(409);
    expect(errorCode(notCancellable)).toBe('CONFLICT');
  });

  it('lets operators, and nobody else, place, list and release legal holds, each audited', async () => {
    const operator = await signUp(t.app, 'gdpr-operator');
    await admin.query(`UPDATE users SET platform_role = 'operator' WHERE id = $1`, [operator.id]);
    const holds = (user: TestUser, path = '', payload?: object) =>
      t.app.inject({
        method: payload || path ? 'POST' : 'GET',
        url: `/api/admin/orgs/${orgId}/legal-holds${path}`,
        headers: bearer(user),
        ...(payload && { payload }),
      });
    expect((await holds(owner, '', { reason: 'mine' })).statusCode).toBe(403);
    const notMember = await holds(operator, '', { reason: 'x', subjectUserId: otherOwner.id });
    expect(notMember.statusCode).toBe(404);

    const placed = await holds(operator, '', { reason: 'tax audit 2026', subjectUserId: member.id });
    expect(placed.statusCode, placed.body).toBe(201);
    const hold = placed.json<{ id: string; releasedAt: string | null }>();
    expect((await holds(operator)).json<{ items: { id: string }[] }>().items.map((h) => h.id)).toContain(
      hold.id,
    );
    const released = await holds(operator, `/${hold.id}/release`);
    expect(released.statusCode).toBe(200);
    expect(released.json<{ releasedAt: string | null }>().releasedAt).not.toBeNull();
    expect((await holds(operator, `/${hold.id}/release`)).statusCode).toBe(409);
    expect(await auditActions(hold.id)).toEqual(['legal_hold.placed', 'legal_hold.released']);
  });
});
