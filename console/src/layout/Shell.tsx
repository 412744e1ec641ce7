// The frame of every signed-in page: who is signed in, the organization's views, the operator's
// views for operators, and sign-out.
import { NavLink, Outlet, useParams } from 'react-router';
import { useApiQuery } from '../api/client';
import type { List, Me, Org } from '../api/types';
import { useSession } from '../auth/session';
import { Button } from '../ui/forms';

const orgViews = [
  ['', 'Overview'],
  ['members', 'Members and teams'],
  ['keys', 'API keys'],
  ['usage', 'Usage'],
  ['billing', 'Billing'],
  ['oauth-clients', 'OAuth clients'],
  ['sso', 'Single sign-on'],
  ['audit-log', 'Audit log'],
  ['data-requests', 'Data requests'],
] as const;

const operatorViews = [
  ['tenants', 'Tenants'],
  ['models', 'Models and rollouts'],
  ['capacity', 'GPU capacity'],
  ['billing', 'Billing runs'],
] as const;

function useMe() {
  return useApiQuery<Me>('/api/me', { staleTime: 60_000 });
}

export function Shell() {
  const { signOut } = useSession();
  const { orgId } = useParams();
  const me = useMe();
  const orgs = useApiQuery<List<Org>>('/api/orgs');
  const org = orgs.data?.items.find((o) => o.id === orgId);
  return (
    <div className="shell">
      <header className="topbar">
        <NavLink to="/" className="brand">
          Vlinders
        </NavLink>
        <span className="muted">{me.data?.email}</span>
        <Button variant="secondary" onPress={signOut}>
          Sign out
        </Button>
      </header>
      <nav aria-label="Console" className="sidebar">
        <h2 className="nav-title">Organizations</h2>
        <ul>
          <li>
            <NavLink to="/" end>
              All organizations
            </NavLink>
          </li>
        </ul>
        {orgId ? (
          <>
            <h2 className="nav-title">{org?.name ?? 'Organization'}</h2>
            <ul>
              {orgViews.map(([path, label]) => (
                <li key={path}>
                  <NavLink to={`/orgs/${orgId}${path ? `/${path}` : ''}`} end>
                    {label}
                  </NavLink>
                </li>
              ))}
            </ul>
          </>
        ) : null}
        {me.data?.platformRole === 'operator' ? (
          <>
            <h2 className="nav-title">Platform</h2>
            <ul>
              {operatorViews.map(([path, label]) => (
                <li key={path}>
                  <NavLink to={`/admin/${path}`}>{label}</NavLink>
                </li>
              ))}
            </ul>
          </>
        ) : null}
      </nav>
      <main className="content">
        <Outlet />
      </main>
    </div>
  );
}
