import { describe, expect, it } from 'vitest';
import {
  abilityFor,
  allows,
  authorizeKey,
  denial,
  keyUsableFrom,
  orgActions,
  permits,
  platformActions,
  refusedFields,
  type KeyPrincipal,
} from '../../../core/policy.js';
import { roles, type Role } from '../../../core/rbac.js';

const orgId = 'org-a';
const otherOrg = 'org-b';
const me = 'user-me';
const someone = 'user-someone';
const member = (role: Role, teamIds: string[] = []) =>
  abilityFor({ kind: 'member', userId: me, orgId, role, teamIds });

describe('policy: platform actions', () => {
  it('only operators rotate signing keys and use the codec; no org role does', () => {
    const operator = abilityFor({ kind: 'user', userId: me, platformRole: 'operator' });
    const plain = abilityFor({ kind: 'user', userId: me, platformRole: null });
    for (const action of platformActions) {
      expect(allows(operator, action)).toBe(true);
      expect(allows(plain, action)).toBe(false);
      for (const role of roles) expect(allows(member(role), action)).toBe(false);
    }
    // Inside orgs the operator is a plain user: reading an org is only the creator's onboarding view.
    expect(orgActions.filter((action) => allows(operator, action))).toEqual(['org.read']);
    expect(
      permits(operator, 'read', 'Organization', { id: orgId, createdBy: someone, status: 'active' }),
    ).toBe(false);
  });
});

describe('policy: the resource’s org', () => {
  it.each(roles)('a %s acts on its own org only', (role) => {
    const ability = member(role);
    expect(permits(ability, 'read', 'Member', { orgId, userId: someone, role: 'member' })).toBe(true);
    expect(permits(ability, 'read', 'Member', { orgId: otherOrg, userId: someone, role: 'member' })).toBe(
      false,
    );
    expect(permits(ability, 'read', 'Organization', { id: otherOrg })).toBe(false);
    expect(permits(ability, 'read', 'ApiKey', { orgId: otherOrg, createdBy: me, teamId: null })).toBe(false);
    expect(permits(ability, 'rotate', 'ApiKey', { orgId: otherOrg, createdBy: me, teamId: null })).toBe(
      false,
    );
  });

  it('a creator sees their org while it onboards, not once it is active unless a member', () => {
    const user = abilityFor({ kind: 'user', userId: me, platformRole: null });
    expect(permits(user, 'read', 'Organization', { id: orgId, createdBy: me, status: 'onboarding' })).toBe(
      true,
    );
    expect(permits(user, 'read', 'Organization', { id: orgId, createdBy: me, status: 'failed' })).toBe(true);
    expect(permits(user, 'read', 'Organization', { id: orgId, createdBy: me, status: 'active' })).toBe(false);
    expect(
      permits(user, 'read', 'Organization', { id: orgId, createdBy: someone, status: 'onboarding' }),
    ).toBe(false);
    expect(permits(member('viewer'), 'read', 'Organization', { id: orgId, status: 'active' })).toBe(true);
  });
});

describe('policy: API keys of members and teams', () => {
  const key = (createdBy: string, teamId: string | null) => ({ orgId, createdBy, teamId, scopes: [] });

  it('a member reads the keys they created and their teams’ keys, and no other', () => {
    const ability = member('member', ['team-1']);
    expect(permits(ability, 'read', 'ApiKey', key(me, null))).toBe(true);
    expect(permits(ability, 'read', 'ApiKey', key(someone, 'team-1'))).toBe(true);
    expect(permits(ability, 'read', 'ApiKey', key(someone, null))).toBe(false);
    expect(permits(ability, 'read', 'ApiKey', key(someone, 'team-2'))).toBe(false);
  });

  it('a member rotates and revokes no key, not even their own; managers any of the org', () => {
    for (const action of ['rotate', 'revoke'] as const) {
      expect(permits(member('member', ['team-1']), action, 'ApiKey', key(me, null))).toBe(false);
      expect(permits(member('member', ['team-1']), action, 'ApiKey', key(someone, 'team-1'))).toBe(false);
      expect(permits(member('admin'), action, 'ApiKey', key(someone, 'team-9'))).toBe(true);
      expect(permits(member('owner'), action, 'ApiKey', key(someone, null))).toBe(true);
    }
  });

  it('a member creates keys as themselves, bound to no team or one of theirs, within their scopes', () => {
    const ability = member('member', ['team-1']);
    const create = (createdBy: string, teamId: string | null, scopes: ('inference' | 'admin')[]) =>
      denial(ability, 'create', 'ApiKey', { orgId, createdBy, teamId, scopes });
    expect(create(me, null, ['inference'])).toBeNull();
    expect(create(me, 'team-1', ['inference'])).toBeNull();
    expect(create(me, 'team-2', ['inference'])).toBe('Only members of the team may create its keys.');
    expect(create(me, null, ['inference', 'admin'])).toBe('A key cannot carry scopes beyond its creator’s.');
    expect(create(someone, null, ['inference'])).not.toBeNull();
    expect(
      denial(member('admin'), 'create', 'ApiKey', { orgId, teamId: 'team-2', scopes: ['admin'] }),
    ).toBeNull();
    expect(denial(member('billing'), 'create', 'ApiKey', { orgId, teamId: null, scopes: [] })).not.toBeNull();
  });
});

describe('policy: GDPR data requests', () => {
  const own = { orgId, subjectUserId: me, scope: 'person' as const };
  const someoneElses = { orgId, subjectUserId: someone, scope: 'person' as const };
  const wholeOrg = { orgId, subjectUserId: null, scope: 'organization' as const };

  it('every role asks for and reads its own export; only an owner the organization’s or another’s', () => {
    for (const role of roles) {
      for (const verb of ['create', 'read'] as const) {
        expect(permits(member(role), verb, 'DataRequest', own)).toBe(true);
        expect(permits(member(role), verb, 'DataRequest', wholeOrg)).toBe(role === 'owner');
        expect(permits(member(role), verb, 'DataRequest', someoneElses)).toBe(role === 'owner');
      }
    }
  });

  it('no role reaches another org’s requests', () => {
    expect(permits(member('owner'), 'read', 'DataRequest', { ...wholeOrg, orgId: otherOrg })).toBe(false);
    expect(permits(member('member'), 'read', 'DataRequest', { ...own, orgId: otherOrg })).toBe(false);
  });
});

describe('policy: property-level rules', () => {
  const target = (userId: string, role: Role) => ({ orgId, userId, role });

  it('nobody changes their own role, owners included', () => {
    for (const role of roles) {
      expect(denial(member(role), 'update', 'Member', target(me, role), 'role')).not.toBeNull();
      expect(refusedFields(member(role), 'Member', target(me, role), ['role'])).toEqual(['role']);
    }
    expect(denial(member('owner'), 'update', 'Member', target(me, 'owner'), 'role')).toBe(
      'You cannot change your own role.',
    );
  });

  it('only an owner grants or takes the owner role, or removes an owner', () => {
    expect(permits(member('owner'), 'update', 'Member', target(someone, 'owner'), 'role')).toBe(true);
    expect(permits(member('owner'), 'delete', 'Member', target(someone, 'owner'))).toBe(true);
    expect(denial(member('admin'), 'update', 'Member', target(someone, 'owner'), 'role')).toBe(
      'Only an owner may grant or take away the owner role.',
    );
    expect(permits(member('admin'), 'delete', 'Member', target(someone, 'owner'))).toBe(false);
    expect(permits(member('admin'), 'update', 'Member', target(someone, 'viewer'), 'role')).toBe(true);
    expect(denial(member('admin'), 'create', 'Invitation', { orgId, role: 'owner' })).toBe(
      'Only an owner may invite an owner.',
    );
    expect(permits(member('owner'), 'create', 'Invitation', { orgId, role: 'owner' })).toBe(true);
  });

  it('bodies may write only the permitted fields: never org_id, plan or status', () => {
    const team = { orgId, id: 'team-1' };
    expect(refusedFields(member('owner'), 'Team', team, ['name', 'description'])).toEqual([]);
    expect(refusedFields(member('owner'), 'Team', team, ['name', 'orgId', 'status', 'plan'])).toEqual([
      'orgId',
      'status',
      'plan',
    ]);
    expect(refusedFields(member('viewer'), 'Team', team, ['name'])).toEqual(['name']);
    expect(
      refusedFields(member('owner'), 'Member', target(someone, 'viewer'), ['role', 'orgId', 'plan']),
    ).toEqual(['orgId', 'plan']);
    expect(refusedFields(member('member'), 'Member', target(someone, 'viewer'), ['role'])).toEqual(['role']);
  });
});

describe('policy: API-key principals', () => {
  const base: KeyPrincipal = {
    kind: 'api-key',
    keyId: 'key-1',
    orgId,
    teamId: null,
    scopes: ['inference'],
    allowedModels: null,
    allowedIps: null,
  };
  const key = (overrides: Partial<KeyPrincipal> = {}) => {
    const principal = { ...base, ...overrides };
    return { keyId: principal.keyId, orgId: principal.orgId, ability: abilityFor(principal) };
  };
  const ip = '203.0.113.7';

  it('each action needs its scope: inference invokes, models:read lists, usage:read reads usage', () => {
    const inference = key();
    expect(authorizeKey(inference, 'invoke', { model: 'llama' })).toBe(true);
    expect(authorizeKey(inference, 'models.read', { model: 'llama' })).toBe(false);
    expect(authorizeKey(inference, 'usage.read', {})).toBe(false);
    const reader = key({ scopes: ['models:read', 'usage:read'] });
    expect(authorizeKey(reader, 'invoke', { model: 'llama' })).toBe(false);
    expect(authorizeKey(reader, 'models.read', { model: 'llama' })).toBe(true);
    expect(authorizeKey(reader, 'usage.read', {})).toBe(true);
    expect(authorizeKey(key({ scopes: [] }), 'invoke', { model: 'llama' })).toBe(false);
    expect(authorizeKey(inference, 'invoke', {})).toBe(false);
  });

  it('a team key reads only its team’s usage', () => {
    const teamKey = key({ scopes: ['usage:read'], teamId: 'team-1' });
    expect(authorizeKey(teamKey, 'usage.read', { teamId: 'team-1' })).toBe(true);
    expect(authorizeKey(teamKey, 'usage.read', { teamId: 'team-2' })).toBe(false);
    expect(authorizeKey(teamKey, 'usage.read', {})).toBe(false);
  });

  it('the key’s model allow-list and the plan’s allowed models must both admit the model', () => {
    const listed = key({ allowedModels: ['llama', 'mistral'] });
    expect(authorizeKey(listed, 'invoke', { model: 'llama' })).toBe(true);
    expect(authorizeKey(listed, 'invoke', { model: 'gpt' })).toBe(false);
    const planned = key({ allowedModels: ['llama', 'mistral'], planModels: ['mistral', 'gpt'] });
    expect(authorizeKey(planned, 'invoke', { model: 'mistral' })).toBe(true);
    expect(authorizeKey(planned, 'invoke', { model: 'llama' })).toBe(false);
    expect(authorizeKey(planned, 'invoke', { model: 'gpt' })).toBe(false);
    const planOnly = key({ planModels: ['gpt'] });
    expect(authorizeKey(planOnly, 'invoke', { model: 'gpt' })).toBe(true);
    expect(authorizeKey(planOnly, 'invoke', { model: 'llama' })).toBe(false);
  });

  it('the IP allow-list admits listed networks only (IPv4, IPv6, IPv4-mapped), never garbage', () => {
    // Checked once, when the key is verified: a key refused here never reaches authorizeKey.
    const fenced = key({ allowedIps: ['10.0.0.0/8', '2001:db8::/32'] });
    for (const inside of ['10.1.2.3', '::ffff:10.9.8.7', '2001:db8::1'])
      expect(keyUsableFrom(fenced, inside)).toBe(true);
    for (const outside of ['192.168.1.1', '2001:db9::1', 'not-an-ip', ''])
      expect(keyUsableFrom(fenced, outside)).toBe(false);
    expect(keyUsableFrom(key(), '192.168.1.1')).toBe(true);
  });

  it('a key acts in its own org only and is no member', () => {
    const k = key({ scopes: ['inference', 'models:read', 'usage:read', 'admin'] });
    expect(permits(k.ability, 'invoke', 'Model', { orgId: otherOrg, name: 'llama' })).toBe(false);
    expect(keyUsableFrom({ ...k, orgId: otherOrg }, ip)).toBe(false);
    // Reading usage is the one org action a key takes too (its usage:read scope, on its own org).
    for (const action of orgActions) expect(allows(k.ability, action)).toBe(action === 'usage.read');
  });
});
