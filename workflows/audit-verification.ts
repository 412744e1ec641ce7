// The daily verification of every org's audit hash chain, started by the Schedule
// `audit-chains-daily` (npm run schedules:ensure): every org that has a chain, a page at a time, a
// few chains at once, each verified in its own org's scope. The run continues as new after each
// page, so its history stays bounded however many orgs there are. At its end it sets the billing
// worker's audit-chain gauges (activities/audit/index.ts), which the AuditChainBroken and
// AuditChainVerificationStale alerts read, and a run that found a broken chain fails, naming the
// orgs, so the Schedule's recent runs show it in the Temporal UI too.
import { ApplicationFailure, continueAsNew, proxyActivities } from '@temporalio/workflow';
import type { AuditActivities } from '../activities/audit/index.js';
import { activityPresets } from '../temporal.config.js';
import type {
  AuditChainVerificationInput,
  AuditChainVerificationProgress,
  AuditChainVerificationResult,
} from './definitions.js';

const database = proxyActivities<AuditActivities>(activityPresets.database);
const verification = proxyActivities<AuditActivities>(activityPresets.verification);

const defaultPageSize = 200;
const concurrency = 4;

export async function auditChainVerification(
  input: AuditChainVerificationInput = {},
): Promise<AuditChainVerificationResult> {
  const pageSize = input.pageSize ?? defaultPageSize;
  const progress: AuditChainVerificationProgress = input.progress ?? {
    afterOrgId: '',
    orgs: 0,
    entries: 0,
    broken: [],
  };
  const { orgIds } = await database.listAuditChains({
    afterOrgId: progress.afterOrgId || null,
    limit: pageSize,
  });
  const queue = [...orgIds];
  const lane = async () => {
    for (let orgId = queue.shift(); orgId !== undefined; orgId = queue.shift()) {
      const report = await verification.verifyAuditChain({ chainOrgId: orgId });
      progress.orgs += 1;
      progress.entries += report.checked;
      if (!report.ok)
        progress.broken.push({
          orgId,
          firstBrokenId: report.firstBrokenId ?? null,
          reason: report.reason ?? 'broken',
        });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, orgIds.length) }, lane));

  const last = orgIds.at(-1);
  if (orgIds.length === pageSize && last !== undefined)
    return continueAsNew<typeof auditChainVerification>({
      ...input,
      progress: { ...progress, afterOrgId: last },
    });

  const summary: AuditChainVerificationResult = {
    orgs: progress.orgs,
    entries: progress.entries,
    // In org id order whatever order the lanes finished in.
    broken: [...progress.broken].sort((a, b) => (a.orgId < b.orgId ? -1 : 1)),
  };
  await database.recordAuditVerification(summary);
  if (summary.broken.length > 0)
    throw ApplicationFailure.create({
      type: 'AUDIT_CHAIN_BROKEN',
      nonRetryable: true,
      message: `the audit chain of ${summary.broken.length} of ${summary.orgs} orgs is broken: ${summary.broken
        .map((b) => `${b.orgId} at entry ${b.firstBrokenId ?? 'none'}`)
        .join(', ')}`,
      details: [summary],
    });
  return summary;
}
