import { describe, expect, it } from 'vitest';
import {
  abilityFor,
  allows,
  denial,
  grantableScopes,
  orgActions,
  type OrgAction,
} from '../../../core/policy.js';
import { isPlatformRole, isRole, roles, type Role } from '../../../core/rbac.js';

const orgId = 'org-1';
const ability = (role: Role) => abilityFor({ kind: 'member', userId: 'actor', orgId, role, teamIds: [] });
const assignable = (actor: Role, target: Role) =>
  denial(ability(actor), 'update', 'Member', { orgId, userId: 'someone', role: target }, 'role') === null;

// Everyone may ask for and follow their own GDPR data requests (the service narrows them to their own).
const ownData: OrgAction[] = ['data-requests.read', 'data-requests.create'];
// The expected matrix written out in full, so a change to the policy is a visible, reviewed change here.
const expected: Record<Role, OrgAction[]> = {
  owner: [...orgActions],
  admin: orgActions.filter((a) => a !== 'billing.manage'),
  member: ['org.read', 'members.read', 'teams.read', 'api-keys.read', 'api-keys.create', ...ownData],
  billing: [
    'org.read',
    'members.read',
    'teams.read',
    'billing.read',
    'billing.manage',
    'usage.read',
    ...ownData,
  ],
  viewer: ['org.read', 'members.read', 'teams.read', ...ownData],
};

describe('rbac (roles as the policy grants them)', () => {
  it.each(roles)('%s may do exactly its listed actions', (role) => {
    expect(orgActions.filter((a) => allows(ability(role), a))).toEqual(expected[role]);
  });

  it('every action names at least one role', () => {
    for (const action of orgActions) expect(roles.some((role) => allows(ability(role), action))).toBe(true);
  });

  it('caps the API-key scopes a role may create: members never usage:read or admin', () => {
    expect(grantableScopes(ability('owner'))).toEqual(['inference', 'models:read', 'usage:read', 'admin']);
    expect(grantableScopes(ability('admin'))).toEqual(['inference', 'models:read', 'usage:read', 'admin']);
    expect(grantableScopes(ability('member'))).toEqual(['inference', 'models:read']);
    expect(grantableScopes(ability('billing'))).toEqual([]);
    expect(grantableScopes(ability('viewer'))).toEqual([]);
  });

  it('only an owner may hand out or take away the owner role', () => {
    expect(assignable('owner', 'owner')).toBe(true);
    expect(assignable('admin', 'owner')).toBe(false);
    expect(assignable('admin', 'admin')).toBe(true);
    expect(assignable('admin', 'viewer')).toBe(true);
    for (const role of ['member', 'billing', 'viewer'] as const) {
      for (const target of roles) expect(assignable(role, target)).toBe(false);
    }
  });

  it('isRole recognises the five roles and nothing else; isPlatformRole only operator', () => {
    expect(roles.every(isRole)).toBe(true);
    expect(isRole('root')).toBe(false);
    expect(isRole('Owner')).toBe(false);
    expect(isPlatformRole('operator')).toBe(true);
    expect(isPlatformRole('admin')).toBe(false);
    expect(isPlatformRole(null)).toBe(false);
  });
});
