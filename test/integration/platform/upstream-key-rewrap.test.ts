// A master-key rotation covers deployments' upstream keys: `secrets:rewrap` moves them to the new
// master key (their ciphertext unchanged), and the gateway's registry opens them with the old key
// gone from the config. In a database of its own: the re-wrap changes what every app of the shared
// database could open. The re-wrap runs as vlinders_rewrap, whose grants cover the credentials'
// wrapped column and the registry revision their trigger bumps.
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { wrapUpstreamKey, loadUpstreamKeys } from '../../../api/gateway/upstream-keys.js';
import { createDb, createPool, type Db } from '../../../db/client.js';
import { masterKeyFromConfig } from '../../../runtime/envelope.js';
import { rewrapRole, rewrapSecrets } from '../../../runtime/rewrap.js';
import { wrappedColumns } from '../../../runtime/wrapped-columns.js';
import { adminPool, createIsolatedDatabase, type IsolatedDatabase } from '../../support/isolated-database.js';

const m1 = randomBytes(32).toString('base64');
const m2 = randomBytes(32).toString('base64');
const before = masterKeyFromConfig({ MASTER_KEY: m1, MASTER_KEY_ID: 'm1' });
const during = masterKeyFromConfig({ MASTER_KEY: m2, MASTER_KEY_ID: 'm2', MASTER_KEYS_PREVIOUS: `m1:${m1}` });
const after = masterKeyFromConfig({ MASTER_KEY: m2, MASTER_KEY_ID: 'm2' });

let iso: IsolatedDatabase;
let admin: pg.Pool;
let ownerPool: pg.Pool;
let ownerDb: Db;
let rewrapPool: pg.Pool;

beforeAll(async () => {
  iso = await createIsolatedDatabase('upstream_key_rewrap');
  admin = adminPool(iso.adminUrl);
  ownerPool = createPool({ url: iso.adminUrl, size: 2, applicationName: 'test-rewrap' });
  ownerDb = createDb(ownerPool);
  rewrapPool = createPool({
    url: iso.adminUrl,
    size: 1,
    appRole: rewrapRole,
    applicationName: 'test-rewrap',
  });
});
afterAll(async () => {
  await Promise.all([admin?.end(), ownerPool?.end(), rewrapPool?.end()]);
  await iso?.drop();
});

it('re-wraps deployment_credentials.wrapped_key under the new master key; the registry opens it without the old one', async () => {
  expect(wrappedColumns.map((c) => `${c.table}.${c.column}`)).toContain('deployment_credentials.wrapped_key');
  const {
    rows: [deployment],
  } = await admin.query<{ id: string }>(
    `WITH m AS (INSERT INTO models (name, context_length, input_price_per_million, output_price_per_million)
                VALUES ('rewrap-model', 8192, 0, 0) RETURNING id)
     INSERT INTO model_deployments (model_id, version, upstream_model, urls, weight)
     SELECT id, 'v1', 'upstream', ARRAY['http://ray:8000'], 100 FROM m RETURNING id`,
  );
  const key = `sk-up-${randomBytes(18).toString('base64url')}`;
  const wrapped = wrapUpstreamKey(before, deployment!.id, key);
  await admin.query(
    `INSERT INTO deployment_credentials (deployment_id, slot, wrapped_key, last_four) VALUES ($1, 'current', $2, $3)`,
    [deployment!.id, wrapped, key.slice(-4)],
  );

  const counts = await rewrapSecrets(createDb(rewrapPool), during);
  expect(counts.find((c) => c.table === 'deployment_credentials')).toMatchObject({
    scanned: 1,
    rewrapped: 1,
  });
  const { rows } = await admin.query<{ wrapped_key: string }>(
    'SELECT wrapped_key FROM deployment_credentials',
  );
  const rewrapped = rows[0]!.wrapped_key;
  expect(rewrapped.split('.')[1]).toBe('m2');
  expect(rewrapped.split('.').slice(5)).toEqual(wrapped.split('.').slice(5));

  const keys = await ownerDb.transaction((tx) => loadUpstreamKeys(tx, after));
  expect(keys.get(deployment!.id)).toEqual({ current: `Bearer ${key}`, previous: null });
});
