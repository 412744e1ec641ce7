import { Table } from '../../ui/table';
import { useState } from 'react';
import { useApiMutation, useApiQuery } from '../../api/client';
import { Button } from '../../ui/forms';
import { WorkflowLink } from '../../ui/links';
import { EmptyState, ErrorNotice, Loaded } from '../../ui/notices';
import { formatTime, Page } from '../../ui/page';

interface Decision {
  at: string;
  current: number;
  desired: number;
  reason: string;
  detail: string;
  outcome: 'applied' | 'recommended' | 'failed' | 'held';
  error: string | null;
}

interface CapacityPool {
  pool: string;
  workflowId: string;
  running: boolean;
  workflowStatus: string;
  stateError: string | null;
  cluster: string | null;
  application: string | null;
  model: string | null;
  mode: 'live' | 'dry-run' | null;
  paused: boolean | null;
  replicas: number | null;
  desired: number | null;
  recommendation: Decision | null;
  decisions: Decision[];
}

export function Capacity() {
  const pools = useApiQuery<{ items: CapacityPool[] }>('/api/admin/capacity', { refetchInterval: 10_000 });
  const [reason, setReason] = useState('');
  const base = '/api/admin/capacity';
  const pause = useApiMutation<unknown, string>(
    (pool) => ({ method: 'POST', path: `${base}/${pool}/pause`, body: { reason: reason.trim() } }),
    [base],
  );
  const resume = useApiMutation<unknown, string>(
    (pool) => ({ method: 'POST', path: `${base}/${pool}/resume`, body: {} }),
    [base],
  );
  const setMode = useApiMutation<unknown, { pool: string; dryRun: boolean }>(
    ({ pool, dryRun }) => ({ method: 'PATCH', path: `${base}/${pool}`, body: { dryRun } }),
    [base],
  );
  const actionError = pause.error ?? resume.error ?? setMode.error;
  return (
    <Page
      title="GPU capacity"
      intro="Each pool's control loop (capacity/<pool>) turns demand into replicas. In dry-run it only recommends; live, it applies through the cluster's writer."
    >
      <label className="inline-select">
        Reason for a pause <input value={reason} onChange={(e) => setReason(e.target.value)} />
      </label>
      {actionError ? <ErrorNotice error={actionError} /> : null}
      <Loaded query={pools} what="the GPU pools">
        {({ items }) =>
          items.length === 0 ? (
            <EmptyState title="No capacity loops run.">
              <p>The serving worker starts one per pool; see docs/workflows.md.</p>
            </EmptyState>
          ) : (
            <ul className="cards">
              {items.map((p) => (
                <li key={p.pool} className="card">
                  <h3>{p.pool}</h3>
                  <dl className="facts">
                    <dt>Loop</dt>
                    <dd>{p.running ? (p.paused ? 'paused' : 'running') : p.workflowStatus.toLowerCase()}</dd>
                    <dt>Mode</dt>
                    <dd>{p.mode ?? '—'}</dd>
                    <dt>Serves</dt>
                    <dd>
                      {p.model ?? '—'} on {p.cluster ?? '—'} ({p.application ?? '—'})
                    </dd>
                    <dt>Replicas</dt>
                    <dd>
                      {p.replicas ?? '—'} now, {p.desired ?? '—'} wanted
                    </dd>
                    {p.recommendation ? (
                      <>
                        <dt>Recommendation</dt>
                        <dd>
                          {p.recommendation.current} → {p.recommendation.desired}: {p.recommendation.reason} (
                          {p.recommendation.detail})
                        </dd>
                      </>
                    ) : null}
                  </dl>
                  {p.stateError ? <p className="notice warning">{p.stateError}</p> : null}
                  {p.running ? (
                    <div className="actions">
                      {p.paused ? (
                        <Button variant="secondary" onPress={() => resume.mutate(p.pool)}>
                          Resume
                        </Button>
                      ) : (
                        <Button
                          variant="secondary"
                          isDisabled={!reason.trim()}
                          onPress={() => pause.mutate(p.pool)}
                        >
                          Pause
                        </Button>
                      )}
                      <Button
                        variant="secondary"
                        onPress={() => setMode.mutate({ pool: p.pool, dryRun: p.mode !== 'dry-run' })}
                      >
                        {p.mode === 'dry-run' ? 'Go live' : 'Switch to dry-run'}
                      </Button>
                    </div>
                  ) : null}
                  <WorkflowLink workflowId={p.workflowId} />
                  {p.decisions.length > 0 ? (
                    <Table columns={['When', 'Replicas', 'Why', 'Outcome']} caption="Recent decisions">
                      {p.decisions.map((d) => (
                        <tr key={d.at}>
                          <td>{formatTime(d.at)}</td>
                          <td>
                            {d.current} → {d.desired}
                          </td>
                          <td>
                            {d.reason}: {d.detail}
                          </td>
                          <td>
                            {d.outcome}
                            {d.error ? ` (${d.error})` : ''}
                          </td>
                        </tr>
                      ))}
                    </Table>
                  ) : null}
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
    </Page>
  );
}
