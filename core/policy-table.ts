// The role × action table of docs/security.md, generated from the policy itself (`npm run policy:table`), so
// the documentation cannot drift from what is enforced: a unit test fails when docs/security.md does not
// contain exactly this table.
import {
  abilityFor,
  actionTargets,
  allows,
  grantableScopes,
  orgActions,
  permits,
  platformActions,
  type Action,
  type AppAbility,
  type PolicyAction,
  type SubjectAttributes,
  type SubjectType,
} from './policy.js';
import { apiKeyScopes, roles, type Role } from './rbac.js';

const what: Readonly<Record<Action, string>> = {
  'org.read': 'see the org',
  'members.read': 'list members',
  'members.update': 'change a member’s role',
  'members.remove': 'remove a member',
  'invitations.read': 'list invitations',
  'invitations.create': 'invite someone',
  'invitations.revoke': 'revoke an invitation',
  'teams.read': 'list and show teams and their members',
  'teams.create': 'create a team',
  'teams.update': 'rename or describe a team',
  'teams.delete': 'delete a team',
  'teams.members.manage': 'add or remove team members',
  'audit.read': 'read the audit log',
  'audit.verify': 'verify the audit hash chain',
  'billing.read': 'see billing',
  'billing.manage': 'change billing',
  'usage.read': 'read usage',
  'api-keys.read': 'list and show API keys',
  'api-keys.create': 'create an API key',
  'api-keys.rotate': 'rotate an API key',
  'api-keys.revoke': 'revoke an API key',
  'oauth-clients.read': 'list OAuth clients',
  'oauth-clients.manage': 'register, change, delete OAuth clients',
  'sso.read': 'see the SSO configuration',
  'sso.manage': 'configure SSO',
  'data-requests.read': 'see GDPR data requests',
  'data-requests.create': 'ask for (or cancel) a GDPR export or erasure',
  'signing-keys.rotate': 'rotate the token signing keys',
  'codec.use': 'decode workflow payloads (Temporal UI)',
  'model-registry.read': 'list and show models and their deployments',
  'model-registry.manage': 'add, change, remove models and deployments',
  'billing-runs.read': 'read the billing runs and the reconciliation (all tenants)',
  'legal-holds.read': "read an organization's legal holds",
  'legal-holds.manage': 'place and release legal holds (they block erasures)',
  'costs.read': 'read the GPU cost analysis (all models and tenants)',
  'tenants.read': 'list and show every tenant (status, plan, members, usage)',
  'tenants.suspend': 'suspend and resume a tenant (through its subscription)',
  'capacity.read': "read the capacity loops' state and decisions",
  'capacity.manage': 'pause, resume and configure a capacity loop',
};

// A sample principal per role in one org, judged on someone else's resources of that org.
const orgId = 'org';
const self = 'self';
const other = 'someone-else';
const memberOf = (role: Role) => abilityFor({ kind: 'member', userId: self, orgId, role, teamIds: ['team'] });
const operator = abilityFor({ kind: 'user', userId: self, platformRole: 'operator' });

const othersResources: { [K in SubjectType]: SubjectAttributes[K] } = {
  Organization: { id: orgId },
  Member: { orgId, userId: other, role: 'member' },
  Invitation: { orgId, role: 'member' },
  Team: { orgId, id: 'another-team' },
  TeamMember: { orgId, teamId: 'another-team' },
  AuditLog: { orgId },
  Billing: { orgId },
  Usage: { orgId, teamId: null },
  ApiKey: { orgId, id: 'key', createdBy: other, teamId: null, scopes: [] },
  Model: { orgId, name: 'model' },
  OAuthClient: { orgId },
  SsoConnection: { orgId },
  SigningKey: {},
  Codec: {},
  ModelRegistry: {},
  BillingRun: {},
  DataRequest: { orgId, subjectUserId: other, scope: 'person' },
  LegalHold: {},
  CostReport: {},
  Tenant: {},
  CapacityPool: {},
};

function onOthers<K extends SubjectType>(ability: AppAbility, verb: PolicyAction, type: K): boolean {
  return permits(ability, verb, type, othersResources[type]);
}

/** ✓: on any resource of the org; `own/team`: only their own or their teams' (creating: as themselves). */
function mark(ability: AppAbility, action: Action): string {
  if (!allows(ability, action)) return '';
  const [verb, type] = actionTargets[action];
  return onOthers(ability, verb, type) ? '✓' : 'own/team';
}

interface Row {
  label: string;
  cells: string[];
}

function rows(): Row[] {
  const abilities = roles.map(memberOf);
  const byRole = (cell: (ability: AppAbility) => string) => [...abilities.map(cell), ''];
  return [
    ...orgActions.map((action) => ({
      label: `\`${action}\`: ${what[action]}`,
      cells: byRole((ability) => mark(ability, action)),
    })),
    {
      label: 'grant or take the `owner` role',
      cells: byRole((ability) =>
        permits(ability, 'update', 'Member', { orgId, userId: other, role: 'owner' }, 'role') ? '✓' : '',
      ),
    },
    {
      label: 'change their own role',
      cells: byRole((ability) =>
        permits(ability, 'update', 'Member', { orgId, userId: self, role: 'member' }, 'role') ? '✓' : '',
      ),
    },
    ...apiKeyScopes.map((scope) => ({
      label: `give an API key the scope \`${scope}\``,
      cells: byRole((ability) => (grantableScopes(ability).includes(scope) ? '✓' : '')),
    })),
    ...platformActions.map((action) => ({
      label: `\`${action}\`: ${what[action]}`,
      cells: [...abilities.map(() => ''), allows(operator, action) ? '✓' : ''],
    })),
  ];
}

const centred = (text: string, width: number) => {
  const left = Math.floor((width - text.length) / 2);
  return ' '.repeat(left) + text + ' '.repeat(width - text.length - left);
};

/** The role × action table as Markdown, laid out exactly as Prettier formats it. */
export function policyTable(): string {
  const header = ['action', ...roles, 'operator'];
  const body = rows().map((r) => [r.label, ...r.cells]);
  const widths = header.map((h, i) => Math.max(3, h.length, ...body.map((cells) => (cells[i] ?? '').length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[0] ?? 0) : centred(c, widths[i] ?? 0))).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `:${'-'.repeat(w - 2)}:`)).join(' | ')} |`;
  return [line(header), rule, ...body.map(line)].join('\n') + '\n';
}
