import { useState } from 'react';
import { useApiQuery } from '../../api/client';
import { EmptyState, Loaded } from '../../ui/notices';
import { formatTime, Page } from '../../ui/page';

export interface Tenant {
  id: string;
  name: string;
  status: string;
  plan: string | null;
  subscriptionStatus: string | null;
  seats: number | null;
  memberCount: number;
  tokensThisMonth: number;
  createdAt: string;
}

export function Tenants() {
  const [search, setSearch] = useState('');
  const query = search ? `?q=${encodeURIComponent(search)}` : '';
  const tenants = useApiQuery<{ items: Tenant[] }>(`/api/admin/orgs${query}`);
  return (
    <Page
      title="Tenants"
      intro="Every organization on the platform, with its plan, subscription and this month's tokens."
    >
      <div className="toolbar">
        <label className="inline-select">
          Search by name <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} />
        </label>
      </div>
      <Loaded query={tenants} what="the tenants">
        {({ items }) =>
          items.length === 0 ? (
            <EmptyState title="No tenants match." />
          ) : (
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Tenant</th>
                  <th scope="col">Status</th>
                  <th scope="col">Plan</th>
                  <th scope="col">Subscription</th>
                  <th scope="col">Members / seats</th>
                  <th scope="col">Tokens this month</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {items.map((t) => (
                  <tr key={t.id}>
                    <td>
                      {t.name}
                      <br />
                      <code className="muted">{t.id}</code>
                    </td>
                    <td>{t.status}</td>
                    <td>{t.plan ?? '—'}</td>
                    <td>{t.subscriptionStatus ?? '—'}</td>
                    <td>
                      {t.memberCount} / {t.seats ?? '—'}
                    </td>
                    <td>{t.tokensThisMonth}</td>
                    <td>{formatTime(t.createdAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loaded>
    </Page>
  );
}
