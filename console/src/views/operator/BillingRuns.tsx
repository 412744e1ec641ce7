import { Table } from '../../ui/table';
import { useState } from 'react';
import { useApiQuery } from '../../api/client';
import { WorkflowLink } from '../../ui/links';
import { EmptyState, Loaded } from '../../ui/notices';
import { formatTime, Page, Section } from '../../ui/page';

interface BillingRun {
  windowStart: string;
  windowEnd: string;
  workflowId: string;
  status: 'running' | 'completed' | 'incomplete' | 'stopped';
  tenants: number | null;
  failedTenants: number | null;
  meterEvents: number | null;
  lateTokens: number | null;
  startedAt: string;
  finishedAt: string | null;
}

interface Reconciliation {
  windows: { orgId: string; windowStart: string; flags: string[] }[];
  balances: { orgId: string; flagged: boolean; difference: { inputTokens: number; outputTokens: number } }[];
  flagged: number;
}

export function BillingRuns() {
  // The last 24 hours of billing windows, metered against reported.
  const [range] = useState(() => {
    const to = new Date(Math.ceil(Date.now() / 3_600_000) * 3_600_000);
    return { from: new Date(to.getTime() - 24 * 3_600_000).toISOString(), to: to.toISOString() };
  });
  const runs = useApiQuery<{ items: BillingRun[] }>('/api/admin/billing/runs?limit=24', {
    refetchInterval: 30_000,
  });
  const report = useApiQuery<Reconciliation>(
    `/api/admin/billing/reconciliation?from=${encodeURIComponent(range.from)}&to=${encodeURIComponent(range.to)}`,
  );
  return (
    <Page
      title="Billing runs"
      intro="Hourly billing runs report metered tokens to Stripe; the reconciliation shows what does not add up."
    >
      <Section title="Runs">
        <Loaded query={runs} what="the billing runs">
          {({ items }) =>
            items.length === 0 ? (
              <EmptyState title="No billing runs yet.">
                <p>The billing-hourly schedule starts one per hour; see docs/billing-runs.md.</p>
              </EmptyState>
            ) : (
              <Table
                columns={[
                  'Window',
                  'Status',
                  'Tenants (not billed)',
                  'Meter events',
                  'Late tokens',
                  'Workflow',
                ]}
              >
                {items.map((run) => (
                  <tr key={run.windowStart}>
                    <td>
                      {formatTime(run.windowStart)} – {formatTime(run.windowEnd)}
                    </td>
                    <td>{run.status}</td>
                    <td>
                      {run.tenants ?? '—'} ({run.failedTenants ?? '—'})
                    </td>
                    <td>{run.meterEvents ?? '—'}</td>
                    <td>{run.lateTokens ?? '—'}</td>
                    <td>
                      <WorkflowLink workflowId={run.workflowId}>{run.workflowId}</WorkflowLink>
                    </td>
                  </tr>
                ))}
              </Table>
            )
          }
        </Loaded>
      </Section>
      <Section title="Reconciliation, last 24 hours">
        <Loaded query={report} what="the reconciliation report">
          {(r) =>
            r.windows.length === 0 ? (
              <EmptyState title="No billing windows in the last 24 hours." />
            ) : (
              <>
                <p role="status">
                  {r.flagged === 0
                    ? 'Every window and balance adds up.'
                    : `${r.flagged} windows or balances do not add up.`}
                </p>
                <Table columns={['Tenant', 'Window', 'Flags']}>
                  {r.windows.map((w) => (
                    <tr key={`${w.orgId}/${w.windowStart}`}>
                      <td>
                        <code>{w.orgId}</code>
                      </td>
                      <td>{formatTime(w.windowStart)}</td>
                      <td>{w.flags.join(', ') || 'none'}</td>
                      <td>
                        <WorkflowLink workflowId={`billing/${w.windowStart}`}>
                          Run in the Temporal UI
                        </WorkflowLink>
                      </td>
                    </tr>
                  ))}
                </Table>
              </>
            )
          }
        </Loaded>
      </Section>
    </Page>
  );
}
