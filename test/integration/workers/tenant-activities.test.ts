// The onboarding activities one by one, against the real database under RLS: each is idempotent
// (a retry after a crash changes nothing twice), and the embedded mailer writes one message per id.
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { eq } from 'drizzle-orm';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createActivities, type Activities } from '../../../activities/index.js';
import { FileMailer, toEml } from '../../../activities/mail/mailer.js';
import { defaultOrgSettings } from '../../../activities/tenant.js';
import { createDb, createPool, type Db } from '../../../db/client.js';
import { organizations } from '../../../db/schema/index.js';
import { withTenant } from '../../../db/tenant.js';
import { createStripe } from '../../../runtime/stripe.js';
import { testConfig } from '../../support/config.js';
import { createPendingTenant, tenantState } from '../../workflows/tenant-fixture.js';

let pool: pg.Pool;
let db: Db;
let mailDir: string;
let activities: Activities;
const env = new MockActivityEnvironment();

/** Runs one activity by name inside a mock activity context, typed by its signature. */
function call<K extends keyof Activities>(
  name: K,
  input: Parameters<Activities[K]>[0],
): ReturnType<Activities[K]> {
  const fn = activities[name] as (arg: typeof input) => ReturnType<Activities[K]>;
  return env.run((arg: typeof input) => fn(arg), input) as ReturnType<Activities[K]>;
}

beforeAll(() => {
  pool = createPool({ url: inject('databaseUrl'), size: 4, applicationName: 'test-activities' });
  db = createDb(pool);
  mailDir = mkdtempSync(join(tmpdir(), 'vlinders-activities-mail-'));
  activities = createActivities({
    db,
    mailer: new FileMailer(mailDir),
    mailFrom: 'Vlinders <no-reply@vlinders.test>',
    stripe: createStripe(testConfig()),
  });
});

afterAll(async () => {
  await pool?.end();
});

describe('tenant activities', () => {
  it('apply once however often they run', async () => {
    const t = await createPendingTenant(db, 'Twice Inc');
    await withTenant(db, t.orgId, (tx) =>
      tx
        .update(organizations)
        .set({ settings: { timezone: 'Europe/Amsterdam' } })
        .where(eq(organizations.id, t.orgId)),
    );
    const key = (step: string) => `onboarding/${t.orgId}/${step}`;

    for (let i = 0; i < 2; i++) await call('initializeOrgSettings', { orgId: t.orgId });
    const owner = { orgId: t.orgId, userId: t.ownerUserId };
    expect(await call('ensureOwnerMembership', owner)).toEqual({ ...owner, created: true });
    expect(await call('ensureOwnerMembership', owner)).toEqual({ ...owner, created: false });
    const entry = {
      orgId: t.orgId,
      idempotencyKey: key('audit-owner'),
      actorId: t.ownerUserId,
      action: 'membership.created',
      targetType: 'membership',
      targetId: t.ownerUserId,
    };
    expect(await call('recordAuditEntry', entry)).toEqual({ orgId: t.orgId, recorded: true });
    expect(await call('recordAuditEntry', entry)).toEqual({ orgId: t.orgId, recorded: false });
    const mail = {
      orgId: t.orgId,
      idempotencyKey: key('welcome-mail'),
      to: t.ownerEmail,
      orgName: t.orgName,
    };
    const first = await call('enqueueWelcomeMail', mail);
    expect(await call('enqueueWelcomeMail', mail)).toEqual(first);
    expect(await call('deliverMail', first)).toEqual({ ...first, alreadySent: false });
    expect(await call('deliverMail', first)).toEqual({ ...first, alreadySent: true });

    const state = await tenantState(db, t.orgId);
    // The org's own timezone wins over the default; the other defaults are added.
    expect(state.org?.settings).toEqual({ ...defaultOrgSettings, timezone: 'Europe/Amsterdam' });
    expect(state.memberships).toHaveLength(1);
    expect(state.audit).toHaveLength(1);
    expect(state.outbox).toHaveLength(1);
    expect(readdirSync(mailDir).filter((f) => f.startsWith(first.outboxId))).toEqual([
      `${first.outboxId}.eml`,
      `${first.outboxId}.json`,
    ]);
    const eml = readFileSync(join(mailDir, `${first.outboxId}.eml`), 'utf8');
    expect(eml).toContain(`To: ${t.ownerEmail}`);
    expect(eml).toContain(`Message-ID: <${first.outboxId}@vlinders>`);
  });

  it('compensations take back exactly what onboarding added', async () => {
    const t = await createPendingTenant(db, 'Undo Ltd');
    const key = `onboarding/${t.orgId}/welcome-mail`;
    await call('initializeOrgSettings', { orgId: t.orgId });
    await call('ensureOwnerMembership', { orgId: t.orgId, userId: t.ownerUserId });
    await call('enqueueWelcomeMail', {
      orgId: t.orgId,
      idempotencyKey: key,
      to: t.ownerEmail,
      orgName: t.orgName,
    });

    await call('cancelUnsentMail', { orgId: t.orgId, idempotencyKey: key });
    await call('removeOwnerMembership', { orgId: t.orgId, userId: t.ownerUserId });
    await call('removeDefaultSettings', { orgId: t.orgId });
    await call('markOrgFailed', {
      orgId: t.orgId,
      reason: 'sending the welcome mail did not succeed in time',
    });

    const state = await tenantState(db, t.orgId);
    expect(state.org).toMatchObject({
      status: 'failed',
      failureReason: 'sending the welcome mail did not succeed in time',
      settings: {},
    });
    expect(state.memberships).toEqual([]);
    expect(state.outbox).toEqual([]);
  });

  it('writes a billing notice to every owner once per key, and refuses an org without owners', async () => {
    const t = await createPendingTenant(db, 'Owners Mail BV');
    const notice = {
      orgId: t.orgId,
      idempotencyKey: `subscription/${t.orgId}/trial-ending`,
      template: 'trial-ending',
      subject: 'Your trial ends in 3 days',
      text: 'Add a payment method to keep serving.',
    };
    await expect(call('enqueueOwnerMail', notice)).rejects.toMatchObject({
      type: 'NOT_FOUND',
      nonRetryable: true,
    });
    await call('ensureOwnerMembership', { orgId: t.orgId, userId: t.ownerUserId });
    const first = await call('enqueueOwnerMail', notice);
    expect(await call('enqueueOwnerMail', notice)).toEqual(first);
    await call('deliverMail', first);
    const eml = readFileSync(join(mailDir, `${first.outboxId}.eml`), 'utf8');
    expect(eml).toContain(`To: ${t.ownerEmail}`);
    expect(eml).toContain(Buffer.from('Add a payment method to keep serving.').toString('base64'));
    expect((await tenantState(db, t.orgId)).outbox).toHaveLength(1);
  });

  it('refuses, without retry, to onboard an org that does not exist', async () => {
    await expect(
      call('initializeOrgSettings', { orgId: '00000000-0000-4000-8000-000000000001' }),
    ).rejects.toMatchObject({
      type: 'NOT_FOUND',
      nonRetryable: true,
    });
  });

  it('writes mail headers safely: no header injection, non-ASCII encoded', () => {
    const eml = toEml(
      {
        id: 'abc',
        from: 'Vlinders <no-reply@vlinders.test>',
        to: 'a@example.test\r\nBcc: victim@example.test',
        subject: 'Welkom bij Vlinders — Café',
        text: 'hi',
      },
      new Date('2026-01-01T00:00:00Z'),
    );
    const headers = eml.split('\r\n\r\n')[0]!.split('\r\n');
    expect(headers.filter((h) => h.startsWith('Bcc:'))).toEqual([]);
    expect(headers).toContain('To: a@example.test Bcc: victim@example.test');
    expect(headers.find((h) => h.startsWith('Subject:'))).toMatch(
      /^Subject: =\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=$/,
    );
  });
});
