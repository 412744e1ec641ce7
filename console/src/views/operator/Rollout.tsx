import { useApiMutation, useApiQuery } from '../../api/client';
import { Button } from '../../ui/forms';
import { WorkflowLink } from '../../ui/links';
import { ErrorNotice, Loaded } from '../../ui/notices';
import { formatTime, Section } from '../../ui/page';
import type { RolloutProgress } from './model-types';

const finished = new Set<RolloutProgress['phase']>(['succeeded', 'rolled-back', 'aborted']);

/** A rollout (the workflow rollout/<model>/<version>): its steps and gates as they happen, and its controls. */
export function Rollout({
  modelId,
  modelName,
  version,
}: {
  modelId: string;
  modelName: string;
  version: string;
}) {
  const path = `/api/admin/models/${modelId}/rollouts/${encodeURIComponent(version)}`;
  const progress = useApiQuery<RolloutProgress>(path, {
    refetchInterval: (query) => (query.state.data && finished.has(query.state.data.phase) ? false : 2_000),
  });
  const control = useApiMutation<RolloutProgress, 'pause' | 'resume' | 'approve' | 'abort'>(
    (action) => ({ method: 'POST', path: `${path}/${action}`, body: {} }),
    [path, `/api/admin/models/${modelId}`],
  );
  return (
    <Section title={`Rollout of ${version}`}>
      <Loaded query={progress} what="the rollout">
        {(p) => (
          <>
            <dl className="facts">
              <dt>Phase</dt>
              <dd data-testid="rollout-phase">
                {p.phase}
                {p.paused ? ' (paused)' : ''}
              </dd>
              <dt>Traffic to {version}</dt>
              <dd>{p.percent}%</dd>
              <dt>Step</dt>
              <dd>
                {p.step + 1} of {p.plan.steps.length} ({p.plan.steps.map((s) => `${s.percent}%`).join(' → ')})
              </dd>
              {p.lastGate ? (
                <>
                  <dt>Last gate</dt>
                  <dd>
                    {p.lastGate.verdict}: {p.lastGate.reason}
                  </dd>
                </>
              ) : null}
              {p.reason ? (
                <>
                  <dt>Reason</dt>
                  <dd>{p.reason}</dd>
                </>
              ) : null}
            </dl>
            {finished.has(p.phase) ? null : (
              <div className="actions">
                {p.paused ? (
                  <Button variant="secondary" onPress={() => control.mutate('resume')}>
                    Resume
                  </Button>
                ) : (
                  <Button variant="secondary" onPress={() => control.mutate('pause')}>
                    Pause
                  </Button>
                )}
                {p.awaitingApproval !== null ? (
                  <Button onPress={() => control.mutate('approve')}>Approve step</Button>
                ) : null}
                <Button variant="danger" onPress={() => control.mutate('abort')}>
                  Abort rollout
                </Button>
              </div>
            )}
            {control.error ? <ErrorNotice error={control.error} /> : null}
            <p>
              <WorkflowLink workflowId={`rollout/${modelName}/${version}`} />
            </p>
            <ol className="events" aria-label="Rollout events">
              {p.events.map((e, i) => (
                <li key={i}>
                  <span className="muted">{formatTime(e.at)}</span> {e.what}
                </li>
              ))}
            </ol>
          </>
        )}
      </Loaded>
    </Section>
  );
}
