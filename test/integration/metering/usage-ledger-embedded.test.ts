// The embedded `up` has no Redis: the API writes usage to the ledger itself, on PGlite served over
// the Postgres protocol, where every connection shares one backend session. Two pools appending
// concurrently (the ledger's named statements must not collide there) store every event once.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, createPool } from '../../../db/client.js';
import { migrateDatabase } from '../../../db/migrate.js';
import { UsageLedger } from '../../../db/usage-ledger.js';
import { startPgliteServer, type PgliteServer } from '../../../scripts/pglite-server.js';
import { ledgerCount, rollupDifferences, usageEvent } from './support.js';

let server: PgliteServer;
let pools: pg.Pool[];

beforeAll(async () => {
  server = await startPgliteServer({ dataDir: 'memory://', host: '127.0.0.1', port: 0, maxConnections: 12 });
  await migrateDatabase(server.url);
  pools = ['api', 'worker'].map((name) =>
    createPool({ url: server.url, size: 4, appRole: 'vlinders_app', applicationName: name }),
  );
}, 120_000);

afterAll(async () => {
  await Promise.all((pools ?? []).map((p) => p.end()));
  await server?.stop();
});

describe('usage ledger on embedded PGlite', () => {
  it('stores concurrent appends from two pools once each, rollups equal to the ledger', async () => {
    const orgIds = [randomUUID(), randomUUID(), randomUUID()];
    const events = Array.from({ length: 400 }, (_, i) =>
      usageEvent({ orgId: orgIds[i % 3]!, promptTokens: i }),
    );
    const ledgers = pools.map((pool) => new UsageLedger(createDb(pool)));
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => ledgers[i % 2]!.append(events.slice(i * 10, i * 10 + 10))),
    );
    // Delivered again through the other pool: nothing new.
    expect(await ledgers[1]!.append(events.slice(0, 100))).toBe(0);
    // PGlite's one session has the app role set: look at each org from inside its scope.
    const client = await pools[0]!.connect();
    try {
      for (const orgId of orgIds) {
        await client.query('BEGIN');
        await client.query("SELECT set_config('app.org_id', $1, true)", [orgId]);
        const expected = events.filter((e) => e.orgId === orgId).length;
        expect(await ledgerCount(client, [orgId])).toEqual({ rows: expected, ids: expected });
        expect(await rollupDifferences(client, [orgId])).toBe(0);
        await client.query('COMMIT');
      }
    } finally {
      client.release();
    }
  });
});
