// npm run secrets:rewrap
// After a master-key rotation (new MASTER_KEY/MASTER_KEY_ID, the old key in MASTER_KEYS_PREVIOUS,
// deployed to every replica), re-wraps every stored secret under the current master key, row by
// row; safe to interrupt and run again. Connects with DATABASE_REWRAP_URL (else DATABASE_MIGRATION_URL,
// else DATABASE_URL), a login that is a member of vlinders_rewrap, and runs as that role: it sees
// every tenant's wrapped columns and nothing else. Prints one line per wrapped column and writes a platform audit entry;
// exit 0 when done, 1 on failure. Once it has finished, remove the old key from MASTER_KEYS_PREVIOUS.
import { fileURLToPath } from 'node:url';
import { recordAudit } from '../api/audit.js';
import { createDb, createPool } from '../db/client.js';
import type { Config } from '../runtime/config.js';
import { masterKeyFromConfig } from '../runtime/envelope.js';
import { rewrapRole, RewrapRoleError, rewrapSecrets, type ColumnCounts } from '../runtime/rewrap.js';

export function describeCounts(c: ColumnCounts): string {
  return `${c.table}.${c.column}: ${c.scanned} rows, ${c.rewrapped} re-wrapped, ${c.current} already current, ${c.erased} erased`;
}

/** The command's output lines, for a config. */
export async function runRewrap(config: Config): Promise<string[]> {
  const url = config.DATABASE_REWRAP_URL ?? config.DATABASE_MIGRATION_URL ?? config.DATABASE_URL;
  const pool = createPool({ url, size: 1, appRole: rewrapRole, applicationName: 'vlinders-rewrap' });
  try {
    // A login that is not a member cannot SET ROLE: say which login and what to grant.
    await pool.query('SELECT 1').catch((err: unknown) => {
      if ((err as { code?: unknown }).code === '42501') throw new RewrapRoleError(new URL(url).username);
      throw err;
    });
    const db = createDb(pool);
    const master = masterKeyFromConfig(config);
    const counts = await rewrapSecrets(db, master);
    await db.transaction((tx) =>
      recordAudit(
        tx,
        { userId: null, ip: null },
        {
          orgId: null,
          action: 'master-key.rewrap',
          targetType: 'master_key',
          targetId: master.id,
          details: { rewrapped: counts.reduce((sum, c) => sum + c.rewrapped, 0) },
        },
      ),
    );
    return [...counts.map(describeCounts), `every wrapped secret is under master key ${master.id}`];
  } finally {
    await pool.end();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { loadConfigOrExit } = await import('../runtime/config.js');
  try {
    for (const line of await runRewrap(loadConfigOrExit())) process.stdout.write(`${line}\n`);
  } catch (err) {
    process.stderr.write(`re-wrap stopped: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
