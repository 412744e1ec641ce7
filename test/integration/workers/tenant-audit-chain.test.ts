// The onboarding activity that records audit entries: its entries join the org's hash chain, a
// retried step (same idempotency key) neither adds a row nor breaks the chain, and each recorded
// entry is one structured log line with `audit: true`.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTenantActivities } from '../../../activities/tenant.js';
import { createDb, createPool, type Db } from '../../../db/client.js';
import { setAuditSink } from '../../../runtime/audit-log.js';
import { createPendingTenant } from '../../workflows/tenant-fixture.js';
import { adminChain, adminVerify } from '../db/audit-chain-support.js';

let pool: pg.Pool;
let db: Db;
let admin: pg.Pool;

beforeAll(() => {
  pool = createPool({ url: inject('databaseUrl'), size: 4, applicationName: 'test-tenant-audit-chain' });
  db = createDb(pool);
  admin = new pg.Pool({ connectionString: inject('adminDatabaseUrl'), max: 2 });
});
afterAll(async () => {
  setAuditSink(null);
  await pool.end();
  await admin.end();
});

describe('recordAuditEntry', () => {
  it('chains its entries, records a retried step once and logs each recorded entry once', async () => {
    const logged: Record<string, unknown>[] = [];
    setAuditSink({ info: (fields) => logged.push(fields) });
    const { orgId, ownerUserId: ownerId } = await createPendingTenant(db, 'Chained');
    const activities = createTenantActivities({ db });
    const entry = (step: string) => ({
      orgId,
      idempotencyKey: `onboarding/${orgId}/${step}`,
      actorId: ownerId,
      action: `org.${step}`,
      targetType: 'org',
      targetId: orgId,
      details: { step },
    });

    const results = await Promise.all([
      activities.recordAuditEntry(entry('created')),
      activities.recordAuditEntry(entry('created')),
      activities.recordAuditEntry(entry('activated')),
      activities.recordAuditEntry(entry('activated')),
    ]);
    expect(results.filter((r) => r.recorded)).toHaveLength(2);
    expect(await activities.recordAuditEntry(entry('created'))).toEqual({ orgId, recorded: false });

    const chain = await adminChain(admin, orgId);
    expect(chain.map((r) => r.action).sort()).toEqual(['org.activated', 'org.created']);
    expect(await adminVerify(admin, orgId)).toEqual({ ok: true, checked: 2 });
    expect(logged).toHaveLength(2);
    expect(logged.map((l) => l.auditId).sort()).toEqual(chain.map((r) => r.id).sort());
    expect(logged[0]).toMatchObject({ audit: true, orgId, actorId: ownerId, targetType: 'org' });
  });
});
