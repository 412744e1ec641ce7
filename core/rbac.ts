// The vocabulary of access control: membership roles, platform roles and API-key scopes. What each
// of them may do is decided in one place, the policy (core/policy.ts).

export const roles = ['owner', 'admin', 'member', 'billing', 'viewer'] as const;
export type Role = (typeof roles)[number];

/** Roles on the platform itself (users.platform_role), outside any org: operators run it. */
export const platformRoles = ['operator'] as const;
export type PlatformRole = (typeof platformRoles)[number];

/** The closed set of scopes an API key can carry. */
export const apiKeyScopes = ['inference', 'models:read', 'usage:read', 'admin'] as const;
export type ApiKeyScope = (typeof apiKeyScopes)[number];

export function isRole(value: string): value is Role {
  return (roles as readonly string[]).includes(value);
}

export function isPlatformRole(value: string | null): value is PlatformRole {
  return value !== null && (platformRoles as readonly string[]).includes(value);
}
