// THE SHARED ROUTE TABLE. One row per management route; the security tests (no credential, wrong
// tenant, insufficient role) and the validation tests (each required field missing, each field of
// the wrong type, unknown fields, malformed ids) are generated from it. A new route is covered by
// adding its row here.
import type { Role } from '../../../core/rbac.js';
import { uniqueEmail } from './helpers.js';
import type { Tenant } from './world.js';

export interface Ids {
  orgId: string;
  teamId: string;
  invitationId: string;
  invitationToken: string;
  /** A plain member of the org: the target of member and team-member routes. */
  userId: string;
  /** An API key of the org (created by its owner). */
  apiKeyId: string;
  /** An OAuth client of the org (registered by its owner): its client_id. */
  oauthClientId: string;
  /**
   * A model and a deployment of the platform's registry (operator routes). No row is needed: every
   * caller of these tests is refused (401/403) or its input is (400) before the id is looked up.
   */
  modelId: string;
  deploymentId: string;
  /** A serving cluster and a model version (operator routes; as with models, no row is needed). */
  clusterId: string;
  version: string;
  /** A GDPR data request and a file of its archive (as with models, no row is needed). */
  requestId: string;
  /** A legal hold (operator routes; as with models, no row is needed). */
  holdId: string;
  /** A capacity pool (operator routes; as with models, no loop is needed). */
  pool: string;
  archiveFile: string;
}

export function idsOf(tenant: Tenant): Ids {
  return {
    orgId: tenant.orgId,
    teamId: tenant.teamId,
    invitationId: tenant.invitationId,
    invitationToken: tenant.invitationToken,
    userId: tenant.target.id,
    apiKeyId: tenant.apiKeyId,
    oauthClientId: tenant.oauthClientId,
    modelId: '00000000-0000-4000-8000-0000000000a1',
    deploymentId: '00000000-0000-4000-8000-0000000000a2',
    clusterId: '00000000-0000-4000-8000-0000000000a3',
    version: 'v2',
    requestId: '00000000-0000-4000-8000-0000000000a4',
    archiveFile: 'manifest.json',
    holdId: '00000000-0000-4000-8000-0000000000a5',
    pool: 'gpu-pool-a',
  };
}

export interface RouteRow {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  url: (ids: Ids) => string;
  /** A valid body; the validation tests derive the invalid ones from it. */
  body?: (ids: Ids) => Record<string, unknown>;
  /** Body fields that may be left out. */
  optional?: string[];
  /**
   * 'public': no credential needed (sign-up, login, token exchange). 'user': any signed-in user, no org in the path. 'org': org members only (others get 404).
   * 'invitee': the invitation token, not membership, grants access. 'key': an API key, never a user token.
   * 'operator': platform operators only (users.platform_role); every other user, org owners included, gets 403.
   */
  scope: 'public' | 'user' | 'org' | 'invitee' | 'key' | 'operator';
  /** Roles that get 403 in the org; every other role may call the route. */
  denied?: Role[];
  /** The path names sub-resources: another tenant's ids under the caller's own org must be 404. */
  crossIds?: boolean;
}

const nonManagers: Role[] = ['member', 'billing', 'viewer'];
const noKeyRoles: Role[] = ['billing', 'viewer'];
/** Roles refused by billing.read and billing.manage (core/policy.ts). */
const billingReaders: Role[] = ['member', 'viewer'];
const billingManagers: Role[] = ['admin', 'member', 'viewer'];
const org = (ids: Ids) => `/api/orgs/${ids.orgId}`;
const model = (ids: Ids) => `/api/admin/models/${ids.modelId}`;
const upstreamKey = (ids: Ids) => `${model(ids)}/deployments/${ids.deploymentId}/upstream-key`;

export const routeTable: RouteRow[] = [
  {
    method: 'POST',
    url: () => '/api/auth/signup',
    body: () => ({ email: uniqueEmail('new'), password: 'a long enough password', displayName: 'New' }),
    optional: ['displayName'],
    scope: 'public',
  },
  {
    method: 'POST',
    url: () => '/api/auth/verify-email',
    body: () => ({ token: 'unknown' }),
    scope: 'public',
  },
  {
    method: 'POST',
    url: () => '/api/auth/password-reset',
    body: () => ({ email: uniqueEmail('nobody') }),
    scope: 'public',
  },
  {
    method: 'POST',
    url: () => '/api/auth/password-reset/confirm',
    body: () => ({ token: 'unknown', password: 'a long enough password' }),
    scope: 'public',
  },
  {
    method: 'POST',
    url: () => '/api/auth/login',
    body: () => ({ email: uniqueEmail('nobody'), password: 'whatever it is' }),
    scope: 'public',
  },
  {
    method: 'POST',
    url: () => '/api/auth/refresh',
    body: () => ({ refreshToken: 'unknown' }),
    scope: 'public',
  },
  {
    method: 'POST',
    url: () => '/api/auth/logout',
    body: () => ({ refreshToken: 'unknown' }),
    scope: 'public',
  },
  { method: 'GET', url: () => '/api/me', scope: 'user' },
  { method: 'GET', url: () => '/api/auth/key', scope: 'key' },
  {
    method: 'POST',
    url: () => '/api/orgs',
    body: () => ({ name: 'New org', slug: `org-${Math.random().toString(36).slice(2, 10)}` }),
    optional: ['slug'],
    scope: 'user',
  },
  { method: 'GET', url: () => '/api/orgs', scope: 'user' },
  { method: 'GET', url: org, scope: 'org', denied: [] },

  {
    method: 'POST',
    url: (i) => `${org(i)}/invitations`,
    body: () => ({ email: uniqueEmail('invited'), role: 'member' }),
    scope: 'org',
    denied: nonManagers,
  },
  { method: 'GET', url: (i) => `${org(i)}/invitations`, scope: 'org', denied: nonManagers },
  {
    method: 'DELETE',
    url: (i) => `${org(i)}/invitations/${i.invitationId}`,
    scope: 'org',
    denied: nonManagers,
    crossIds: true,
  },
  {
    method: 'POST',
    url: (i) => `${org(i)}/invitations/accept`,
    body: (i) => ({ token: i.invitationToken }),
    scope: 'invitee',
  },

  { method: 'GET', url: (i) => `${org(i)}/members`, scope: 'org', denied: [] },
  {
    method: 'PATCH',
    url: (i) => `${org(i)}/members/${i.userId}`,
    body: () => ({ role: 'viewer' }),
    scope: 'org',
    denied: nonManagers,
    crossIds: true,
  },
  {
    method: 'DELETE',
    url: (i) => `${org(i)}/members/${i.userId}`,
    scope: 'org',
    denied: nonManagers,
    crossIds: true,
  },

  {
    method: 'POST',
    url: (i) => `${org(i)}/teams`,
    body: () => ({ name: `team ${uniqueEmail()}`, description: 'd' }),
    optional: ['description'],
    scope: 'org',
    denied: nonManagers,
  },
  { method: 'GET', url: (i) => `${org(i)}/teams`, scope: 'org', denied: [] },
  { method: 'GET', url: (i) => `${org(i)}/teams/${i.teamId}`, scope: 'org', denied: [], crossIds: true },
  {
    method: 'PATCH',
    url: (i) => `${org(i)}/teams/${i.teamId}`,
    body: () => ({ name: `renamed ${uniqueEmail()}`, description: 'd' }),
    optional: ['name', 'description'],
    scope: 'org',
    denied: nonManagers,
    crossIds: true,
  },
  {
    method: 'DELETE',
    url: (i) => `${org(i)}/teams/${i.teamId}`,
    scope: 'org',
    denied: nonManagers,
    crossIds: true,
  },
  {
    method: 'GET',
    url: (i) => `${org(i)}/teams/${i.teamId}/members`,
    scope: 'org',
    denied: [],
    crossIds: true,
  },
  {
    method: 'PUT',
    url: (i) => `${org(i)}/teams/${i.teamId}/members/${i.userId}`,
    scope: 'org',
    denied: nonManagers,
    crossIds: true,
  },
  {
    method: 'DELETE',
    url: (i) => `${org(i)}/teams/${i.teamId}/members/${i.userId}`,
    scope: 'org',
    denied: nonManagers,
    crossIds: true,
  },

  { method: 'GET', url: (i) => `${org(i)}/audit-log`, scope: 'org', denied: nonManagers },

  {
    method: 'POST',
    url: (i) => `${org(i)}/api-keys`,
    body: () => ({ name: 'ci key', scopes: ['inference'], requestsPerMinute: 10, tokensPerMinute: 1000 }),
    optional: ['requestsPerMinute', 'tokensPerMinute'],
    scope: 'org',
    denied: noKeyRoles,
  },
  { method: 'GET', url: (i) => `${org(i)}/api-keys`, scope: 'org', denied: noKeyRoles },
  {
    method: 'GET',
    url: (i) => `${org(i)}/api-keys/${i.apiKeyId}`,
    scope: 'org',
    denied: noKeyRoles,
    crossIds: true,
  },
  {
    method: 'POST',
    url: (i) => `${org(i)}/api-keys/${i.apiKeyId}/rotate`,
    scope: 'org',
    denied: nonManagers,
    crossIds: true,
  },
  {
    method: 'DELETE',
    url: (i) => `${org(i)}/api-keys/${i.apiKeyId}`,
    scope: 'org',
    denied: nonManagers,
    crossIds: true,
  },
  { method: 'GET', url: (i) => `${org(i)}/audit-log/verify`, scope: 'org', denied: nonManagers },
  { method: 'GET', url: (i) => `${org(i)}/usage`, scope: 'org', denied: ['member', 'viewer'] },
  { method: 'GET', url: (i) => `${org(i)}/usage.csv`, scope: 'org', denied: ['member', 'viewer'] },
  // Every member may ask for their own data; whose requests each sees is the service's check.
  {
    method: 'POST',
    url: (i) => `${org(i)}/data-requests`,
    body: () => ({ kind: 'export', scope: 'person' }),
    scope: 'org',
  },
  { method: 'GET', url: (i) => `${org(i)}/data-requests`, scope: 'org' },
  { method: 'GET', url: (i) => `${org(i)}/data-requests/${i.requestId}`, scope: 'org' },
  { method: 'POST', url: (i) => `${org(i)}/data-requests/${i.requestId}/cancel`, scope: 'org' },
  {
    method: 'GET',
    url: (i) => `${org(i)}/data-requests/${i.requestId}/archive/${i.archiveFile}`,
    scope: 'org',
  },

  { method: 'GET', url: (i) => `${org(i)}/billing`, scope: 'org', denied: billingReaders },
  {
    method: 'POST',
    url: (i) => `${org(i)}/billing/plan`,
    body: () => ({ plan: 'team', seats: 5 }),
    scope: 'org',
    denied: billingManagers,
  },
  {
    method: 'POST',
    url: (i) => `${org(i)}/billing/cancel`,
    body: () => ({ atPeriodEnd: true }),
    optional: ['atPeriodEnd'],
    scope: 'org',
    denied: billingManagers,
  },
  {
    method: 'POST',
    url: (i) => `${org(i)}/billing/checkout`,
    body: () => ({ plan: 'team', seats: 5 }),
    optional: ['seats'],
    scope: 'org',
    denied: billingManagers,
  },
  { method: 'POST', url: (i) => `${org(i)}/billing/portal`, scope: 'org', denied: billingManagers },
  { method: 'GET', url: (i) => `${org(i)}/billing/invoices`, scope: 'org', denied: billingReaders },
  { method: 'GET', url: (i) => `${org(i)}/billing/usage`, scope: 'org', denied: billingReaders },

  {
    method: 'PUT',
    url: (i) => `${org(i)}/sso`,
    body: () => ({
      issuer: 'https://idp.example.test',
      clientId: 'vlinders',
      clientSecret: 'client secret',
      allowedDomains: ['example.test'],
      roleMapping: { claim: 'groups', values: { admins: 'admin' }, default: 'member' },
    }),
    optional: ['clientSecret'],
    scope: 'org',
    denied: nonManagers,
  },
  { method: 'GET', url: (i) => `${org(i)}/sso`, scope: 'org', denied: nonManagers },
  { method: 'DELETE', url: (i) => `${org(i)}/sso`, scope: 'org', denied: nonManagers },
  { method: 'GET', url: (i) => `/api/sso/${i.orgId}/login`, scope: 'public' },
  { method: 'GET', url: () => '/api/sso/callback', scope: 'public' },
  { method: 'POST', url: () => '/api/admin/signing-keys/rotate', scope: 'operator' },
  { method: 'GET', url: () => '/api/admin/orgs', scope: 'operator' },
  { method: 'GET', url: (i) => `/api/admin/orgs/${i.orgId}`, scope: 'operator' },
  {
    method: 'POST',
    url: (i) => `/api/admin/orgs/${i.orgId}/suspend`,
    body: () => ({ reason: 'abuse report 4711' }),
    scope: 'operator',
  },
  {
    method: 'POST',
    url: (i) => `/api/admin/orgs/${i.orgId}/resume`,
    body: () => ({ reason: 'resolved' }),
    optional: ['reason'],
    scope: 'operator',
  },
  { method: 'GET', url: (i) => `/api/admin/orgs/${i.orgId}/legal-holds`, scope: 'operator' },
  {
    method: 'POST',
    url: (i) => `/api/admin/orgs/${i.orgId}/legal-holds`,
    body: () => ({ reason: 'litigation hold' }),
    scope: 'operator',
  },
  {
    method: 'POST',
    url: (i) => `/api/admin/orgs/${i.orgId}/legal-holds/${i.holdId}/release`,
    scope: 'operator',
  },
  { method: 'GET', url: () => '/api/admin/models', scope: 'operator' },
  {
    method: 'GET',
    url: () => '/api/admin/billing/reconciliation?from=2026-11-26T00:00:00Z&to=2026-11-26T06:00:00Z',
    scope: 'operator',
  },
  { method: 'GET', url: () => '/api/admin/billing/runs?limit=10', scope: 'operator' },
  {
    method: 'GET',
    url: () => '/api/admin/costs?from=2026-11-26T00:00:00Z&to=2026-11-27T00:00:00Z',
    scope: 'operator',
  },
  {
    method: 'POST',
    url: () => '/api/admin/models',
    body: () => ({
      name: `model-${Math.random().toString(36).slice(2, 10)}`,
      contextLength: 8192,
      inputPricePerMillion: 0.15,
      outputPricePerMillion: 0.6,
      status: 'active',
    }),
    optional: ['status'],
    scope: 'operator',
  },
  { method: 'GET', url: model, scope: 'operator' },
  { method: 'GET', url: upstreamKey, scope: 'operator' },
  {
    method: 'PUT',
    url: upstreamKey,
    body: () => ({ key: 'sk-upstream-0123456789abcdef' }),
    scope: 'operator',
  },
  {
    method: 'POST',
    url: (i) => `${upstreamKey(i)}/rotate`,
    body: () => ({ key: 'sk-upstream-fedcba9876543210', graceSeconds: 600 }),
    optional: ['graceSeconds'],
    scope: 'operator',
  },
  { method: 'DELETE', url: upstreamKey, scope: 'operator' },
  {
    method: 'PATCH',
    url: model,
    body: () => ({
      contextLength: 4096,
      inputPricePerMillion: 0.2,
      outputPricePerMillion: 0.8,
      status: 'disabled',
    }),
    optional: ['contextLength', 'inputPricePerMillion', 'outputPricePerMillion', 'status'],
    scope: 'operator',
  },
  { method: 'DELETE', url: model, scope: 'operator' },
  {
    method: 'POST',
    url: (i) => `${model(i)}/deployments`,
    body: () => ({
      version: 'v1',
      upstreamModel: 'meta-llama/Llama-3.1-8B-Instruct',
      urls: ['http://ray-serve:8000'],
      weight: 100,
      state: 'active',
    }),
    optional: ['state'],
    scope: 'operator',
  },
  {
    method: 'PATCH',
    url: (i) => `${model(i)}/deployments/${i.deploymentId}`,
    body: () => ({
      upstreamModel: 'llama-8b',
      urls: ['http://ray-serve:8000'],
      weight: 10,
      state: 'draining',
    }),
    optional: ['upstreamModel', 'urls', 'weight', 'state'],
    scope: 'operator',
  },
  { method: 'DELETE', url: (i) => `${model(i)}/deployments/${i.deploymentId}`, scope: 'operator' },
  {
    method: 'POST',
    url: (i) => `${model(i)}/versions`,
    body: () => ({
      version: 'v2',
      upstreamModel: 'llama-8b',
      cluster: 'gpu-a',
      application: {
        name: 'llama-8b-v2',
        route_prefix: '/llama-8b-v2',
        import_path: 'ray.serve.llm:build_openai_app',
        runtime_env: {},
        args: { llm_configs: [] },
        deployments: [],
      },
      gpuType: 'H100',
      gpuCount: 1,
      memoryMib: 65536,
      replicas: 2,
    }),
    optional: ['gpuType', 'gpuCount', 'memoryMib', 'replicas'],
    scope: 'operator',
  },
  {
    method: 'POST',
    url: (i) => `${model(i)}/rollouts`,
    body: () => ({
      version: 'v2',
      steps: [{ percent: 10, holdSeconds: 60, requireApproval: true }, { percent: 100 }],
      gates: { minRequests: 50, maxErrorRatioIncrease: 0.01, maxTtftP95Ratio: 1.2, ttftP95SlackMs: 50 },
      checkIntervalSeconds: 10,
      maxHoldSeconds: 1800,
      readyTimeoutSeconds: 900,
      drainQuietSeconds: 30,
      drainTimeoutSeconds: 600,
    }),
    optional: [
      'steps',
      'gates',
      'checkIntervalSeconds',
      'maxHoldSeconds',
      'readyTimeoutSeconds',
      'drainQuietSeconds',
      'drainTimeoutSeconds',
    ],
    scope: 'operator',
  },
  { method: 'GET', url: (i) => `${model(i)}/rollouts/${i.version}`, scope: 'operator' },
  {
    method: 'POST',
    url: (i) => `${model(i)}/rollouts/${i.version}/pause`,
    body: () => ({ reason: 'looking at a dashboard' }),
    optional: ['reason'],
    scope: 'operator',
  },
  {
    method: 'POST',
    url: (i) => `${model(i)}/rollouts/${i.version}/resume`,
    body: () => ({ reason: 'all clear' }),
    optional: ['reason'],
    scope: 'operator',
  },
  {
    method: 'POST',
    url: (i) => `${model(i)}/rollouts/${i.version}/approve`,
    body: () => ({ step: 1 }),
    optional: ['step'],
    scope: 'operator',
  },
  {
    method: 'POST',
    url: (i) => `${model(i)}/rollouts/${i.version}/abort`,
    body: () => ({ reason: 'change freeze' }),
    optional: ['reason'],
    scope: 'operator',
  },
  { method: 'GET', url: () => '/api/admin/capacity', scope: 'operator' },
  { method: 'GET', url: (i) => `/api/admin/capacity/${i.pool}`, scope: 'operator' },
  {
    method: 'POST',
    url: (i) => `/api/admin/capacity/${i.pool}/pause`,
    body: () => ({ reason: 'GPU maintenance' }),
    scope: 'operator',
  },
  {
    method: 'POST',
    url: (i) => `/api/admin/capacity/${i.pool}/resume`,
    body: () => ({ reason: 'maintenance over' }),
    optional: ['reason'],
    scope: 'operator',
  },
  {
    method: 'PATCH',
    url: (i) => `/api/admin/capacity/${i.pool}`,
    body: () => ({ dryRun: true, maxReplicas: 4 }),
    optional: ['dryRun', 'maxReplicas'],
    scope: 'operator',
  },
  { method: 'GET', url: () => '/api/admin/serving-clusters', scope: 'operator' },
  {
    method: 'POST',
    url: () => '/api/admin/serving-clusters',
    body: () => ({
      name: `gpu-${Math.random().toString(36).slice(2, 10)}`,
      proxyUrl: 'http://ray-serve:8000',
      dashboardUrl: 'http://ray-head:8265',
    }),
    scope: 'operator',
  },
  {
    method: 'PATCH',
    url: (i) => `/api/admin/serving-clusters/${i.clusterId}`,
    body: () => ({ proxyUrl: 'http://ray-serve-2:8000', dashboardUrl: 'http://ray-head-2:8265' }),
    optional: ['proxyUrl', 'dashboardUrl'],
    scope: 'operator',
  },
  { method: 'DELETE', url: (i) => `/api/admin/serving-clusters/${i.clusterId}`, scope: 'operator' },
  {
    method: 'POST',
    url: (i) => `${org(i)}/oauth-clients`,
    body: () => ({ name: 'batch job', grantTypes: ['client_credentials'], scopes: ['inference'] }),
    scope: 'org',
    denied: nonManagers,
  },
  { method: 'GET', url: (i) => `${org(i)}/oauth-clients`, scope: 'org', denied: nonManagers },
  {
    method: 'GET',
    url: (i) => `${org(i)}/oauth-clients/${i.oauthClientId}`,
    scope: 'org',
    denied: nonManagers,
    crossIds: true,
  },
  {
    method: 'DELETE',
    url: (i) => `${org(i)}/oauth-clients/${i.oauthClientId}`,
    scope: 'org',
    denied: nonManagers,
    crossIds: true,
  },
];

/** A readable name for a row: its method and path pattern. */
export function routeName(row: RouteRow): string {
  const pattern: Ids = {
    orgId: ':orgId',
    teamId: ':teamId',
    invitationId: ':invitationId',
    invitationToken: ':token',
    userId: ':userId',
    apiKeyId: ':keyId',
    oauthClientId: ':clientId',
    modelId: ':modelId',
    deploymentId: ':deploymentId',
    clusterId: ':clusterId',
    version: ':version',
    requestId: ':requestId',
    archiveFile: ':file',
    holdId: ':holdId',
    pool: ':pool',
  };
  // A row's URL may carry the query a route requires; the route is its path.
  return `${row.method} ${row.url(pattern).split('?')[0]}`;
}
