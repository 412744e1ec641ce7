// The GPU allocation history (0021_gpu_allocations.sql) as the app role changes the registry: a
// deployment holds its GPUs from the moment its rollout deploys it until it is retired, failed or
// deleted; only a change in what it holds starts a new row, and each row ends exactly when the
// change that ended it committed. The app role reads the history but cannot rewrite it.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { dbError } from '../../support/db-errors.js';

let app: pg.Pool;
let admin: pg.Pool;

beforeAll(() => {
  app = new pg.Pool({ connectionString: inject('databaseUrl'), max: 2 });
  admin = new pg.Pool({ connectionString: inject('adminDatabaseUrl'), max: 2 });
});
afterAll(async () => {
  await app?.end();
  await admin?.end();
});

/** Runs the statements as the app role in one transaction; answers the transaction's time. */
async function change(...statements: [string, unknown[]][]): Promise<Date> {
  const client = await app.connect();
  try {
    await client.query('BEGIN');
    for (const [text, params] of statements) await client.query(text, params);
    const { rows } = await client.query<{ at: Date }>('SELECT now() AS at');
    await client.query('COMMIT');
    return rows[0]!.at;
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  } finally {
    client.release();
  }
}

interface Row {
  gpus: number;
  gpuType: string;
  modelName: string;
  version: string;
  startedAt: Date;
  endedAt: Date | null;
}

async function history(deploymentId: string): Promise<Row[]> {
  const { rows } = await admin.query<Row>(
    `SELECT gpus, gpu_type AS "gpuType", model_name AS "modelName", version,
       started_at AS "startedAt", ended_at AS "endedAt"
     FROM gpu_allocations WHERE deployment_id = $1 ORDER BY started_at`,
    [deploymentId],
  );
  return rows;
}

async function newModel(): Promise<{ id: string; name: string }> {
  const name = `gpu-history-${randomBytes(4).toString('hex')}`;
  const { rows } = await app.query<{ id: string }>(
    `INSERT INTO models (name, context_length, input_price_per_million, output_price_per_million)
     VALUES ($1, 4096, 0, 0) RETURNING id`,
    [name],
  );
  return { id: rows[0]!.id, name };
}

const insertVersion = `INSERT INTO model_deployments
  (id, model_id, version, upstream_model, urls, weight, state, stage, gpu_type, gpu_count, replicas)
  VALUES ($1, $2, $3, 'm', ARRAY['http://127.0.0.1:9'], 0, 'disabled', $4, 'H100', 2, 1)`;
const update = (set: string): string => `UPDATE model_deployments SET ${set} WHERE id = $1`;

async function newVersion(
  modelId: string,
  version: string,
  stage: string,
): Promise<{ id: string; at: Date }> {
  const { rows } = await app.query<{ id: string }>('SELECT gen_random_uuid() AS id');
  const id = rows[0]!.id;
  return { id, at: await change([insertVersion, [id, modelId, version, stage]]) };
}

describe('gpu_allocations', () => {
  it("follows a version's rollout: held from deploying until retired, split where replicas change", async () => {
    const model = await newModel();
    const { id } = await newVersion(model.id, 'v1', 'registered');
    expect(await history(id)).toEqual([]);

    const deployed = await change([update(`stage = 'deploying'`), [id]]);
    await change([update(`stage = 'canary', state = 'active', weight = 10`), [id]]);
    await change([update(`stage = 'serving', weight = 1000`), [id]]);
    const open = { gpus: 2, gpuType: 'H100', modelName: model.name, version: 'v1', startedAt: deployed };
    expect(await history(id)).toEqual([{ ...open, endedAt: null }]);

    const scaled = await change([update('replicas = 3'), [id]]);
    // An operator disabling it stops its traffic, not its application: still held.
    await change([update(`state = 'disabled'`), [id]]);
    await change([update(`stage = 'draining', weight = 0`), [id]]);
    expect(await history(id)).toEqual([
      { ...open, endedAt: scaled },
      { ...open, gpus: 6, startedAt: scaled, endedAt: null },
    ]);

    const retired = await change([update(`stage = 'retired'`), [id]]);
    expect(await history(id)).toEqual([
      { ...open, endedAt: scaled },
      { ...open, gpus: 6, startedAt: scaled, endedAt: retired },
    ]);
  });

  it('ends when a version fails, when its row is deleted, and when its model is deleted', async () => {
    const model = await newModel();
    const failing = await newVersion(model.id, 'v1', 'deploying');
    const failed = await change([update(`stage = 'failed'`), [failing.id]]);
    expect(await history(failing.id)).toMatchObject([{ startedAt: failing.at, endedAt: failed }]);

    const deleting = await newVersion(model.id, 'v2', 'deploying');
    const deleted = await change(['DELETE FROM model_deployments WHERE id = $1', [deleting.id]]);
    expect(await history(deleting.id)).toMatchObject([{ startedAt: deleting.at, endedAt: deleted }]);

    const cascading = await newVersion(model.id, 'v3', 'deploying');
    const modelDeleted = await change(['DELETE FROM models WHERE id = $1', [model.id]]);
    expect(await history(cascading.id)).toMatchObject([
      { modelName: model.name, startedAt: cascading.at, endedAt: modelDeleted },
    ]);
  });

  it('keeps one row for several changes in one transaction: what was held when it committed', async () => {
    const model = await newModel();
    const { rows } = await app.query<{ id: string }>('SELECT gen_random_uuid() AS id');
    const id = rows[0]!.id;
    const at = await change(
      [insertVersion, [id, model.id, 'v1', 'deploying']],
      [update('replicas = 4'), [id]],
      [update(`gpu_type = 'L4'`), [id]],
    );
    expect(await history(id)).toEqual([
      { gpus: 8, gpuType: 'L4', modelName: model.name, version: 'v1', startedAt: at, endedAt: null },
    ]);
    await change(['DELETE FROM model_deployments WHERE id = $1', [id]]);
  });

  it('the app role reads the history but cannot write it', async () => {
    expect((await app.query('SELECT count(*) FROM gpu_allocations')).rows).toHaveLength(1);
    expect(await dbError(app.query(`UPDATE gpu_allocations SET gpus = 1`))).toMatch(/permission denied/);
    expect(await dbError(app.query('DELETE FROM gpu_allocations'))).toMatch(/permission denied/);
    expect(
      await dbError(
        app.query(`INSERT INTO gpu_allocations (deployment_id, model_id, model_name, version, gpu_type, gpus, started_at)
          VALUES (gen_random_uuid(), gen_random_uuid(), 'x', 'v', 'H100', 1, now())`),
      ),
    ).toMatch(/permission denied/);
  });
});
