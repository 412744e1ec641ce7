// Who is calling, as the auth hooks establish it: the signed-in user, their role in the route's org,
// and what a route requires. Plain types, so services can take them without importing the plugin.
import type { Action, AppAbility } from '../../core/policy.js';
import type { Role } from '../../core/rbac.js';

export interface AuthenticatedUser {
  id: string;
}

/** The caller in the route's org: their role and the ability the policy built for them. */
export interface OrgAccess {
  orgId: string;
  role: Role;
  ability: AppAbility;
}

/**
 * What a route needs: an org action checked against the caller's role in `params.orgId`, just
 * a signed-in user ('signed-in') for routes outside any org's scope or that check access themselves,
 * or an API key ('api-key') for routes that API clients call.
 */
export type RouteAccess = Action | 'signed-in' | 'api-key';
