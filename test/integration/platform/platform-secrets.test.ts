// Platform secrets are created once, whoever asks first: replicas starting together all get the
// same value, and what is stored is wrapped, never the value itself.
import { randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDb, createPool, type Db } from '../../../db/client.js';
import { masterKeyFromConfig, type MasterKey } from '../../../runtime/envelope.js';
import { loadOrCreatePlatformSecret } from '../../../runtime/platform-secrets.js';
import { testConfig } from '../../support/config.js';
import { useAdminPool } from '../api/helpers.js';

let pool: pg.Pool;
let db: Db;
let master: MasterKey;
const admin = useAdminPool();

beforeAll(() => {
  master = masterKeyFromConfig(testConfig());
  pool = createPool({ url: inject('databaseUrl'), size: 8, applicationName: 'test-platform-secrets' });
  db = createDb(pool);
});
afterAll(async () => {
  await pool?.end();
});

describe('platform secrets', () => {
  it('are created once when many processes ask at the same time, and stored wrapped', async () => {
    const name = `test/${randomUUID()}`;
    const candidates = Array.from({ length: 8 }, () => randomBytes(32));
    const got = await Promise.all(
      candidates.map((candidate) => loadOrCreatePlatformSecret(db, master, name, () => candidate)),
    );
    expect(new Set(got.map((g) => g.toString('hex'))).size).toBe(1);
    expect(candidates.some((c) => c.equals(got[0]!))).toBe(true);

    const { rows } = await admin.query<{ wrapped_value: string }>(
      'SELECT wrapped_value FROM platform_secrets WHERE name = $1',
      [name],
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.wrapped_value).toMatch(/^v2\.m1\./);
    expect(rows[0]!.wrapped_value).not.toContain(got[0]!.toString('base64url'));
    expect(await loadOrCreatePlatformSecret(db, master, name, () => randomBytes(32))).toEqual(got[0]);
  });

  it('cannot be changed or deleted by the app role', async () => {
    const name = `test/${randomUUID()}`;
    await loadOrCreatePlatformSecret(db, master, name, () => randomBytes(32));
    await expect(
      pool.query(`UPDATE platform_secrets SET wrapped_value = 'x' WHERE name = $1`, [name]),
    ).rejects.toThrow(/permission denied/);
    await expect(pool.query('DELETE FROM platform_secrets WHERE name = $1', [name])).rejects.toThrow(
      /permission denied/,
    );
  });
});
