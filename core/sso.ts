// Pure rules of single sign-on: which role an external identity's claims map to, and whether its
// email's domain may join. The owner role is never handed out by an identity provider.
import type { Role } from './rbac.js';

export type MappableRole = Exclude<Role, 'owner'>;

export interface RoleMapping {
  /** The claim to read, e.g. `groups` (a string or a list of strings). */
  claim: string;
  /** Claim value → role. */
  values: Record<string, MappableRole>;
  /** The role when no value matches. */
  default: MappableRole;
}

/** When several values match, the most capable role wins, in this order. */
const precedence: readonly MappableRole[] = ['admin', 'member', 'billing', 'viewer'];

export function roleFromClaims(mapping: RoleMapping, claims: Record<string, unknown>): MappableRole {
  const raw = claims[mapping.claim];
  const values = (Array.isArray(raw) ? raw : [raw]).filter((v): v is string => typeof v === 'string');
  const matched = new Set(
    values.filter((v) => Object.hasOwn(mapping.values, v)).map((v) => mapping.values[v] as MappableRole),
  );
  return precedence.find((role) => matched.has(role)) ?? mapping.default;
}

/** The lower-cased domain of an email address, or null when it has none. */
export function emailDomain(email: string): string | null {
  const at = email.lastIndexOf('@');
  if (at < 1 || at === email.length - 1) return null;
  return email.slice(at + 1).toLowerCase();
}

export function domainAllowed(email: string, allowedDomains: readonly string[]): boolean {
  const domain = emailDomain(email);
  return domain !== null && allowedDomains.includes(domain);
}
