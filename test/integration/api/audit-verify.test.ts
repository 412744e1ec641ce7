// Verifying an org's audit hash chain through the admin route and the CLI: intact after many
// concurrent writes, and tampering by a superuser (trigger switched off) reported at its first
// broken link. Audit entries are also structured log lines.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { describe, expect, inject, it } from 'vitest';
import { setAuditSink } from '../../../runtime/audit-log.js';
import { loggerOptions } from '../../../runtime/logger.js';
import { useTestApp } from '../../support/app.js';
import { adminChain, adminVerify, tamper } from '../db/audit-chain-support.js';
import {
  addMember,
  bearer,
  seedActiveOrg,
  signUp,
  uniqueEmail,
  useAdminPool,
  type TestUser,
} from './helpers.js';

const t = useTestApp();
const admin = useAdminPool();
const run = promisify(execFile);

interface Report {
  ok: boolean;
  checked: number;
  firstBrokenId?: number;
  reason?: string;
}

async function verifyRoute(user: TestUser, orgId: string): Promise<Report> {
  const res = await t.app.inject({
    method: 'GET',
    url: `/api/orgs/${orgId}/audit-log/verify`,
    headers: bearer(user),
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<Report>();
}

/** `npm run audit:verify -- <orgId>` against the suite's database, as an operator runs it. */
async function verifyCli(orgId: string): Promise<{ code: number; stdout: string }> {
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATABASE_URL: inject('databaseUrl'),
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    MASTER_KEY: createHash('sha256').update(inject('databaseUrl')).digest('base64'),
    LOG_LEVEL: 'silent',
  };
  try {
    const { stdout } = await run('npm', ['run', '--silent', 'audit:verify', '--', orgId], { env });
    return { code: 0, stdout };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout + e.stderr };
  }
}

/** An active org with 30 teams and invitations created by 30 parallel requests. */
async function busyOrg(label: string): Promise<{ owner: TestUser; orgId: string }> {
  const owner = await signUp(t.app, `${label}-owner`);
  const orgId = await seedActiveOrg(admin, owner, label);
  const responses = await Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      i % 2 === 0
        ? t.app.inject({
            method: 'POST',
            url: `/api/orgs/${orgId}/teams`,
            headers: bearer(owner),
            payload: { name: `team-${i}` },
          })
        : t.app.inject({
            method: 'POST',
            url: `/api/orgs/${orgId}/invitations`,
            headers: bearer(owner),
            payload: { email: uniqueEmail('invited'), role: 'member' },
          }),
    ),
  );
  expect(responses.map((r) => r.statusCode)).toEqual(Array.from({ length: 30 }, () => 201));
  return { owner, orgId };
}

describe('GET /api/orgs/:orgId/audit-log/verify', () => {
  it('reports an intact chain after 30 parallel writes, in two orgs at once', async () => {
    const [a, b] = await Promise.all([busyOrg('busy-a'), busyOrg('busy-b')]);
    expect(await verifyRoute(a.owner, a.orgId)).toEqual({ ok: true, checked: 30 });
    expect(await verifyRoute(b.owner, b.orgId)).toEqual({ ok: true, checked: 30 });
    const admin2 = await signUp(t.app, 'admin');
    await addMember(admin, a.orgId, admin2.id, 'admin');
    expect(await verifyRoute(admin2, a.orgId)).toEqual({ ok: true, checked: 30 });
    // The platform chain (sign-ups above and in other files) holds too.
    expect((await adminVerify(admin, null)).ok).toBe(true);
  });

  it('reports the first broken link when a superuser edits a row’s details; the CLI agrees', async () => {
    const { owner, orgId } = await busyOrg('edited');
    const chain = await adminChain(admin, orgId);
    const victim = chain[11]!;
    await tamper(admin, [
      [`UPDATE audit_log SET details = '{"name":"innocent"}' WHERE id = $1`, [victim.id]],
    ]);

    const report = await verifyRoute(owner, orgId);
    expect(report).toMatchObject({ ok: false, checked: 12, firstBrokenId: victim.id });
    expect(report.reason).toMatch(/content does not match its hash/);

    const cli = await verifyCli(orgId);
    expect(cli.code).toBe(1);
    expect(cli.stdout).toContain(`BROKEN at entry ${victim.id}`);
    expect(JSON.parse(cli.stdout.split('\n')[0]!)).toMatchObject({ ok: false, firstBrokenId: victim.id });
  });

  it('reports a deleted row at the entry after it, and a reordering at the first moved entry', async () => {
    const deleted = await busyOrg('deleted');
    const dChain = await adminChain(admin, deleted.orgId);
    await tamper(admin, [['DELETE FROM audit_log WHERE id = $1', [dChain[5]!.id]]]);
    expect(await verifyRoute(deleted.owner, deleted.orgId)).toMatchObject({
      ok: false,
      firstBrokenId: dChain[6]!.id,
      reason: expect.stringMatching(new RegExp(`not the hash of entry ${dChain[4]!.id}`)),
    });

    const reordered = await busyOrg('reordered');
    const rChain = await adminChain(admin, reordered.orgId);
    const [x, y] = [rChain[20]!.id, rChain[21]!.id];
    await tamper(admin, [
      ['UPDATE audit_log SET id = -id WHERE id = $1', [x]],
      ['UPDATE audit_log SET id = $1 WHERE id = $2', [x, y]],
      ['UPDATE audit_log SET id = $1 WHERE id = $2', [y, -x]],
    ]);
    expect(await verifyRoute(reordered.owner, reordered.orgId)).toMatchObject({
      ok: false,
      firstBrokenId: x,
    });
    expect((await verifyCli(reordered.orgId)).stdout).toContain(`BROKEN at entry ${x}`);
  });

  it('reports entries cut off the end of the chain', async () => {
    const { owner, orgId } = await busyOrg('cut');
    const chain = await adminChain(admin, orgId);
    await tamper(admin, [['DELETE FROM audit_log WHERE id >= $1 AND org_id = $2', [chain[28]!.id, orgId]]]);
    expect(await verifyRoute(owner, orgId)).toMatchObject({
      ok: false,
      checked: 28,
      firstBrokenId: chain[29]!.id,
      reason: expect.stringMatching(/removed from the end/),
    });
  });

  it('the CLI exits 0 on an intact chain and 2 without a valid org id', async () => {
    const { orgId } = await busyOrg('cli-intact');
    const ok = await verifyCli(orgId);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`audit chain of ${orgId} intact: 30 entries checked`);
    expect((await verifyCli('not-an-id')).code).toBe(2);
  });
});

describe('audit entries as structured logs', () => {
  it('writes one JSON line per entry with audit: true, and no secrets', async () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    setAuditSink(pino(loggerOptions('info', 'audit-test'), stream));
    try {
      const owner = await signUp(t.app, 'logged');
      const orgId = await seedActiveOrg(admin, owner, 'Logged');
      await t.app.inject({
        method: 'POST',
        url: `/api/orgs/${orgId}/teams`,
        headers: bearer(owner),
        payload: { name: 'core' },
      });
      const audit = lines.filter((l) => l.audit === true);
      // Sign-up, the mailed link followed, login (the sign-up helper), then the team.
      expect(audit.map((l) => l.action)).toEqual([
        'auth.signup',
        'auth.email_verify',
        'auth.login',
        'team.create',
      ]);
      expect(audit.find((l) => l.action === 'team.create')).toMatchObject({
        audit: true,
        orgId,
        actorId: owner.id,
        targetType: 'team',
        details: { name: 'core' },
      });
      expect(audit.find((l) => l.action === 'auth.signup')).toMatchObject({
        audit: true,
        orgId: null,
        actorId: owner.id,
      });
      const text = JSON.stringify(lines);
      expect(text).not.toContain(owner.password);
      expect(text).not.toContain(owner.refreshToken);
      expect(text).not.toContain(owner.accessToken);
    } finally {
      setAuditSink(t.app.log);
    }
  });
});
