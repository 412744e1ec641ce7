import { describe, expect, it } from 'vitest';
import { useTestApp } from '../../support/app.js';
import { useAdminPool, bearer, seedActiveOrg, signUp } from './helpers.js';

const t = useTestApp();
const admin = useAdminPool();

interface Entry {
  id: number;
  action: string;
  actorId: string | null;
  targetType: string;
  targetId: string | null;
  ip: string | null;
  createdAt: string;
}

describe('GET /api/orgs/:orgId/audit-log', () => {
  it('pages through the org’s own entries, newest first, with actor, target, ip and time', async () => {
    const owner = await signUp(t.app, 'owner');
    const orgId = await seedActiveOrg(admin, owner, 'Audited');
    const other = await signUp(t.app, 'other');
    const otherOrg = await seedActiveOrg(admin, other, 'Elsewhere');
    await t.app.inject({
      method: 'POST',
      url: `/api/orgs/${otherOrg}/teams`,
      headers: bearer(other),
      payload: { name: 'theirs' },
    });
    for (const name of ['t1', 't2', 't3', 't4', 't5']) {
      // A client-set x-forwarded-for is not trusted: the audit row keeps the peer address.
      const res = await t.app.inject({
        method: 'POST',
        url: `/api/orgs/${orgId}/teams`,
        headers: { ...bearer(owner), 'x-forwarded-for': '203.0.113.9' },
        payload: { name },
      });
      expect(res.statusCode).toBe(201);
    }

    const seen: Entry[] = [];
    let cursor: number | null = null;
    let pages = 0;
    do {
      const query: string = cursor === null ? 'limit=2' : `limit=2&before=${cursor}`;
      const res = await t.app.inject({
        method: 'GET',
        url: `/api/orgs/${orgId}/audit-log?${query}`,
        headers: bearer(owner),
      });
      expect(res.statusCode).toBe(200);
      const page = res.json<{ items: Entry[]; nextCursor: number | null }>();
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items);
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== null);

    expect(pages).toBe(3);
    expect(seen.map((e) => e.action)).toEqual(Array(5).fill('team.create'));
    expect(seen.map((e) => e.id)).toEqual([...seen.map((e) => e.id)].sort((a, b) => b - a));
    expect(seen[0]).toMatchObject({ actorId: owner.id, targetType: 'team', ip: '127.0.0.1' });
    expect(Date.parse(seen[0]!.createdAt)).not.toBeNaN();
  });

  it('answers the first 50 by default', async () => {
    const owner = await signUp(t.app, 'owner');
    const orgId = await seedActiveOrg(admin, owner, 'Default page');
    const res = await t.app.inject({
      method: 'GET',
      url: `/api/orgs/${orgId}/audit-log`,
      headers: bearer(owner),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ items: [], nextCursor: null });
  });
});
