// Generated from the shared route table: for every route, each required body field missing, each
// field of the wrong type, an unknown field (mass assignment) and each malformed id in the path
// answer 400 VALIDATION as JSON — and change nothing.
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../support/app.js';
import { adminPool, bearer, errorCode } from './helpers.js';
import { idsOf, routeName, routeTable, type Ids, type RouteRow } from './route-table.js';
import { orgFingerprint, orgsCreatedBy } from './state.js';
import { buildTenant, type Tenant } from './world.js';

let t: TestApp;
let admin: pg.Pool;
let tenant: Tenant;

beforeAll(async () => {
  t = await buildTestApp();
  admin = adminPool();
  tenant = await buildTenant(t.app, admin, 'v');
});
afterAll(async () => {
  await t?.close();
  await admin?.end();
});

interface BadRequest {
  name: string;
  url: (ids: Ids) => string;
  payload?: (ids: Ids) => unknown;
}

// Cases are listed when the file is collected, before the tenant exists: field names and types
// come from a body built with placeholder ids, the real ids are filled in when each case runs.
const placeholder: Ids = {
  orgId: '00000000-0000-4000-8000-000000000001',
  teamId: '00000000-0000-4000-8000-000000000002',
  invitationId: '00000000-0000-4000-8000-000000000003',
  invitationToken: 'token',
  userId: '00000000-0000-4000-8000-000000000004',
  apiKeyId: '00000000-0000-4000-8000-000000000005',
  oauthClientId: 'vlc_00000000000040008000000000000001_000000000000000000000000',
  modelId: '00000000-0000-4000-8000-000000000006',
  deploymentId: '00000000-0000-4000-8000-000000000007',
  clusterId: '00000000-0000-4000-8000-000000000008',
  version: 'v2',
  requestId: '00000000-0000-4000-8000-000000000009',
  archiveFile: 'manifest.json',
  holdId: '00000000-0000-4000-8000-00000000000a',
  pool: 'gpu-pool-a',
};

function wrongTypeFor(value: unknown): unknown {
  return typeof value === 'string' ? 12345 : 'text';
}

/** The invalid requests derived from one row's valid body and path. */
function badRequests(row: RouteRow): BadRequest[] {
  const cases: BadRequest[] = [];
  const body = row.body;
  if (body) {
    const sample = body(placeholder);
    for (const [field, value] of Object.entries(sample)) {
      const change = (patch: (valid: Record<string, unknown>) => unknown) => (ids: Ids) => patch(body(ids));
      if (!row.optional?.includes(field)) {
        cases.push({
          name: `body without ${field}`,
          url: row.url,
          payload: change(({ [field]: _omitted, ...rest }) => rest),
        });
      }
      cases.push({
        name: `body.${field} of the wrong type`,
        url: row.url,
        payload: change((v) => ({ ...v, [field]: wrongTypeFor(value) })),
      });
      cases.push({
        name: `body.${field} null`,
        url: row.url,
        payload: change((v) => ({ ...v, [field]: null })),
      });
    }
    for (const smuggled of ['orgId', 'role', 'status', 'org_id']) {
      if (!(smuggled in sample))
        cases.push({
          name: `body with unknown field ${smuggled}`,
          url: row.url,
          payload: (ids) => ({ ...body(ids), [smuggled]: 'x' }),
        });
    }
    cases.push({ name: 'body that is not an object', url: row.url, payload: () => ['array'] });
    cases.push({ name: 'no body', url: row.url });
  }
  for (const key of [
    'orgId',
    'teamId',
    'invitationId',
    'userId',
    'apiKeyId',
    'oauthClientId',
    'modelId',
    'deploymentId',
    'clusterId',
    'requestId',
  ] as const) {
    const url = (ids: Ids) => row.url({ ...ids, [key]: 'not-a-uuid' });
    if (url(placeholder) !== row.url(placeholder))
      cases.push({ name: `${key} that is not a uuid`, url, payload: body });
  }
  return cases;
}

const cases = routeTable.flatMap((row) =>
  badRequests(row).map((bad) => [`${routeName(row)}: ${bad.name}`, row, bad] as const),
);

describe('bad input', () => {
  it('covers every route that takes a body or ids', () => {
    const covered = new Set(cases.map(([, row]) => row));
    expect(
      routeTable
        .filter((row) => (row.body || row.url(placeholder).includes(placeholder.orgId)) && !covered.has(row))
        .map(routeName),
    ).toEqual([]);
  });

  it.each(cases)('%s → 400 VALIDATION, nothing changed', async (_name, row, bad) => {
    const owner = tenant.users.owner;
    const before = [await orgFingerprint(admin, tenant.orgId), await orgsCreatedBy(admin, owner.id)];
    const res = await t.app.inject({
      method: row.method,
      url: bad.url(idsOf(tenant)),
      headers: { ...bearer(owner), 'content-type': 'application/json' },
      ...(bad.payload && { payload: JSON.stringify(bad.payload(idsOf(tenant))) }),
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(errorCode(res)).toBe('VALIDATION');
    expect([await orgFingerprint(admin, tenant.orgId), await orgsCreatedBy(admin, owner.id)]).toEqual(before);
  });

  it.each([
    [
      'PATCH team with an empty body',
      'PATCH',
      (ids: Ids) => `/api/orgs/${ids.orgId}/teams/${ids.teamId}`,
      {},
    ],
    ['POST team with a blank name', 'POST', (ids: Ids) => `/api/orgs/${ids.orgId}/teams`, { name: '   ' }],
    ['POST org with a blank name', 'POST', () => '/api/orgs', { name: '  ' }],
    ['POST org with an invalid slug', 'POST', () => '/api/orgs', { name: 'Acme', slug: 'Not A Slug!' }],
    [
      'POST invitation with an unknown role',
      'POST',
      (ids: Ids) => `/api/orgs/${ids.orgId}/invitations`,
      { email: 'x@example.test', role: 'superuser' },
    ],
    [
      'POST invitation with an invalid email',
      'POST',
      (ids: Ids) => `/api/orgs/${ids.orgId}/invitations`,
      { email: 'nope', role: 'member' },
    ],
    [
      'PATCH member with an unknown role',
      'PATCH',
      (ids: Ids) => `/api/orgs/${ids.orgId}/members/${ids.userId}`,
      { role: 'root' },
    ],
  ] as const)('%s → 400 VALIDATION, nothing changed', async (_name, method, url, payload) => {
    const before = await orgFingerprint(admin, tenant.orgId);
    const res = await t.app.inject({
      method,
      url: url(idsOf(tenant)),
      headers: bearer(tenant.users.owner),
      payload,
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(errorCode(res)).toBe('VALIDATION');
    expect(await orgFingerprint(admin, tenant.orgId)).toBe(before);
  });

  it.each(['limit=0', 'limit=101', 'limit=ten', 'before=0', 'before=-3', 'before=abc', 'page=2'])(
    'GET audit-log?%s → 400 VALIDATION',
    async (query) => {
      const res = await t.app.inject({
        method: 'GET',
        url: `/api/orgs/${tenant.orgId}/audit-log?${query}`,
        headers: bearer(tenant.users.owner),
      });
      expect(res.statusCode).toBe(400);
      expect(errorCode(res)).toBe('VALIDATION');
    },
  );

  it('a body that is not JSON → 400 VALIDATION', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/orgs/${tenant.orgId}/teams`,
      headers: { ...bearer(tenant.users.owner), 'content-type': 'application/json' },
      payload: '{"name": ',
    });
    expect(res.statusCode).toBe(400);
    expect(errorCode(res)).toBe('VALIDATION');
  });
});
