import { Pager, Table } from '../../ui/table';
import { useState } from 'react';
import { useApiMutation, useApiQuery } from '../../api/client';
import { Button } from '../../ui/forms';
import { WorkflowLink } from '../../ui/links';
import { EmptyState, ErrorNotice, Loaded } from '../../ui/notices';
import { formatTime, Page } from '../../ui/page';

interface Tenant {
  id: string;
  name: string;
  slug: string;
  status: 'onboarding' | 'active' | 'failed' | 'erased';
  failureReason: string | null;
  createdAt: string;
  plan: string;
  subscriptionStatus: string;
  seats: number | null;
  members: number;
  tokensThisMonth: number;
  suspension: { reason: string; since: string; by: string } | null;
}

export function Tenants() {
  const [search, setSearch] = useState('');
  const [cursors, setCursors] = useState<string[]>([]);
  const params = new URLSearchParams({ limit: '50' });
  if (search.trim()) params.set('q', search.trim());
  const cursor = cursors.at(-1);
  if (cursor) params.set('cursor', cursor);
  const tenants = useApiQuery<{ items: Tenant[]; nextCursor: string | null }>(
    `/api/admin/orgs?${params.toString()}`,
  );
  const suspend = useApiMutation<unknown, { id: string; reason: string }>(
    ({ id, reason }) => ({ method: 'POST', path: `/api/admin/orgs/${id}/suspend`, body: { reason } }),
    ['/api/admin/orgs'],
  );
  const resume = useApiMutation<unknown, string>(
    (id) => ({ method: 'POST', path: `/api/admin/orgs/${id}/resume`, body: {} }),
    ['/api/admin/orgs'],
  );
  const [reason, setReason] = useState('');
  const actionError = suspend.error ?? resume.error;
  return (
    <Page
      title="Tenants"
      intro="Every organization on the platform: plan, subscription, members and this month's tokens. A suspension refuses the tenant's /v1 calls until it is resumed."
    >
      <div className="toolbar">
        <label className="inline-select">
          Search by name or slug{' '}
          <input
            type="search"
            value={search}
            onChange={(e) => {
              setSearch(e.target.value);
              setCursors([]);
            }}
          />
        </label>
        <label className="inline-select">
          Reason for a suspension <input value={reason} onChange={(e) => setReason(e.target.value)} />
        </label>
      </div>
      {actionError ? <ErrorNotice error={actionError} /> : null}
      <Loaded query={tenants} what="the tenants">
        {({ items, nextCursor }) =>
          items.length === 0 ? (
            <EmptyState title="No tenants match." />
          ) : (
            <>
              <Table
                columns={[
                  'Tenant',
                  'Status',
                  'Plan',
                  'Subscription',
                  'Members / seats',
                  'Tokens this month',
                  'Created',
                  '',
                ]}
              >
                {items.map((t) => (
                  <tr key={t.id}>
                    <td>
                      {t.name}
                      <br />
                      <code className="muted">{t.id}</code>
                    </td>
                    <td>
                      {t.status}
                      {t.failureReason ? ` (${t.failureReason})` : ''}
                    </td>
                    <td>{t.plan}</td>
                    <td>
                      {t.subscriptionStatus}
                      {t.suspension
                        ? ` by an operator since ${formatTime(t.suspension.since)}: ${t.suspension.reason}`
                        : ''}
                      <br />
                      <WorkflowLink workflowId={`subscription/${t.id}`}>Lifecycle workflow</WorkflowLink>
                    </td>
                    <td>
                      {t.members} / {t.seats ?? '—'}
                    </td>
                    <td>{t.tokensThisMonth}</td>
                    <td>{formatTime(t.createdAt)}</td>
                    <td>
                      {t.suspension ? (
                        <Button
                          variant="secondary"
                          aria-label={`Resume ${t.name}`}
                          onPress={() => resume.mutate(t.id)}
                        >
                          Resume
                        </Button>
                      ) : (
                        <Button
                          variant="danger"
                          aria-label={`Suspend ${t.name}`}
                          isDisabled={!reason.trim()}
                          onPress={() => suspend.mutate({ id: t.id, reason: reason.trim() })}
                        >
                          Suspend
                        </Button>
                      )}
                    </td>
                  </tr>
                ))}
              </Table>
              <Pager cursors={cursors} onChange={setCursors} next={nextCursor} />
            </>
          )
        }
      </Loaded>
    </Page>
  );
}
