// Usage routes: hourly and daily rows (a day is the sum of its UTC hours), grouped by model, key or
// team, read from the rollups the ledger writes; the CSV export; who may read (roles by policy, keys
// with usage:read, a team key only its team); and bad ranges refused with a clear message.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import type { UsageEvent } from '../../../core/usage-event.js';
import type { UsageRow } from '../../../api/control/usage/usage.js';
import { UsageLedger } from '../../../db/usage-ledger.js';
import { useTestApp } from '../../support/app.js';
import { usageEvent } from '../metering/support.js';
import {
  addMember,
  bearer,
  errorCode,
  seedActiveOrg,
  signUp,
  useAdminPool,
  type TestUser,
} from './helpers.js';

const t = useTestApp();
let admin: pg.Pool;
let owner: TestUser;
let billing: TestUser;
let orgId: string;
let otherOrgId: string;
let teamId: string;
const [k1, k2] = [randomUUID(), randomUUID()];

const hour = 3_600_000;
// Three days ago, at 00:00 UTC: the seeded usage lies on that day and the next.
const day0 = Math.floor(Date.now() / (24 * hour)) * 24 * hour - 3 * 24 * hour;
const iso = (ms: number) => new Date(ms).toISOString();

beforeAll(async () => {
  admin = useAdminPool();
  owner = await signUp(t.app, 'usage-owner');
  billing = await signUp(t.app, 'usage-billing');
  orgId = await seedActiveOrg(admin, owner, 'Usage');
  await addMember(admin, orgId, billing.id, 'billing');
  otherOrgId = await seedActiveOrg(admin, await signUp(t.app, 'usage-other'), 'Other');
  const team = await t.app.inject({
    method: 'POST',
    url: `/api/orgs/${orgId}/teams`,
    headers: bearer(owner),
    payload: { name: 'research' },
  });
  teamId = team.json<{ id: string }>().id;

  const at = (offset: number, e: Partial<UsageEvent>) =>
    usageEvent({ orgId, occurredAt: iso(day0 + offset), ...e });
  await new UsageLedger(t.app.db).append([
    at(10.25 * hour, { model: 'm1', keyId: k1, teamId, promptTokens: 10, completionTokens: 20 }),
    at(10.75 * hour, {
      model: 'm1',
      keyId: k2,
      promptTokens: 5,
      completionTokens: 5,
      status: 500,
      cancelled: true,
    }),
    at(11.1 * hour, {
      model: 'm2',
      keyId: k1,
      teamId,
      promptTokens: 100,
      completionTokens: 1,
      estimated: true,
    }),
    at(26 * hour, { model: 'm1', keyId: k2, promptTokens: 1, completionTokens: 2, cachedTokens: 1 }),
    at(12 * hour, { model: 'say "hi", ok', keyId: k2, promptTokens: 1, completionTokens: 1 }),
    at(12 * hour, { model: '=HYPERLINK("x")', keyId: k2, promptTokens: 1, completionTokens: 1 }),
    usageEvent({ orgId, occurredAt: iso(Date.now() - hour), model: 'recent', keyId: k1 }),
    usageEvent({ orgId: otherOrgId, occurredAt: iso(day0 + 10 * hour), model: 'm1' }),
  ]);
});

async function usage(query: string, headers = bearer(owner), org = orgId) {
  return t.app.inject({ method: 'GET', url: `/api/orgs/${org}/usage?${query}`, headers });
}

const twoDays = `from=${iso(day0)}&to=${iso(day0 + 48 * hour)}`;
const pick = (rows: UsageRow[]) => rows.map((r) => [r.period, r.group, r.requests, r.totalTokens]);

async function createKey(body: Record<string, unknown>): Promise<string> {
  const res = await t.app.inject({
    method: 'POST',
    url: `/api/orgs/${orgId}/api-keys`,
    headers: bearer(owner),
    payload: { name: `usage key ${randomUUID().slice(0, 6)}`, ...body },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json<{ key: string }>().key;
}

describe('GET /api/orgs/:orgId/usage', () => {
  it('answers hourly rows per model with every counter', async () => {
    const res = await usage(`${twoDays}&granularity=hour&groupBy=model`);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json<{
      rows: UsageRow[];
      from: string;
      to: string;
      granularity: string;
      groupBy: string;
    }>();
    expect(body).toMatchObject({
      from: iso(day0),
      to: iso(day0 + 48 * hour),
      granularity: 'hour',
      groupBy: 'model',
    });
    expect(body.rows[0]).toEqual({
      period: iso(day0 + 10 * hour),
      group: 'm1',
      requests: 2,
      errors: 1,
      cancelled: 1,
      promptTokens: 15,
      completionTokens: 25,
      cachedTokens: 0,
      totalTokens: 40,
      estimated: 0,
    });
    expect(pick(body.rows)).toEqual([
      [iso(day0 + 10 * hour), 'm1', 2, 40],
      [iso(day0 + 11 * hour), 'm2', 1, 101],
      [iso(day0 + 12 * hour), '=HYPERLINK("x")', 1, 2],
      [iso(day0 + 12 * hour), 'say "hi", ok', 1, 2],
      [iso(day0 + 26 * hour), 'm1', 1, 3],
    ]);
    expect(body.rows[1]?.estimated).toBe(1);
  });

  it('sums the hours of each UTC day', async () => {
    const res = await usage(`${twoDays}&granularity=day&groupBy=model`);
    expect(pick(res.json<{ rows: UsageRow[] }>().rows)).toEqual([
      [iso(day0), '=HYPERLINK("x")', 1, 2],
      [iso(day0), 'm1', 2, 40],
      [iso(day0), 'm2', 1, 101],
      [iso(day0), 'say "hi", ok', 1, 2],
      [iso(day0 + 24 * hour), 'm1', 1, 3],
    ]);
  });

  it('groups by key and by team (keys without a team under null)', async () => {
    const byKey = await usage(`${twoDays}&granularity=day&groupBy=key`);
    const [first, second] = [k1, k2].sort();
    const day0Keys = byKey
      .json<{ rows: UsageRow[] }>()
      .rows.filter((r) => r.period === iso(day0))
      .map((r) => [r.group, r.requests]);
    expect(day0Keys).toEqual([
      [first, first === k1 ? 2 : 3],
      [second, second === k1 ? 2 : 3],
    ]);

    const byTeam = await usage(`${twoDays}&granularity=day&groupBy=team`);
    expect(pick(byTeam.json<{ rows: UsageRow[] }>().rows)).toEqual([
      [iso(day0), null, 3, 14],
      [iso(day0), teamId, 2, 131],
      [iso(day0 + 24 * hour), null, 1, 3],
    ]);
  });

  it("narrows to one team's usage", async () => {
    const res = await usage(`${twoDays}&granularity=day&teamId=${teamId}`);
    expect(res.json<{ teamId: string }>().teamId).toBe(teamId);
    expect(pick(res.json<{ rows: UsageRow[] }>().rows)).toEqual([
      [iso(day0), 'm1', 1, 30],
      [iso(day0), 'm2', 1, 101],
    ]);
  });

  it('defaults to the last 24 hours, hourly, per model, and rounds the range to whole buckets', async () => {
    const recent = await usage('');
    const body = recent.json<{
      rows: UsageRow[];
      granularity: string;
      groupBy: string;
      from: string;
      to: string;
    }>();
    expect(body).toMatchObject({ granularity: 'hour', groupBy: 'model' });
    expect(body.rows.map((r) => r.group)).toEqual(['recent']);
    expect(Date.parse(body.to)).toBeGreaterThanOrEqual(Date.now());

    const rounded = await usage(`from=${iso(day0 + 10.5 * hour)}&to=${iso(day0 + 10.6 * hour)}`);
    expect(rounded.json()).toMatchObject({ from: iso(day0 + 10 * hour), to: iso(day0 + 11 * hour) });
    expect(pick(rounded.json<{ rows: UsageRow[] }>().rows)).toEqual([[iso(day0 + 10 * hour), 'm1', 2, 40]]);
  });

  it('lets the billing role read usage', async () => {
    expect((await usage(twoDays, bearer(billing))).statusCode).toBe(200);
  });

  it.each([
    [`from=${iso(day0 + hour)}&to=${iso(day0)}`, 'from must be before to.'],
    [`from=${iso(day0)}&to=${iso(day0)}`, 'from must be before to.'],
    [`from=${iso(day0 - 94 * 24 * hour)}&to=${iso(day0)}`, 'The range may span at most 93 days.'],
    [`from=${iso(Date.now() + 48 * hour)}`, 'from must be before to.'],
    ['from=1999-12-31T00:00:00Z&to=2000-01-02T00:00:00Z', 'between 2000-01-01 and 9999-01-01'],
    ['from=9999-06-01T00:00:00Z&to=9999-06-02T00:00:00Z', 'between 2000-01-01 and 9999-01-01'],
    ['granularity=week', 'querystring.granularity'],
    ['groupBy=org', 'querystring.groupBy'],
    ['from=yesterday', 'querystring.from must match format "date-time"'],
    ['teamId=research', 'querystring.teamId must match format "uuid"'],
    ['page=2', 'querystring'],
  ])('refuses %s with 400 VALIDATION', async (query, message) => {
    const res = await usage(query);
    expect(res.statusCode).toBe(400);
    expect(errorCode(res)).toBe('VALIDATION');
    expect(res.json<{ error: { message: string } }>().error.message).toContain(message);
  });
});

describe('GET /api/orgs/:orgId/usage.csv', () => {
  it('answers the same report as CSV with a header row and escaped fields', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: `/api/orgs/${orgId}/usage.csv?${twoDays}&granularity=day`,
      headers: bearer(owner),
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="usage-.*\.csv"$/);
    expect(res.body.split('\r\n')).toEqual([
      'period,model,requests,errors,cancelled,prompt_tokens,completion_tokens,cached_tokens,total_tokens,estimated',
      `${iso(day0)},"'=HYPERLINK(""x"")",1,0,0,1,1,0,2,0`,
      `${iso(day0)},m1,2,1,1,15,25,0,40,0`,
      `${iso(day0)},m2,1,0,0,100,1,0,101,1`,
      `${iso(day0)},"say ""hi"", ok",1,0,0,1,1,0,2,0`,
      `${iso(day0 + 24 * hour)},m1,1,0,0,1,2,1,3,0`,
      '',
    ]);
  });

  it('names the group column after groupBy and writes no team as an empty field', async () => {
    const res = await t.app.inject({
      method: 'GET',
      url: `/api/orgs/${orgId}/usage.csv?${twoDays}&granularity=day&groupBy=team`,
      headers: bearer(owner),
    });
    const lines = res.body.split('\r\n');
    expect(lines[0]?.startsWith('period,team_id,requests,')).toBe(true);
    expect(lines[1]).toBe(`${iso(day0)},,3,1,1,7,7,0,14,0`);
  });
});

describe('usage read with an API key', () => {
  it('answers a key with usage:read for its own org, and 404 for another org', async () => {
    const key = await createKey({ scopes: ['usage:read'] });
    const own = await usage(twoDays, { authorization: `Bearer ${key}` });
    expect(own.statusCode, own.body).toBe(200);
    expect(own.json<{ rows: UsageRow[] }>().rows).toHaveLength(5);
    const other = await usage(twoDays, { authorization: `Bearer ${key}` }, otherOrgId);
    expect(other.statusCode).toBe(404);
    expect(errorCode(other)).toBe('NOT_FOUND');
  });

  it("shows a team's key only its team's usage, and refuses another team's", async () => {
    const key = await createKey({ scopes: ['usage:read'], teamId });
    const own = await usage(`${twoDays}&granularity=day`, { authorization: `Bearer ${key}` });
    expect(own.statusCode, own.body).toBe(200);
    expect(own.json<{ teamId: string }>().teamId).toBe(teamId);
    expect(pick(own.json<{ rows: UsageRow[] }>().rows)).toEqual([
      [iso(day0), 'm1', 1, 30],
      [iso(day0), 'm2', 1, 101],
    ]);
    const other = await usage(`${twoDays}&teamId=${randomUUID()}`, { authorization: `Bearer ${key}` });
    expect(other.statusCode).toBe(403);
    expect(errorCode(other)).toBe('FORBIDDEN');
  });

  it('refuses a key without usage:read', async () => {
    const key = await createKey({ scopes: ['inference'] });
    const res = await usage(twoDays, { authorization: `Bearer ${key}` });
    expect(res.statusCode).toBe(403);
    expect(res.json<{ error: { message: string } }>().error.message).toBe(
      'This key lacks the usage:read scope.',
    );
  });
});
