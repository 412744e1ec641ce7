// The migration that introduces the hash chain links the rows written before it, per chain in id
// order, exactly as the insert trigger links the rows written after it. Runs the migrations one by
// one on a fresh database of the suite's server.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { migrationsFolder } from '../../../db/migrate.js';
import { adminVerify } from './audit-chain-support.js';

const database = `audit_backfill_${randomUUID().replaceAll('-', '')}`;
const adminUrl = inject('adminDatabaseUrl');
let server: pg.Client;
let fresh: pg.Client;

async function apply(client: pg.Client, tag: string): Promise<void> {
  const text = readFileSync(join(migrationsFolder, `${tag}.sql`), 'utf8');
  for (const statement of text.split('--> statement-breakpoint')) await client.query(statement);
}

beforeAll(async () => {
  server = new pg.Client(adminUrl);
  await server.connect();
  await server.query(`CREATE DATABASE ${database}`);
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  fresh = new pg.Client(url.toString());
  await fresh.connect();
});
afterAll(async () => {
  await fresh.end();
  await server.query(`DROP DATABASE IF EXISTS ${database}`);
  await server.end();
});

describe('migration 0004_audit_chain', () => {
  it('hashes the existing rows of every chain in id order, then the trigger carries on', async () => {
    const journal = JSON.parse(readFileSync(join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as {
      entries: { tag: string }[];
    };
    const tags = journal.entries.map((e) => e.tag);
    const chainAt = tags.indexOf('0004_audit_chain');
    expect(chainAt).toBeGreaterThan(0);
    for (const tag of tags.slice(0, chainAt)) await apply(fresh, tag);

    const [orgA, orgB] = [randomUUID(), randomUUID()];
    for (let i = 0; i < 6; i++) {
      await fresh.query(
        `INSERT INTO audit_log (org_id, action, target_type, details, ip, created_at)
         VALUES ($1, $2, 'test', $3, '192.0.2.1', now() - interval '1 day' + $4 * interval '1 second')`,
        [[orgA, orgB, null][i % 3], `before.${i}`, JSON.stringify({ i, nested: { b: 1, a: [i] } }), i],
      );
    }
    await apply(fresh, '0004_audit_chain');
    for (const tag of tags.slice(chainAt + 1)) await apply(fresh, tag);

    for (const org of [orgA, orgB, null]) {
      expect(await adminVerify(fresh, org)).toEqual({ ok: true, checked: 2 });
    }
    await fresh.query(`INSERT INTO audit_log (org_id, action, target_type) VALUES ($1, 'after', 'test')`, [
      orgA,
    ]);
    expect(await adminVerify(fresh, orgA)).toEqual({ ok: true, checked: 3 });
  });
});
