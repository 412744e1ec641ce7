import { describe, expect, it } from 'vitest';
import {
  actions,
  apiKeyScopesFor,
  can,
  canAssignRole,
  isRole,
  permissions,
  roles,
  type Action,
  type Role,
} from '../../../core/rbac.js';

// The expected matrix written out in full, so a change to the table is a visible, reviewed change here.
const expected: Record<Role, Action[]> = {
  owner: [...actions],
  admin: actions.filter((a) => a !== 'billing.manage'),
  member: ['org.read', 'members.read', 'teams.read', 'api-keys.read', 'api-keys.create'],
  billing: ['org.read', 'members.read', 'teams.read', 'billing.read', 'billing.manage'],
  viewer: ['org.read', 'members.read', 'teams.read'],
};

describe('rbac', () => {
  it.each(roles)('%s may do exactly its listed actions', (role) => {
    expect(actions.filter((a) => can(role, a))).toEqual(expected[role]);
  });

  it('every action names at least one role, and only known roles', () => {
    for (const action of actions) {
      expect(permissions[action].length).toBeGreaterThan(0);
      expect(permissions[action].every(isRole)).toBe(true);
    }
  });

  it('caps the API-key scopes a role may create: members never usage:read or admin', () => {
    expect(apiKeyScopesFor('owner')).toEqual(['inference', 'models:read', 'usage:read', 'admin']);
    expect(apiKeyScopesFor('admin')).toEqual(['inference', 'models:read', 'usage:read', 'admin']);
    expect(apiKeyScopesFor('member')).toEqual(['inference', 'models:read']);
    expect(apiKeyScopesFor('billing')).toEqual([]);
    expect(apiKeyScopesFor('viewer')).toEqual([]);
  });

  it('only an owner may hand out or take away the owner role', () => {
    expect(canAssignRole('owner', 'owner')).toBe(true);
    expect(canAssignRole('admin', 'owner')).toBe(false);
    expect(canAssignRole('admin', 'admin')).toBe(true);
    expect(canAssignRole('admin', 'viewer')).toBe(true);
    for (const role of ['member', 'billing', 'viewer'] as const) {
      for (const target of roles) expect(canAssignRole(role, target)).toBe(false);
    }
  });

  it('isRole recognises the five roles and nothing else', () => {
    expect(roles.every(isRole)).toBe(true);
    expect(isRole('root')).toBe(false);
    expect(isRole('Owner')).toBe(false);
  });
});
