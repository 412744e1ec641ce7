import type { Org } from '../../api/types';

const labels: Record<Org['status'], string> = {
  onboarding: 'Onboarding…',
  active: 'Active',
  failed: 'Onboarding failed',
  erased: 'Erased',
};

/** The org's lifecycle; onboarding is a workflow whose end the page waits for. */
export function OrgStatus({ org }: { org: Org }) {
  return (
    <span className={`badge ${org.status}`} role={org.status === 'onboarding' ? 'status' : undefined}>
      {labels[org.status]}
      {org.failureReason ? `: ${org.failureReason}` : ''}
    </span>
  );
}
