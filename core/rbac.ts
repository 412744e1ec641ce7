// Role-based access control as one pure table: which membership role may perform which action.
// Routes declare the action they need and call `can`; a later ABAC engine (CASL abilities built
// from role, plan and resource conditions) can replace `can` without touching the routes.

export const roles = ['owner', 'admin', 'member', 'billing', 'viewer'] as const;
export type Role = (typeof roles)[number];

export const actions = [
  'org.read',
  'members.read',
  'members.update',
  'members.remove',
  'invitations.read',
  'invitations.create',
  'invitations.revoke',
  'teams.read',
  'teams.create',
  'teams.update',
  'teams.delete',
  'teams.members.manage',
  'audit.read',
  'audit.verify',
  'billing.read',
  'billing.manage',
  'api-keys.read',
  'api-keys.create',
  'api-keys.manage',
  'oauth-clients.manage',
] as const;
export type Action = (typeof actions)[number];

const everyone: readonly Role[] = roles;
const managers: readonly Role[] = ['owner', 'admin'];

/** The table: action → roles allowed to perform it. */
export const permissions: Readonly<Record<Action, readonly Role[]>> = {
  'org.read': everyone,
  'members.read': everyone,
  'members.update': managers,
  'members.remove': managers,
  'invitations.read': managers,
  'invitations.create': managers,
  'invitations.revoke': managers,
  'teams.read': everyone,
  'teams.create': managers,
  'teams.update': managers,
  'teams.delete': managers,
  'teams.members.manage': managers,
  'audit.read': managers,
  'audit.verify': managers,
  'billing.read': ['owner', 'admin', 'billing'],
  'billing.manage': ['owner', 'billing'],
  // API keys. Members may create keys for their own apps and see the keys they created (the
  // service narrows their list to those); the scopes they may give a key are capped by
  // `apiKeyScopesFor`. Rotating and revoking any key of the org is for managers. Billing and viewer
  // roles never touch keys: a key is a credential that can spend the org's money.
  'api-keys.read': ['owner', 'admin', 'member'],
  'api-keys.create': ['owner', 'admin', 'member'],
  'api-keys.manage': managers,
  // OAuth clients of the built-in authorization server: registering, listing and revoking them is
  // for managers only (a client credential acts for the whole org, like an admin's API key).
  'oauth-clients.manage': managers,
};

/** The closed set of scopes an API key can carry. */
export const apiKeyScopes = ['inference', 'models:read', 'usage:read', 'admin'] as const;
export type ApiKeyScope = (typeof apiKeyScopes)[number];

export function can(role: Role, action: Action): boolean {
  return permissions[action].includes(role);
}

/** Only an owner may hand out (or take away) the owner role; managers handle every other role. */
export function canAssignRole(actor: Role, target: Role): boolean {
  return target === 'owner' ? actor === 'owner' : can(actor, 'members.update');
}

/**
 * The API-key scopes a role may put on a key it creates: a key never carries more than its creator
 * may do. Owners and admins may create any scope, `admin` included; a member only keys that call
 * models (`inference`, `models:read`) — never `usage:read` (billing data) nor `admin`. Other roles
 * create no keys at all.
 */
export function apiKeyScopesFor(role: Role): readonly ApiKeyScope[] {
  if (role === 'owner' || role === 'admin') return apiKeyScopes;
  if (role === 'member') return ['inference', 'models:read'];
  return [];
}

export function isRole(value: string): value is Role {
  return (roles as readonly string[]).includes(value);
}
