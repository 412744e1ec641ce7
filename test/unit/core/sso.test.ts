import { describe, expect, it } from 'vitest';
import { domainAllowed, emailDomain, roleFromClaims, type RoleMapping } from '../../../core/sso.js';

const mapping: RoleMapping = {
  claim: 'groups',
  values: { 'vl-admins': 'admin', 'vl-finance': 'billing', 'vl-readers': 'viewer', 'vl-staff': 'member' },
  default: 'viewer',
};

describe('roleFromClaims', () => {
  it.each([
    [['vl-readers', 'vl-admins'], 'admin'],
    [['vl-finance', 'vl-readers'], 'billing'],
    [['vl-finance', 'vl-staff'], 'member'],
    ['vl-finance', 'billing'],
    [[], 'viewer'],
    [['unknown'], 'viewer'],
    [undefined, 'viewer'],
    [[42, { group: 'vl-admins' }], 'viewer'],
    [['constructor', 'toString', '__proto__'], 'viewer'],
  ])('groups %j → %s', (groups, role) => {
    expect(roleFromClaims(mapping, { groups })).toBe(role);
  });

  it('reads the configured claim', () => {
    expect(roleFromClaims({ ...mapping, claim: 'roles' }, { roles: 'vl-admins', groups: [] })).toBe('admin');
  });
});

describe('email domains', () => {
  it.each([
    ['Alice@Company.Test', 'company.test'],
    ['a@b@company.test', 'company.test'],
    ['no-at-sign', null],
    ['@company.test', null],
    ['alice@', null],
  ])('%s → %s', (email, domain) => {
    expect(emailDomain(email)).toBe(domain);
  });

  it('allows listed domains only, not their look-alikes or subdomains', () => {
    const allowed = ['company.test'];
    expect(domainAllowed('a@COMPANY.test', allowed)).toBe(true);
    expect(domainAllowed('a@evil-company.test', allowed)).toBe(false);
    expect(domainAllowed('a@sub.company.test', allowed)).toBe(false);
    expect(domainAllowed('a@company.test.evil', allowed)).toBe(false);
  });
});
