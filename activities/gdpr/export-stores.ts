// What each store holds about the subject of an export, read under the tenant's RLS scope: a
// person's rows in this organization, or all of the organization's. Secrets never leave (password
// and key hashes, wrapped keys); everything else a row says about the subject does.
import { sql, type SQL } from 'drizzle-orm';
import type { DataRequestScope, ExportStore } from '../../core/data-requests.js';
import type { Db, Tx } from '../../db/client.js';
import {
  billingAccounts,
  files as filesTable,
  vectorStoreFiles,
  vectorStores,
} from '../../db/schema/index.js';
import { withTenant } from '../../db/tenant.js';
import type { Stripe } from '../../runtime/stripe.js';
import type { TenantObjects } from '../storage/index.js';
import type { VectorStore } from '../vectors/port.js';

export type Row = Record<string, unknown>;

/** One store's part of the archive: the whole as JSON, and its tables (also written as CSV). */
export interface StorePart {
  store: ExportStore;
  tables: Record<string, Row[]>;
  /** What is not a table: the Stripe customer, a note that a store holds nothing. */
  details?: Record<string, unknown>;
}

export interface ExportSubject {
  orgId: string;
  scope: DataRequestScope;
  subjectUserId: string | null;
}

export interface StoreReaders {
  db: Db;
  objects: TenantObjects;
  stripe: Stripe | undefined;
  vectors: () => Promise<VectorStore>;
}

async function rows(tx: Tx, query: SQL): Promise<Row[]> {
  return (await tx.execute(query)).rows;
}

/** Only the subject's rows for a person's export; every row for the organization's. */
function ofSubject(subject: ExportSubject, condition: SQL): SQL {
  return subject.scope === 'person' ? condition : sql`true`;
}

async function account(tx: Tx, subject: ExportSubject): Promise<StorePart> {
  const person = subject.subjectUserId;
  const members = await rows(
    tx,
    sql`SELECT u.id AS user_id, u.email, u.display_name, u.created_at AS user_created_at, m.role,
               m.created_at AS member_since
          FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.org_id = ${subject.orgId} AND ${ofSubject(subject, sql`m.user_id = ${person}`)}
         ORDER BY m.created_at, u.id`,
  );
  const teams = await rows(
    tx,
    sql`SELECT t.id AS team_id, t.name, t.description, tm.user_id, tm.created_at AS member_since
          FROM team_members tm JOIN teams t ON t.id = tm.team_id
         WHERE tm.org_id = ${subject.orgId} AND ${ofSubject(subject, sql`tm.user_id = ${person}`)}
         ORDER BY t.name, tm.user_id`,
  );
  const invitations = await rows(
    tx,
    sql`SELECT i.id, i.email, i.role, i.invited_by, i.created_at, i.expires_at, i.accepted_at, i.revoked_at
          FROM invitations i
         WHERE i.org_id = ${subject.orgId} AND ${ofSubject(
           subject,
           sql`(i.invited_by = ${person} OR lower(i.email) = (SELECT lower(email) FROM users WHERE id = ${person}))`,
         )}
         ORDER BY i.created_at, i.id`,
  );
  const organization = await rows(
    tx,
    sql`SELECT id, name, slug, status, plan, subscription_status, settings, created_by, created_at
          FROM organizations WHERE id = ${subject.orgId}`,
  );
  return { store: 'account', tables: { organization, members, teams, invitations } };
}

async function apiKeys(tx: Tx, subject: ExportSubject): Promise<StorePart> {
  const keys = await rows(
    tx,
    sql`SELECT id, name, prefix, team_id, created_by, scopes, allowed_models, allowed_ips,
               requests_per_minute, tokens_per_minute, created_at, expires_at, last_used_at, revoked_at
          FROM api_keys
         WHERE org_id = ${subject.orgId} AND ${ofSubject(subject, sql`created_by = ${subject.subjectUserId}`)}
         ORDER BY created_at, id`,
  );
  return { store: 'api-keys', tables: { keys } };
}

async function audit(tx: Tx, subject: ExportSubject): Promise<StorePart> {
  const person = subject.subjectUserId;
  const entries = await rows(
    tx,
    sql`SELECT id, created_at, actor_id, action, target_type, target_id, host(ip) AS ip, details
          FROM audit_log
         WHERE org_id = ${subject.orgId}
           AND ${ofSubject(subject, sql`(actor_id = ${person} OR target_id = ${person}::text)`)}
         ORDER BY id`,
  );
  return { store: 'audit', tables: { entries } };
}

async function usage(tx: Tx, subject: ExportSubject): Promise<StorePart> {
  // Usage belongs to API keys: a person's is that of the keys they created.
  const hourly = await rows(
    tx,
    sql`SELECT hour, team_id, key_id, model, requests, errors, cancelled, prompt_tokens,
               completion_tokens, cached_tokens, estimated
          FROM usage_hourly
         WHERE org_id = ${subject.orgId} AND ${ofSubject(subject, sql`key_id IN (SELECT id FROM api_keys WHERE created_by = ${subject.subjectUserId})`)}
         ORDER BY hour, key_id, model`,
  );
  return { store: 'usage', tables: { hourly } };
}

async function billing(readers: StoreReaders, subject: ExportSubject): Promise<StorePart> {
  const accounts = await withTenant(readers.db, subject.orgId, (tx) => tx.select().from(billingAccounts));
  const account = accounts[0];
  if (!account)
    return { store: 'billing', tables: { accounts: [] }, details: { stripe: 'no billing account' } };
  if (!readers.stripe) {
    throw new Error('billing is not configured (STRIPE_SECRET_KEY): the Stripe customer cannot be exported');
  }
  const customer = await readers.stripe.customers.retrieve(account.stripeCustomerId);
  const invoices: Row[] = [];
  for await (const invoice of readers.stripe.invoices.list({
    customer: account.stripeCustomerId,
    limit: 100,
  })) {
    invoices.push({
      id: invoice.id,
      number: invoice.number,
      status: invoice.status,
      currency: invoice.currency,
      total: invoice.total,
      amount_paid: invoice.amount_paid,
      created: new Date(invoice.created * 1000),
      period_start: new Date(invoice.period_start * 1000),
      period_end: new Date(invoice.period_end * 1000),
      hosted_invoice_url: invoice.hosted_invoice_url,
    });
  }
  return { store: 'billing', tables: { accounts: [{ ...account }], invoices }, details: { customer } };
}

async function files(readers: StoreReaders, subject: ExportSubject): Promise<StorePart> {
  // The tenant's objects, without earlier export archives (they are copies of all of this), and
  // what the files and vector stores are.
  const objects = (await readers.objects.list()).filter((o) => !o.name.startsWith('exports/'));
  const rows = await withTenant(readers.db, subject.orgId, async (tx) => ({
    files: await tx.select().from(filesTable),
    vector_stores: await tx.select().from(vectorStores),
    vector_store_files: await tx.select().from(vectorStoreFiles),
  }));
  return { store: 'files', tables: { objects, ...rows } };
}

async function vectors(readers: StoreReaders, subject: ExportSubject): Promise<StorePart> {
  // The documents' chunks as stored for search (the text and attributes), without the vectors.
  const store = await readers.vectors();
  const tenant = store.forTenant(subject.orgId);
  const points: Row[] = [];
  for (const collection of await store.collections()) {
    let cursor: string | null = null;
    do {
      const page = await tenant.scroll(collection, { limit: 1000, cursor });
      for (const p of page.points) {
        points.push({
          collection: collection.model,
          id: p.id,
          vector_store_id: p.storeId,
          file_id: p.fileId,
          text: p.text,
          attributes: p.attributes,
        });
      }
      cursor = page.cursor;
    } while (cursor !== null);
  }
  return { store: 'vectors', tables: { points } };
}

export function readStore(
  readers: StoreReaders,
  subject: ExportSubject,
  store: ExportStore,
): Promise<StorePart> {
  const inTenant = (read: (tx: Tx, subject: ExportSubject) => Promise<StorePart>) =>
    withTenant(readers.db, subject.orgId, (tx) => read(tx, subject));
  switch (store) {
    case 'account':
      return inTenant(account);
    case 'api-keys':
      return inTenant(apiKeys);
    case 'audit':
      return inTenant(audit);
    case 'usage':
      return inTenant(usage);
    case 'billing':
      return billing(readers, subject);
    case 'files':
      return files(readers, subject);
    case 'vectors':
      return vectors(readers, subject);
  }
}
