// Account mail survives a failed delivery or a replica that died between commit and delivery: the
// row stays unsent in the outbox and the sweep delivers it a minute later, once even when replicas
// sweep at the same time; mail whose link has expired is left alone.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileMailer } from '../../../activities/mail/mailer.js';
import { AccountMailer } from '../../../api/identity/accounts/email-links.js';
import { buildTestApp, type TestApp } from '../../support/app.js';
import { linkToken, signUpUnverified, useAdminPool } from './helpers.js';

const scratch = mkdtempSync(join(tmpdir(), 'vlinders-account-mail-'));
// The API's mail folder sits under a regular file: every delivery right after commit fails.
writeFileSync(join(scratch, 'not-a-folder'), '');
const admin = useAdminPool();
let t: TestApp;

beforeAll(async () => {
  t = await buildTestApp({ MAIL_DIR: join(scratch, 'not-a-folder', 'mail') });
});
afterAll(async () => {
  await t?.close();
});

/** A sweeper as another replica would run it, delivering into `folder`. */
function sweeper(folder: string): AccountMailer {
  return new AccountMailer(t.app.db, new FileMailer(folder), 'Vlinders <no-reply@vlinders.test>', t.app.log);
}

async function unsentFor(email: string): Promise<{ id: string; sent_at: Date | null }[]> {
  const { rows } = await admin.query<{ id: string; sent_at: Date | null }>(
    `SELECT id, sent_at FROM outbox WHERE org_id IS NULL AND payload ->> 'to' = $1`,
    [email],
  );
  return rows;
}

/** Makes the account mail of this address look `age` old (the sweep leaves younger mail to its request). */
async function age(email: string, age: string): Promise<void> {
  await admin.query(`UPDATE outbox SET created_at = now() - $2::interval WHERE payload ->> 'to' = $1`, [
    email,
    age,
  ]);
}

describe('the account mail sweep', () => {
  it('delivers a verification mail whose delivery failed, and its link then verifies the account', async () => {
    const email = await signUpUnverified(t.app, 'undelivered');
    const [row] = await unsentFor(email);
    expect(row).toMatchObject({ sent_at: null });
    const folder = join(scratch, 'first');
    // Younger than a minute: still its request's to deliver.
    expect(await sweeper(folder).sweepUnsent()).toBe(0);
    await age(email, '2 minutes');
    expect(await sweeper(folder).sweepUnsent()).toBeGreaterThanOrEqual(1);
    expect((await unsentFor(email))[0]!.sent_at).not.toBeNull();
    const mail = JSON.parse(readFileSync(join(folder, `${row!.id}.json`), 'utf8')) as {
      to: string;
      text: string;
    };
    expect(mail.to).toBe(email);
    const link = /https?:\/\/\S+/.exec(mail.text)![0];
    const verified = await t.app.inject({
      method: 'POST',
      url: '/api/auth/verify-email',
      payload: { token: linkToken(link) },
    });
    expect(verified.statusCode, verified.body).toBe(204);
  });

  it('sends each mail once when replicas sweep at the same time', async () => {
    const emails = await Promise.all(Array.from({ length: 8 }, () => signUpUnverified(t.app, 'raced')));
    for (const email of emails) await age(email, '2 minutes');
    const ids = (await Promise.all(emails.map(unsentFor))).flat().map((row) => row.id);
    const folders = [join(scratch, 'a'), join(scratch, 'b')];
    await Promise.all(folders.map((folder) => sweeper(folder).sweepUnsent()));
    const delivered = folders.flatMap((folder) => {
      try {
        return readdirSync(folder).filter((name) => ids.some((id) => name === `${id}.eml`));
      } catch {
        return [];
      }
    });
    expect(delivered.sort()).toEqual(ids.map((id) => `${id}.eml`).sort());
  });

  it('leaves mail whose link has expired unsent', async () => {
    const email = await signUpUnverified(t.app, 'stale');
    await age(email, '3 days');
    const folder = join(scratch, 'stale');
    await sweeper(folder).sweepUnsent();
    expect((await unsentFor(email))[0]!.sent_at).toBeNull();
  });
});
