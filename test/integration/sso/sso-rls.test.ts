// The SSO tables under row-level security, as the app role: a tenant sees only its own rows, and
// the lookups that run before a tenant is known (a bearer token's issuer, a callback's state, an
// interaction's ticket, the slug typed on the login page) show exactly the rows they name, read-only.
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDb, createPool, type Db } from '../../../db/client.js';
import { withTenant } from '../../../db/tenant.js';
import { useAdminPool } from '../api/helpers.js';

const admin = useAdminPool();
const pool = createPool({ url: inject('databaseUrl'), size: 2, applicationName: 'vlinders-test-sso-rls' });
const db: Db = createDb(pool);
afterAll(() => pool.end());

const tenants = [randomUUID(), randomUUID()].map((org) => ({
  org,
  user: randomUUID(),
  connection: randomUUID(),
  issuer: `https://idp-${org}.example.test`,
  stateHash: `state-${org}`,
  ticketHash: `ticket-${org}`,
  slug: `org-${org}`.slice(0, 40),
}));
const [a, b] = tenants as [(typeof tenants)[number], (typeof tenants)[number]];

beforeAll(async () => {
  for (const t of tenants) {
    await admin.query(
      `INSERT INTO users (id, email, password_hash, display_name) VALUES ($1, $2, 'x', 'User')`,
      [t.user, `${t.user}@example.test`],
    );
    await admin.query(
      `INSERT INTO organizations (id, name, slug, status, created_by) VALUES ($1, 'Org', $2, 'active', $3)`,
      [t.org, t.slug, t.user],
    );
    await admin.query(
      `INSERT INTO sso_connections (id, org_id, issuer, client_id, client_secret_wrapped, allowed_domains, role_mapping, metadata)
       VALUES ($1, $2, $3, 'client', 'wrapped', ARRAY['example.test'], '{"claim":"groups","values":{},"default":"member"}', '{}')`,
      [t.connection, t.org, t.issuer],
    );
    await admin.query(
      `INSERT INTO sso_identities (connection_id, subject, org_id, user_id, email) VALUES ($1, 'subject', $2, $3, 'x@example.test')`,
      [t.connection, t.org, t.user],
    );
    await admin.query(
      `INSERT INTO sso_logins (org_id, connection_id, state_hash, nonce, code_verifier_wrapped, expires_at)
       VALUES ($1, $2, $3, 'nonce', 'wrapped', now() + interval '5 minutes')`,
      [t.org, t.connection, t.stateHash],
    );
    await admin.query(
      `INSERT INTO sso_interaction_tickets (ticket_hash, org_id, interaction_uid, user_id, expires_at)
       VALUES ($1, $2, 'uid', $3, now() + interval '2 minutes')`,
      [t.ticketHash, t.org, t.user],
    );
  }
});

async function count(query: ReturnType<typeof sql>, setup: ReturnType<typeof sql>[] = []): Promise<number> {
  return db.transaction(async (tx) => {
    for (const s of setup) await tx.execute(s);
    return (await tx.execute(query)).rowCount ?? 0;
  });
}

const ours = (table: string) =>
  sql`SELECT 1 FROM ${sql.identifier(table)} WHERE org_id IN (${a.org}, ${b.org})`;

describe('SSO tables under RLS', () => {
  it.each(['sso_connections', 'sso_identities', 'sso_logins', 'sso_interaction_tickets'])(
    '%s: nothing without a scope',
    async (table) => {
      expect(await count(ours(table))).toBe(0);
    },
  );

  it.each(['sso_connections', 'sso_identities', 'sso_logins', 'sso_interaction_tickets'])(
    "%s: a tenant sees its own rows only, and cannot touch another's",
    async (table) => {
      await withTenant(db, a.org, async (tx) => {
        expect((await tx.execute(ours(table))).rowCount).toBe(1);
        expect(
          (await tx.execute(sql`DELETE FROM ${sql.identifier(table)} WHERE org_id = ${b.org}`)).rowCount,
        ).toBe(0);
      });
    },
  );

  it("the issuer lookup shows that issuer's connection only, and changes nothing", async () => {
    const byIssuer = sql`SELECT set_config('app.sso_issuer', ${a.issuer}, true)`;
    expect(await count(ours('sso_connections'), [byIssuer])).toBe(1);
    expect(await count(ours('sso_identities'), [byIssuer])).toBe(0);
    expect(
      await count(sql`UPDATE sso_connections SET client_id = 'x' WHERE issuer = ${a.issuer}`, [byIssuer]),
    ).toBe(0);
    expect(await count(sql`DELETE FROM sso_connections WHERE issuer = ${a.issuer}`, [byIssuer])).toBe(0);
  });

  it("the state lookup shows that sign-in only, and cannot delete it outside the org's scope", async () => {
    const byState = sql`SELECT set_config('app.sso_state_hash', ${b.stateHash}, true)`;
    const rows = await db.transaction(async (tx) => {
      await tx.execute(byState);
      return (await tx.execute(sql`SELECT org_id FROM sso_logins WHERE org_id IN (${a.org}, ${b.org})`)).rows;
    });
    expect(rows).toEqual([{ org_id: b.org }]);
    expect(await count(sql`DELETE FROM sso_logins WHERE state_hash = ${b.stateHash}`, [byState])).toBe(0);
  });

  it("the ticket lookup shows that ticket only, and cannot delete it outside the org's scope", async () => {
    const byTicket = sql`SELECT set_config('app.sso_ticket_hash', ${a.ticketHash}, true)`;
    expect(await count(ours('sso_interaction_tickets'), [byTicket])).toBe(1);
    expect(await count(ours('sso_logins'), [byTicket])).toBe(0);
    expect(
      await count(sql`DELETE FROM sso_interaction_tickets WHERE ticket_hash = ${a.ticketHash}`, [byTicket]),
    ).toBe(0);
  });

  it('the slug lookup shows that organization only, and changes nothing', async () => {
    const bySlug = sql`SELECT set_config('app.org_slug', ${a.slug}, true)`;
    const orgs = sql`SELECT id FROM organizations WHERE id IN (${a.org}, ${b.org})`;
    expect(await count(orgs, [bySlug])).toBe(1);
    expect(await count(ours('sso_connections'), [bySlug])).toBe(0);
    expect(await count(sql`UPDATE organizations SET name = 'x' WHERE slug = ${a.slug}`, [bySlug])).toBe(0);
    expect(await count(sql`DELETE FROM organizations WHERE slug = ${a.slug}`, [bySlug])).toBe(0);
  });
});
