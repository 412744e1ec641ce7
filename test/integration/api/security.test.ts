// Generated from the shared route table: every route refuses a missing credential (401), hides
// another tenant's org and ids (404, indistinguishable from missing), and refuses roles below
// what it needs (403) — and none of these refusals changes anything.
import type { LightMyRequestResponse } from 'fastify';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from '../../support/app.js';
import { adminPool, bearer, errorCode, type TestUser } from './helpers.js';
import { idsOf, routeName, routeTable, type Ids, type RouteRow } from './route-table.js';
import { orgFingerprint } from './state.js';
import { buildWorld, type World } from './world.js';

let t: TestApp;
let admin: pg.Pool;
let world: World;

beforeAll(async () => {
  t = await buildTestApp();
  admin = adminPool();
  world = await buildWorld(t.app, admin);
});
afterAll(async () => {
  await t?.close();
  await admin?.end();
});

function call(row: RouteRow, ids: Ids, headers: Record<string, string>): Promise<LightMyRequestResponse> {
  return t.app.inject({
    method: row.method,
    url: row.url(ids),
    headers,
    ...(row.body && { payload: row.body(ids) }),
  });
}

/** Calls the route and checks that neither tenant's data changed. */
async function callUnchanged(
  row: RouteRow,
  ids: Ids,
  headers: Record<string, string>,
): Promise<LightMyRequestResponse> {
  const before = await Promise.all([
    orgFingerprint(admin, world.a.orgId),
    orgFingerprint(admin, world.b.orgId),
  ]);
  const res = await call(row, ids, headers);
  expect(
    await Promise.all([orgFingerprint(admin, world.a.orgId), orgFingerprint(admin, world.b.orgId)]),
  ).toEqual(before);
  return res;
}

const guarded = routeTable.filter((row) => row.scope !== 'public');

describe.each(guarded.map((row) => [routeName(row), row] as const))('%s', (_name, row) => {
  it('answers 401 without a credential', async () => {
    const res = await callUnchanged(row, idsOf(world.a), {});
    expect(res.statusCode).toBe(401);
    expect(errorCode(res)).toBe('UNAUTHENTICATED');
  });

  it('answers 401 for a token that is not ours', async () => {
    const res = await callUnchanged(row, idsOf(world.a), {
      authorization: 'Bearer eyJhbGciOiJub25lIn0.e30.',
    });
    expect(res.statusCode).toBe(401);
    expect(errorCode(res)).toBe('INVALID_TOKEN');
  });

  if (row.scope === 'org') {
    it("answers 404 to a member of another tenant (B's owner on A's org)", async () => {
      const res = await callUnchanged(row, idsOf(world.a), bearer(world.b.users.owner));
      expect(res.statusCode).toBe(404);
      expect(errorCode(res)).toBe('NOT_FOUND');
    });

    it('answers 404 to a signed-in user of no org', async () => {
      const res = await callUnchanged(row, idsOf(world.a), bearer(world.outsider));
      expect(res.statusCode).toBe(404);
    });
  }

  if (row.scope === 'key') {
    it("answers 401 to a user's valid token", async () => {
      const res = await callUnchanged(row, idsOf(world.a), bearer(world.a.users.owner));
      expect(res.statusCode).toBe(401);
    });
  }

  if (row.scope === 'operator') {
    it.each([
      ["an org's owner", () => world.a.users.owner],
      ['a signed-in user of no org', () => world.outsider],
    ])('answers 403 to %s', async (_who, user) => {
      const res = await callUnchanged(row, idsOf(world.a), bearer(user()));
      expect(res.statusCode).toBe(403);
      expect(errorCode(res)).toBe('FORBIDDEN');
    });
  }

  if (row.crossIds) {
    it("answers 404 for another tenant's ids under the caller's own org", async () => {
      const ids = { ...idsOf(world.a), orgId: world.b.orgId };
      const res = await callUnchanged(row, ids, bearer(world.b.users.owner));
      expect(res.statusCode).toBe(404);
      expect(errorCode(res)).toBe('NOT_FOUND');
    });
  }

  if (row.scope === 'invitee') {
    it("answers 404 for another tenant's invitation token under the caller's org", async () => {
      const ids = { ...idsOf(world.a), orgId: world.b.orgId };
      const res = await callUnchanged(row, ids, bearer(world.a.invitee));
      expect(res.statusCode).toBe(404);
    });
  }

  for (const role of row.denied ?? []) {
    it(`answers 403 to a ${role}`, async () => {
      const user: TestUser = world.a.users[role];
      const res = await callUnchanged(row, idsOf(world.a), bearer(user));
      expect(res.statusCode).toBe(403);
      expect(errorCode(res)).toBe('FORBIDDEN');
    });
  }
});

describe('the route table', () => {
  it('has a row for every /api route in the OpenAPI document', () => {
    const doc = t.app.swagger() as { paths: Record<string, Record<string, unknown>> };
    const served = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith('/api/'))
      .flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
      );
    const listed = routeTable.map(routeName);
    expect(served.filter((r) => !listed.includes(r))).toEqual([]);
    expect(listed.filter((r) => !served.includes(r))).toEqual([]);
  });
});
