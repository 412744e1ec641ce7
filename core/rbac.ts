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
};

export function can(role: Role, action: Action): boolean {
  return permissions[action].includes(role);
}

/** Only an owner may hand out (or take away) the owner role; managers handle every other role. */
export function canAssignRole(actor: Role, target: Role): boolean {
  return target === 'owner' ? actor === 'owner' : can(actor, 'members.update');
}

export function isRole(value: string): value is Role {
  return (roles as readonly string[]).includes(value);
}
