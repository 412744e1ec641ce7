// Activities of the daily audit-chain verification (workflows/audit-verification.ts): list the orgs
// that have a chain, verify one org's chain in its own tenant scope (the check of npm run
// audit:verify and GET /api/orgs/:orgId/audit-log/verify), and record the outcome on the worker's
// metrics. A broken chain is also one structured security event (`security: audit-chain-broken`).
// Every gauge is set at each run's end, with the time, so the alerts read the replica that verified
// last and notice a verification that stopped running.
import type { MetricMeter } from '@temporalio/common';
import type { ChainReport } from '../../core/audit-chain.js';
import { listAuditChainOrgs, verifyOrgAuditChain } from '../../db/audit-chain.js';
import type { Db } from '../../db/client.js';
import { logSecurityEvent, type SecurityLog } from '../../runtime/security-events.js';

export interface AuditActivityDeps {
  db: Db;
  /** The worker runtime's meter: its gauges are served with the Temporal SDK's metrics. */
  metrics: MetricMeter;
  log: SecurityLog;
}

/** An org whose chain did not verify: where it breaks and why (ids and hashes only). */
export interface BrokenChain {
  orgId: string;
  firstBrokenId: number | null;
  reason: string;
}

export interface AuditVerificationSummary {
  /** Chains verified. */
  orgs: number;
  /** Entries checked over all chains. */
  entries: number;
  broken: BrokenChain[];
}

export function createAuditActivities({ db, metrics, log }: AuditActivityDeps) {
  const brokenChains = metrics.createGauge(
    'vlinders_audit_chain_broken_orgs',
    'int',
    undefined,
    'Orgs whose audit hash chain failed the last scheduled verification (an entry changed, removed or inserted)',
  );
  const verifiedChains = metrics.createGauge(
    'vlinders_audit_chain_verified_orgs',
    'int',
    undefined,
    'Orgs whose audit hash chain the last scheduled verification checked',
  );
  const verifiedAt = metrics.createGauge(
    'vlinders_audit_chain_verified_timestamp_seconds',
    'int',
    undefined,
    'When this process last finished the scheduled verification of every audit chain (unix seconds)',
  );

  return {
    /** A page of the orgs that have an audit chain, in org id order. */
    async listAuditChains({
      afterOrgId,
      limit,
    }: {
      afterOrgId: string | null;
      limit: number;
    }): Promise<{ orgIds: string[] }> {
      return { orgIds: await listAuditChainOrgs(db, { afterOrgId, limit }) };
    },

    /**
     * Verifies one org's chain; a break is logged as a security event and answered. The org comes
     * as `chainOrgId`, not `orgId`: the payload is platform data (an id), encrypted with the
     * platform key, so an erased tenant's chain, which outlives its shredded data key, is verified too.
     */
    async verifyAuditChain({ chainOrgId: orgId }: { chainOrgId: string }): Promise<ChainReport> {
      const report = await verifyOrgAuditChain(db, orgId);
      if (!report.ok)
        logSecurityEvent(log, 'audit-chain-broken', {
          orgId,
          firstBrokenId: report.firstBrokenId ?? null,
          reason: report.reason ?? null,
          checked: report.checked,
        });
      return report;
    },

    /** Sets the gauges to the finished verification's outcome. */
    async recordAuditVerification(summary: AuditVerificationSummary): Promise<void> {
      brokenChains.set(summary.broken.length);
      verifiedChains.set(summary.orgs);
      verifiedAt.set(Math.floor(Date.now() / 1000));
    },
  };
}

export type AuditActivities = ReturnType<typeof createAuditActivities>;
