import { Link, useParams } from 'react-router';
import { useApiQuery } from '../../api/client';
import type { Org } from '../../api/types';
import { Loaded } from '../../ui/notices';
import { formatTime, Page } from '../../ui/page';
import { OrgStatus } from './OrgStatus';

export function OrgOverview() {
  const { orgId = '' } = useParams();
  const org = useApiQuery<Org>(`/api/orgs/${orgId}`, {
    refetchInterval: (query) => (query.state.data?.status === 'onboarding' ? 2_000 : false),
  });
  return (
    <Loaded query={org} what="the organization">
      {(o) => (
        <Page title={o.name}>
          <dl className="facts">
            <dt>Status</dt>
            <dd>
              <OrgStatus org={o} />
            </dd>
            <dt>Slug</dt>
            <dd>{o.slug}</dd>
            <dt>Your role</dt>
            <dd>{o.role ?? '—'}</dd>
            <dt>Created</dt>
            <dd>{formatTime(o.createdAt)}</dd>
            <dt>Organization id</dt>
            <dd>
              <code>{o.id}</code>
            </dd>
          </dl>
          {o.status === 'onboarding' ? (
            <p>
              Onboarding opens the billing account, the trial and the vector collection; this page updates
              when it is done.
            </p>
          ) : null}
          {o.status === 'active' ? (
            <p>
              Next: <Link to={`/orgs/${o.id}/keys`}>create an API key</Link> and call <code>/v1</code> with
              it, or <Link to={`/orgs/${o.id}/members`}>invite your team</Link>.
            </p>
          ) : null}
        </Page>
      )}
    </Loaded>
  );
}
