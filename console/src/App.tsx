// The console's routes. Signed out: the landing page and the pages mailed links open. Signed in: the
// organizations, each org's views, and for operators the platform's views.
import { Navigate, Route, Routes, useLocation } from 'react-router';
import { useSession } from './auth/session';
import { Shell } from './layout/Shell';
import { Landing } from './views/public/Landing';
import { ResetPassword } from './views/public/ResetPassword';
import { SignUp } from './views/public/SignUp';
import { VerifyEmail } from './views/public/VerifyEmail';
import { AcceptInvitation } from './views/tenant/AcceptInvitation';
import { ApiKeys } from './views/tenant/ApiKeys';
import { AuditLog } from './views/tenant/AuditLog';
import { Billing } from './views/tenant/Billing';
import { DataRequests } from './views/tenant/DataRequests';
import { Members } from './views/tenant/Members';
import { OAuthClients } from './views/tenant/OAuthClients';
import { OrgOverview } from './views/tenant/OrgOverview';
import { Orgs } from './views/tenant/Orgs';
import { Sso } from './views/tenant/Sso';
import { Loading } from './ui/notices';
import { lazy, Suspense, useEffect } from 'react';

// Loaded when first opened: the chart library and the operators' views are most of the code, and
// most visits need neither.
const Usage = lazy(() => import('./views/tenant/Usage').then((m) => ({ default: m.Usage })));
const BillingRuns = lazy(() =>
  import('./views/operator/BillingRuns').then((m) => ({ default: m.BillingRuns })),
);
const Capacity = lazy(() => import('./views/operator/Capacity').then((m) => ({ default: m.Capacity })));
const ModelDetail = lazy(() =>
  import('./views/operator/ModelDetail').then((m) => ({ default: m.ModelDetail })),
);
const Models = lazy(() => import('./views/operator/Models').then((m) => ({ default: m.Models })));
const Tenants = lazy(() => import('./views/operator/Tenants').then((m) => ({ default: m.Tenants })));

/** Pages a signed-out visitor may open. */
const publicPaths = ['/', '/sign-up', '/verify-email', '/reset-password'];

export function App() {
  const { status } = useSession();
  const location = useLocation();
  if (status === 'starting') return <Loading what="the console" />;
  if (status === 'signed-out') {
    if (!publicPaths.includes(location.pathname)) return <SignInFirst />;
    return (
      <Routes>
        <Route path="/" element={<Landing />} />
        <Route path="/sign-up" element={<SignUp />} />
        <Route path="/verify-email" element={<VerifyEmail />} />
        <Route path="/reset-password" element={<ResetPassword />} />
      </Routes>
    );
  }
  return (
    <Suspense fallback={<Loading what="the page" />}>
      <Routes>
        <Route element={<Shell />}>
          <Route path="/" element={<Orgs />} />
          <Route path="/invitations/accept" element={<AcceptInvitation />} />
          <Route path="/orgs/:orgId" element={<OrgOverview />} />
          <Route path="/orgs/:orgId/members" element={<Members />} />
          <Route path="/orgs/:orgId/keys" element={<ApiKeys />} />
          <Route path="/orgs/:orgId/oauth-clients" element={<OAuthClients />} />
          <Route path="/orgs/:orgId/sso" element={<Sso />} />
          <Route path="/orgs/:orgId/usage" element={<Usage />} />
          <Route path="/orgs/:orgId/billing" element={<Billing />} />
          <Route path="/orgs/:orgId/audit-log" element={<AuditLog />} />
          <Route path="/orgs/:orgId/data-requests" element={<DataRequests />} />
          <Route path="/admin/tenants" element={<Tenants />} />
          <Route path="/admin/models" element={<Models />} />
          <Route path="/admin/models/:modelId" element={<ModelDetail />} />
          <Route path="/admin/capacity" element={<Capacity />} />
          <Route path="/admin/billing" element={<BillingRuns />} />
          <Route path="/verify-email" element={<VerifyEmail />} />
          <Route path="/reset-password" element={<ResetPassword />} />
          {/* The sign-in's last step navigates away from here; until then, nothing to redirect. */}
          <Route path="/callback" element={<Loading what="your session" />} />
          <Route path="*" element={<Navigate to="/" replace />} />
        </Route>
      </Routes>
    </Suspense>
  );
}

/** A deep link opened while signed out: sign in, then come back to it. */
function SignInFirst() {
  const { signIn, error } = useSession();
  useEffect(() => {
    if (!error) signIn();
  }, [error, signIn]);
  return error ? <Landing /> : <Loading what="the sign-in page" />;
}
