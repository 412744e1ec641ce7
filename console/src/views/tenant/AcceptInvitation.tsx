import { useEffect } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useApiMutation } from '../../api/client';
import { ErrorNotice, Loading, Success } from '../../ui/notices';
import { Page } from '../../ui/page';

/** The page the invitation mail links to, opened signed in: joins the org once. */
export function AcceptInvitation() {
  const [params] = useSearchParams();
  const orgId = params.get('org') ?? '';
  const token = params.get('token') ?? '';
  const accept = useApiMutation<{ orgId: string; role: string }, void>(
    () => ({
      method: 'POST',
      path: `/api/orgs/${encodeURIComponent(orgId)}/invitations/accept`,
      body: { token },
    }),
    ['/api/orgs'],
  );
  const { mutate } = accept;
  useEffect(() => {
    if (orgId && token) mutate();
  }, [orgId, token, mutate]);
  return (
    <Page title="Accept the invitation">
      {!orgId || !token ? (
        <p role="alert">This link is incomplete; open the link from the invitation mail again.</p>
      ) : null}
      {accept.isPending ? <Loading what="the invitation" /> : null}
      {accept.error ? <ErrorNotice error={accept.error} /> : null}
      {accept.data ? (
        <Success>
          <p>
            You joined as {accept.data.role}.{' '}
            <Link to={`/orgs/${accept.data.orgId}`}>Open the organization</Link>
          </p>
        </Success>
      ) : null}
    </Page>
  );
}
