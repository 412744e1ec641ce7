// The one policy engine: every authorization decision is asked of a CASL ability built here.
//
// RBAC: a principal's role grants actions on subject types (Member, ApiKey, Model, …).
// ABAC: conditions on the resource's attributes narrow them — its org (always the principal's
// org), its team (the member's teams), the API key's scopes, model allow-list and IP allow-list
// (the `$inCidr` operator on the request's `clientIp`), the plan's allowed models.
// Property-level rules: field rules on Member.role (nobody changes their own role, only an owner
// grants or takes `owner`), and `writableFields` for what request bodies may set at all.
//
// Routes declare a route action (`members.update`); `allows` answers whether the principal may
// perform it on some resource of its org (403 otherwise), and services check the resource itself
// with `permits` / `denial` once they have read it.
import {
  AbilityBuilder,
  buildMongoQueryMatcher,
  createMongoAbility,
  subject as typed,
  type ForcedSubject,
  type MongoAbility,
  type MongoQuery,
} from '@casl/ability';
import { permittedFieldsOf } from '@casl/ability/extra';
import { ipInNetworks } from './cidr.js';
import { apiKeyScopes, type ApiKeyScope, type PlatformRole, type Role } from './rbac.js';

export type SubjectType =
  | 'Organization'
  | 'Member'
  | 'Invitation'
  | 'Team'
  | 'TeamMember'
  | 'AuditLog'
  | 'Billing'
  | 'Usage'
  | 'ApiKey'
  | 'Model'
  | 'OAuthClient'
  | 'SsoConnection'
  | 'SigningKey'
  | 'Codec'
  | 'ModelRegistry'
  | 'BillingRun'
  | 'DataRequest'
  | 'LegalHold'
  | 'CostReport'
  | 'Tenant'
  | 'CapacityPool';

export type PolicyAction =
  | 'read'
  | 'create'
  | 'update'
  | 'delete'
  | 'verify'
  | 'rotate'
  | 'revoke'
  | 'configure'
  | 'administer'
  | 'invoke'
  | 'use';

/** The attributes conditions can test, per subject type. `clientIp` is the request's address (a key's use). */
export interface SubjectAttributes {
  Organization: { id: string; createdBy?: string; status?: string };
  Member: { orgId: string; userId: string; role: Role };
  Invitation: { orgId: string; role: Role };
  Team: { orgId: string; id?: string };
  TeamMember: { orgId: string; teamId?: string };
  AuditLog: { orgId: string };
  Billing: { orgId: string };
  Usage: { orgId: string; teamId: string | null };
  ApiKey: {
    orgId: string;
    id?: string;
    createdBy?: string;
    teamId?: string | null;
    scopes?: readonly ApiKeyScope[];
    clientIp?: string;
  };
  Model: { orgId: string; name: string };
  OAuthClient: { orgId: string };
  SsoConnection: { orgId: string };
  SigningKey: object;
  Codec: object;
  ModelRegistry: object;
  BillingRun: object;
  /** A GDPR request: of one person's data (`person`, `subjectUserId` set) or the whole org's. */
  DataRequest: { orgId: string; subjectUserId: string | null; scope: 'person' | 'organization' };
  LegalHold: object;
  CostReport: object;
  /** Any organization as operators see it (the tenant directory): not the org a member reads. */
  Tenant: object;
  CapacityPool: object;
}
type Resource = { [K in SubjectType]: SubjectAttributes[K] & ForcedSubject<K> }[SubjectType];

export type AppAbility = MongoAbility<[PolicyAction, SubjectType | Resource]>;

/** The route actions of an org's routes: what `config.access` names, checked against `params.orgId`. */
export const orgActions = [
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
  'usage.read',
  'api-keys.read',
  'api-keys.create',
  'api-keys.rotate',
  'api-keys.revoke',
  'oauth-clients.read',
  'oauth-clients.manage',
  'sso.read',
  'sso.manage',
  'data-requests.read',
  'data-requests.create',
] as const;
export type OrgAction = (typeof orgActions)[number];

/** Route actions on the platform itself, decided by the user's platform role, not a membership. */
export const platformActions = [
  'signing-keys.rotate',
  'codec.use',
  'model-registry.read',
  'model-registry.manage',
  'billing-runs.read',
  'legal-holds.read',
  'legal-holds.manage',
  'costs.read',
  'tenants.read',
  'tenants.suspend',
  'capacity.read',
  'capacity.manage',
] as const;
export type PlatformAction = (typeof platformActions)[number];

export type Action = OrgAction | PlatformAction;

/** What each route action is in CASL terms. */
export const actionTargets: Readonly<Record<Action, readonly [PolicyAction, SubjectType]>> = {
  'org.read': ['read', 'Organization'],
  'members.read': ['read', 'Member'],
  'members.update': ['update', 'Member'],
  'members.remove': ['delete', 'Member'],
  'invitations.read': ['read', 'Invitation'],
  'invitations.create': ['create', 'Invitation'],
  'invitations.revoke': ['delete', 'Invitation'],
  'teams.read': ['read', 'Team'],
  'teams.create': ['create', 'Team'],
  'teams.update': ['update', 'Team'],
  'teams.delete': ['delete', 'Team'],
  'teams.members.manage': ['update', 'TeamMember'],
  'audit.read': ['read', 'AuditLog'],
  'audit.verify': ['verify', 'AuditLog'],
  'billing.read': ['read', 'Billing'],
  'billing.manage': ['update', 'Billing'],
  'usage.read': ['read', 'Usage'],
  'api-keys.read': ['read', 'ApiKey'],
  'api-keys.create': ['create', 'ApiKey'],
  'api-keys.rotate': ['rotate', 'ApiKey'],
  'api-keys.revoke': ['revoke', 'ApiKey'],
  'oauth-clients.read': ['read', 'OAuthClient'],
  'oauth-clients.manage': ['configure', 'OAuthClient'],
  'sso.read': ['read', 'SsoConnection'],
  'sso.manage': ['configure', 'SsoConnection'],
  'data-requests.read': ['read', 'DataRequest'],
  'data-requests.create': ['create', 'DataRequest'],
  'signing-keys.rotate': ['rotate', 'SigningKey'],
  'codec.use': ['use', 'Codec'],
  'model-registry.read': ['read', 'ModelRegistry'],
  'model-registry.manage': ['configure', 'ModelRegistry'],
  'billing-runs.read': ['read', 'BillingRun'],
  'legal-holds.read': ['read', 'LegalHold'],
  'legal-holds.manage': ['configure', 'LegalHold'],
  'costs.read': ['read', 'CostReport'],
  'tenants.read': ['read', 'Tenant'],
  'tenants.suspend': ['update', 'Tenant'],
  'capacity.read': ['read', 'CapacityPool'],
  'capacity.manage': ['configure', 'CapacityPool'],
};

/**
 * What each API-key scope lets a key do. A creator may put a scope on a key only if they may do
 * that themselves, so a key never exceeds its creator. `admin` (org administration through a key)
 * is taken by no route yet; it is reserved for owners and admins.
 */
export const scopeGrants: Readonly<Record<ApiKeyScope, readonly [PolicyAction, SubjectType]>> = {
  inference: ['invoke', 'Model'],
  'models:read': ['read', 'Model'],
  'usage:read': ['read', 'Usage'],
  admin: ['administer', 'Organization'],
};

/**
 * The attributes a request body may set on each entity it updates; anything else (org_id, role
 * where not listed, plan, status…) is refused by `refusedFields` even if a body schema let it in.
 */
export const writableFields = {
  Member: ['role'],
  Team: ['name', 'description'],
} as const satisfies Partial<Record<SubjectType, readonly string[]>>;

/** Every attribute of the entities with writable fields, for rules that name no fields. */
const entityFields: Record<keyof typeof writableFields, readonly string[]> = {
  Member: ['orgId', 'userId', 'role'],
  Team: ['id', 'orgId', 'name', 'description'],
};

/** A signed-in user outside any org (or one whose membership is not known here). */
export interface UserPrincipal {
  kind: 'user';
  userId: string;
  platformRole: PlatformRole | null;
}

/**
 * A member acting in one org. `teamIds` are the teams of that org they belong to. `planModels` is
 * the org plan's model allow-list: plans come with billing, so callers pass none today (no limit).
 */
export interface MemberPrincipal {
  kind: 'member';
  userId: string;
  orgId: string;
  role: Role;
  teamIds: readonly string[];
  planModels?: readonly string[] | null;
}

/** An API key, with its scopes already capped by its creator (`grantableScopes`). */
export interface KeyPrincipal {
  kind: 'api-key';
  keyId: string;
  orgId: string;
  teamId: string | null;
  scopes: readonly ApiKeyScope[];
  allowedModels: readonly string[] | null;
  allowedIps: readonly string[] | null;
  planModels?: readonly string[] | null;
}

export type Principal = UserPrincipal | MemberPrincipal | KeyPrincipal;

// `clientIp: { $inCidr: [...] }`: the request's address lies in one of the networks.
const $inCidr = {
  type: 'field',
  validate(_instruction: unknown, value: unknown) {
    if (!Array.isArray(value)) throw new TypeError('$inCidr takes a list of CIDR networks');
  },
};
function inCidr(
  condition: { field: string; value: string[] },
  object: unknown,
  { get }: { get: (object: unknown, field: string) => unknown },
): boolean {
  return ipInNetworks(get(object, condition.field), condition.value);
}
const conditionsMatcher = buildMongoQueryMatcher(
  { $inCidr } as Parameters<typeof buildMongoQueryMatcher>[0],
  { inCidr } as Parameters<typeof buildMongoQueryMatcher>[1],
);

/** The IP condition of a key's rules (MongoQuery's type takes any operator object for a field). */
function clientIpIn(cidrs: readonly string[] | null): MongoQuery {
  return cidrs ? { clientIp: { $inCidr: cidrs } } : {};
}

/** A model allow-list condition: both lists (key and plan) must admit the model. */
function modelsIn(...lists: (readonly string[] | null | undefined)[]): MongoQuery {
  const present = lists.filter((l): l is readonly string[] => Array.isArray(l));
  const [first, ...rest] = present;
  if (!first) return {};
  return { name: { $in: first.filter((m) => rest.every((l) => l.includes(m))) } };
}

type Builder = AbilityBuilder<AppAbility>;
const build = (builder: Builder) => builder.build({ conditionsMatcher });

function defineUserRules({ can }: Builder, p: { userId: string; platformRole: PlatformRole | null }) {
  // The creator follows their org's onboarding before any membership exists.
  can('read', 'Organization', { createdBy: p.userId, status: { $ne: 'active' } });
  if (p.platformRole === 'operator') {
    can('rotate', 'SigningKey');
    can('use', 'Codec');
    can(['read', 'configure'], 'ModelRegistry');
    can('read', 'BillingRun');
    // Legal holds stop erasures: operators place and release them, for legal reasons tenants may not see.
    can(['read', 'configure'], 'LegalHold');
    can('read', 'CostReport');
    can(['read', 'update'], 'Tenant');
    can(['read', 'configure'], 'CapacityPool');
  }
}

function defineMemberRules(builder: Builder, p: MemberPrincipal): void {
  const { can, cannot } = builder;
  const inOrg = { orgId: p.orgId };
  const is = (...granted: Role[]) => granted.includes(p.role);

  can('read', 'Organization', { id: p.orgId });
  can('read', ['Member', 'Team', 'TeamMember'], inOrg);
  // Everyone may have their own data (GDPR Art. 15, 20); the organization's is its owners'.
  can(['read', 'create'], 'DataRequest', { ...inOrg, scope: 'person', subjectUserId: p.userId });
  if (is('owner')) can(['read', 'create'], 'DataRequest', inOrg);
  if (is('owner', 'admin')) {
    can('update', 'Member', ['role'], inOrg);
    can('delete', 'Member', inOrg);
    can(['read', 'create', 'delete'], 'Invitation', inOrg);
    can(['create', 'delete'], 'Team', inOrg);
    can('update', 'Team', [...writableFields.Team], inOrg);
    can('update', 'TeamMember', inOrg);
    can(['read', 'verify'], 'AuditLog', inOrg);
    can(['read', 'create', 'rotate', 'revoke'], 'ApiKey', inOrg);
    can(['read', 'configure'], ['OAuthClient', 'SsoConnection'], inOrg);
    can('administer', 'Organization', { id: p.orgId });
  }
  if (is('owner', 'admin', 'billing')) can('read', ['Billing', 'Usage'], inOrg);
  if (is('owner', 'billing')) can('update', 'Billing', inOrg);
  if (is('owner', 'admin', 'member'))
    can(['invoke', 'read'], 'Model', { ...inOrg, ...modelsIn(p.planModels) });
  if (is('member')) {
    // Keys for their own apps, optionally bound to a team they belong to; they see the keys they
    // created and their teams' keys. Rotating and revoking stay with managers.
    can('create', 'ApiKey', { ...inOrg, createdBy: p.userId });
    can('read', 'ApiKey', { ...inOrg, createdBy: p.userId });
    can('read', 'ApiKey', { ...inOrg, teamId: { $in: [...p.teamIds] } });
    cannot('create', 'ApiKey', { teamId: { $nin: [null, ...p.teamIds] } }).because(
      'Only members of the team may create its keys.',
    );
  }

  // Property-level rules; `cannot` rules come last so they win.
  if (!is('owner')) {
    cannot(['update', 'delete'], 'Member', { role: 'owner' }).because(
      'Only an owner may grant or take away the owner role.',
    );
    cannot('create', 'Invitation', { role: 'owner' }).because('Only an owner may invite an owner.');
  }
  cannot('update', 'Member', ['role'], { userId: p.userId }).because('You cannot change your own role.');
  const excess = apiKeyScopes.filter((s) => !grantableScopes(build(builder)).includes(s));
  if (excess.length > 0) {
    cannot(['create', 'rotate'], 'ApiKey', { scopes: { $in: excess } }).because(
      'A key cannot carry scopes beyond its creator’s.',
    );
  }
}

// The IP allow-list is a condition of using the key at all ('use' ApiKey), checked once when the key
// is verified (keyUsableFrom); what the key may then do depends on its scopes and lists alone.
function defineKeyRules({ can }: Builder, k: KeyPrincipal): void {
  const inOrg = { orgId: k.orgId };
  can('use', 'ApiKey', { id: k.keyId, ...inOrg, ...clientIpIn(k.allowedIps) });
  for (const scope of k.scopes) {
    if (scope === 'inference')
      can('invoke', 'Model', { ...inOrg, ...modelsIn(k.allowedModels, k.planModels) });
    if (scope === 'models:read')
      can('read', 'Model', { ...inOrg, ...modelsIn(k.allowedModels, k.planModels) });
    if (scope === 'usage:read') can('read', 'Usage', { ...inOrg, ...(k.teamId && { teamId: k.teamId }) });
    if (scope === 'admin') can('administer', 'Organization', { id: k.orgId });
  }
}

/** The ability of a principal: every decision about it is asked of this object. */
export function abilityFor(principal: Principal): AppAbility {
  const builder = new AbilityBuilder<AppAbility>(createMongoAbility);
  if (principal.kind === 'user') defineUserRules(builder, principal);
  if (principal.kind === 'member') {
    defineUserRules(builder, { userId: principal.userId, platformRole: null });
    defineMemberRules(builder, principal);
  }
  if (principal.kind === 'api-key') defineKeyRules(builder, principal);
  return build(builder);
}

/**
 * The route-level check: may the principal perform the action on at least some resource of its
 * org? Conditions on the resource itself are checked by the service that reads it.
 */
export function allows(ability: AppAbility, action: Action): boolean {
  const [verb, type] = actionTargets[action];
  return ability.can(verb, type);
}

/** A resource of a type, as CASL sees it: its attributes tagged with the type. */
function resource<K extends SubjectType>(type: K, attributes: SubjectAttributes[K]): Resource {
  return typed(type, { ...attributes }) as Resource;
}

/** Whether the principal may act on this resource (attributes as the resource has them). */
export function permits<K extends SubjectType>(
  ability: AppAbility,
  action: PolicyAction,
  type: K,
  attributes: SubjectAttributes[K],
  field?: string,
): boolean {
  return ability.can(action, resource(type, attributes), field);
}

/** Why the principal may not act on this resource, or null when it may. */
export function denial<K extends SubjectType>(
  ability: AppAbility,
  action: PolicyAction,
  type: K,
  attributes: SubjectAttributes[K],
  field?: string,
): string | null {
  const target = resource(type, attributes);
  if (ability.can(action, target, field)) return null;
  return ability.relevantRuleFor(action, target, field)?.reason ?? `You may not ${action} this ${type}.`;
}

/**
 * The body fields the principal may not write on this entity: those outside `writableFields` and
 * those CASL's `permittedFieldsOf` does not grant for this very resource.
 */
export function refusedFields<K extends keyof typeof writableFields>(
  ability: AppAbility,
  type: K,
  attributes: SubjectAttributes[K],
  fields: readonly string[],
): string[] {
  const permitted = permittedFieldsOf(ability, 'update', resource(type, attributes), {
    fieldsFrom: (rule) => rule.fields ?? [...entityFields[type]],
  });
  const writable: readonly string[] = writableFields[type];
  return fields.filter((f) => !writable.includes(f) || !permitted.includes(f));
}

/** The scopes the principal may put on a key: those it may use itself, if it may create keys. */
export function grantableScopes(ability: AppAbility): ApiKeyScope[] {
  if (!ability.can('create', 'ApiKey')) return [];
  return apiKeyScopes.filter((scope) => {
    const [verb, type] = scopeGrants[scope];
    return ability.can(verb, type);
  });
}

/**
 * What a key asks to do: call a model, list a model, read usage (of a team, or org-wide), keep the
 * org's files and vector stores (inputs to inference: a key that may call some model may).
 */
export type KeyAction = 'invoke' | 'models.read' | 'usage.read' | 'files';

/** What a verified key asks to do; its IP allow-list was checked when it was verified. */
export interface KeyRequest {
  /** The model called or listed (invoke, models.read). */
  model?: string;
  /** The team whose usage is read; none for the whole org's (usage.read). */
  teamId?: string | null;
}

/** The one call the gateway makes per request: may this key do this, for this model? */
export function authorizeKey(
  key: { orgId: string; ability: AppAbility },
  action: KeyAction,
  request: KeyRequest,
): boolean {
  const context = { orgId: key.orgId };
  if (action === 'files') return key.ability.can('invoke', 'Model');
  if (action === 'usage.read')
    return permits(key.ability, 'read', 'Usage', { ...context, teamId: request.teamId ?? null });
  if (request.model === undefined) return false;
  const verb = action === 'invoke' ? 'invoke' : 'read';
  return permits(key.ability, verb, 'Model', { ...context, name: request.model });
}

/** Whether a verified key may be used at all from this address (its IP allow-list). */
export function keyUsableFrom(
  key: { keyId: string; orgId: string; ability: AppAbility },
  ip: string,
): boolean {
  return permits(key.ability, 'use', 'ApiKey', { id: key.keyId, orgId: key.orgId, clientIp: ip });
}

export function isPlatformAction(action: Action): action is PlatformAction {
  return (platformActions as readonly string[]).includes(action);
}
