import { describe, expect, it } from 'vitest';
import { buildTestApp, useTestApp } from '../../support/app.js';
import {
  useAdminPool,
  auditRows,
  bearer,
  createOrg,
  errorCode,
  finishOnboarding,
  signUp,
} from './helpers.js';

const t = useTestApp();
const admin = useAdminPool();

interface OrgBody {
  id: string;
  name: string;
  slug: string;
  status: string;
  failureReason: string | null;
  role: string | null;
}

describe('POST /api/orgs', () => {
  it('answers 202 with the org and workflow ids, and starts onboarding/<orgId>', async () => {
    const user = await signUp(t.app);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/orgs',
      headers: bearer(user),
      payload: { name: 'Acme Robotics' },
    });
    expect(res.statusCode).toBe(202);
    const body = res.json<{ orgId: string; workflowId: string; status: string }>();
    expect(body).toEqual({
      orgId: expect.any(String),
      workflowId: `onboarding/${body.orgId}`,
      status: 'onboarding',
    });

    const description = await t.app.temporal.workflow.getHandle(body.workflowId).describe();
    expect(description.type).toBe('onboarding');
    expect(description.taskQueue).toBe('vlinders-tenants');

    const { rows } = await admin.query<{ name: string; slug: string; created_by: string }>(
      'SELECT name, slug, created_by FROM organizations WHERE id = $1',
      [body.orgId],
    );
    expect(rows[0]).toEqual({ name: 'Acme Robotics', slug: 'acme-robotics', created_by: user.id });
    const audit = await auditRows(admin, { orgId: body.orgId, action: 'org.create' });
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      actor_id: user.id,
      target_type: 'organization',
      target_id: body.orgId,
      ip: '127.0.0.1',
    });
  });

  it('takes a requested slug, and answers 409 when another org has it', async () => {
    const user = await signUp(t.app);
    const slug = `slug-${Date.now().toString(36)}`;
    const first = await t.app.inject({
      method: 'POST',
      url: '/api/orgs',
      headers: bearer(user),
      payload: { name: 'One', slug },
    });
    expect(first.statusCode).toBe(202);
    const other = await signUp(t.app);
    const second = await t.app.inject({
      method: 'POST',
      url: '/api/orgs',
      headers: bearer(other),
      payload: { name: 'Two', slug },
    });
    expect(second.statusCode).toBe(409);
    expect(errorCode(second)).toBe('CONFLICT');
    const { rows } = await admin.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM organizations WHERE created_by = $1',
      [other.id],
    );
    expect(rows[0]?.n).toBe(0);
  });

  it('derives a free slug when the name-derived one is taken', async () => {
    const [u1, u2] = [await signUp(t.app), await signUp(t.app)];
    const name = `Same Name ${Date.now().toString(36)}`;
    const a = await createOrg(t.app, u1, name);
    const b = await createOrg(t.app, u2, name);
    const { rows } = await admin.query<{ id: string; slug: string }>(
      'SELECT id, slug FROM organizations WHERE id = ANY($1)',
      [[a, b]],
    );
    const slugs = rows.map((r) => r.slug);
    expect(new Set(slugs).size).toBe(2);
    for (const s of slugs) expect(s.startsWith('same-name-')).toBe(true);
  });

  it('marks the org failed with a reason and answers 503 when onboarding cannot be started', async () => {
    const broken = await buildTestApp();
    try {
      await broken.app.temporal.connection.close();
      const user = await signUp(broken.app);
      const res = await broken.app.inject({
        method: 'POST',
        url: '/api/orgs',
        headers: bearer(user),
        payload: { name: 'Unlucky' },
      });
      expect(res.statusCode).toBe(503);
      expect(errorCode(res)).toBe('UNAVAILABLE');

      const list = await t.app.inject({ method: 'GET', url: '/api/orgs', headers: bearer(user) });
      const [org] = list.json<{ items: OrgBody[] }>().items;
      expect(org).toMatchObject({ name: 'Unlucky', status: 'failed', role: null });
      expect(org?.failureReason).toMatch(/onboarding could not be started/);
      const detail = await t.app.inject({
        method: 'GET',
        url: `/api/orgs/${org?.id}`,
        headers: bearer(user),
      });
      expect(detail.json<OrgBody>().status).toBe('failed');
      expect(await auditRows(admin, { orgId: org?.id, action: 'org.onboarding_failed' })).toHaveLength(1);
    } finally {
      await broken.close().catch(() => undefined);
    }
  });
});

describe('GET /api/orgs and /api/orgs/:orgId', () => {
  it('the creator follows onboarding before any membership exists; others get 404', async () => {
    const creator = await signUp(t.app);
    const orgId = await createOrg(t.app, creator, 'Followed');
    const res = await t.app.inject({ method: 'GET', url: `/api/orgs/${orgId}`, headers: bearer(creator) });
    expect(res.statusCode).toBe(200);
    expect(res.json<OrgBody>()).toMatchObject({ id: orgId, name: 'Followed', failureReason: null });
    expect(['onboarding', 'active']).toContain(res.json<OrgBody>().status);

    const stranger = await signUp(t.app);
    const hidden = await t.app.inject({
      method: 'GET',
      url: `/api/orgs/${orgId}`,
      headers: bearer(stranger),
    });
    expect(hidden.statusCode).toBe(404);
    const missing = await t.app.inject({
      method: 'GET',
      url: '/api/orgs/00000000-0000-4000-8000-000000000000',
      headers: bearer(stranger),
    });
    expect(missing.statusCode).toBe(404);
    expect(hidden.json<{ error: { message: string } }>().error.message).toBe(
      missing.json<{ error: { message: string } }>().error.message,
    );
  });

  it('lists only my orgs with my role, and shows members an active org', async () => {
    const owner = await signUp(t.app);
    const mine = await createOrg(t.app, owner, 'Mine');
    await finishOnboarding(admin, mine, owner.id);
    const other = await signUp(t.app);
    await createOrg(t.app, other, 'Theirs');

    const res = await t.app.inject({ method: 'GET', url: '/api/orgs', headers: bearer(owner) });
    expect(res.statusCode).toBe(200);
    const items = res.json<{ items: OrgBody[] }>().items;
    expect(items.map((o) => o.id)).toEqual([mine]);
    expect(items[0]).toMatchObject({ status: 'active', role: 'owner' });
  });

  it('a creator who is no longer a member of an active org no longer sees it', async () => {
    const creator = await signUp(t.app);
    // Written directly (no workflow), so no onboarding worker can make the creator a member meanwhile.
    const { rows } = await admin.query<{ id: string }>(
      `INSERT INTO organizations (name, slug, status, created_by) VALUES ('Left Behind', $1, 'active', $2) RETURNING id`,
      [`left-${creator.id.slice(0, 8)}`, creator.id],
    );
    const orgId = rows[0]?.id;
    const res = await t.app.inject({ method: 'GET', url: `/api/orgs/${orgId}`, headers: bearer(creator) });
    expect(res.statusCode).toBe(404);
    const list = await t.app.inject({ method: 'GET', url: '/api/orgs', headers: bearer(creator) });
    expect(list.json<{ items: OrgBody[] }>().items).toEqual([]);
  });
});
