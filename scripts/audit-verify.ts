// npm run audit:verify -- <orgId>
// Verifies one org's audit hash chain with the app's database role in the org's tenant scope (the
// same check as GET /api/orgs/:orgId/audit-log/verify). Prints the report as one JSON line and,
// when the chain is broken, its first broken link. Exit 0: intact; 1: broken; 2: bad usage.
import { fileURLToPath } from 'node:url';
import type { ChainReport } from '../core/audit-chain.js';
import { verifyOrgAuditChain } from '../db/audit-chain.js';
import { createDb, createPool, type Db } from '../db/client.js';

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface CliResult {
  code: 0 | 1 | 2;
  lines: string[];
}

/** The command's outcome for its arguments, given a database handle. */
export async function auditVerify(db: Db, args: string[]): Promise<CliResult> {
  const orgId = args[0];
  if (args.length !== 1 || orgId === undefined || !uuid.test(orgId)) {
    return { code: 2, lines: ['usage: npm run audit:verify -- <orgId>'] };
  }
  const report: ChainReport = await verifyOrgAuditChain(db, orgId.toLowerCase());
  const lines = [JSON.stringify({ orgId, ...report })];
  if (report.ok) lines.push(`audit chain of ${orgId} intact: ${report.checked} entries checked`);
  else lines.push(`audit chain of ${orgId} BROKEN at entry ${report.firstBrokenId}: ${report.reason}`);
  return { code: report.ok ? 0 : 1, lines };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { loadConfigOrExit } = await import('../runtime/config.js');
  const config = loadConfigOrExit();
  const pool = createPool({
    url: config.DATABASE_URL,
    size: 1,
    appRole: config.DATABASE_APP_ROLE,
    applicationName: 'vlinders-audit-verify',
  });
  let result: CliResult;
  try {
    result = await auditVerify(createDb(pool), process.argv.slice(2));
  } finally {
    await pool.end();
  }
  const out = result.code === 2 ? process.stderr : process.stdout;
  for (const line of result.lines) out.write(`${line}\n`);
  process.exitCode = result.code;
}
