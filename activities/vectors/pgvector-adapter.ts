// The vector store on pgvector, in a database of its own (not the platform's: vectors are bulky and
// rebuilt from files, and erasure reaches them through the same port as Qdrant's). Two ways in:
// PGlite in this process (a data folder only one process may hold: tests, one-process tools), or
// any PostgreSQL with pgvector over the wire — under `up`, PGlite served by scripts/pglite-server.ts,
// so the API (search) and the tenants worker (ingestion, erasure) share it.
// Search is exact (no ANN index): a tenant's points are found by the (collection, org_id, …) index
// and ranked by cosine distance. Every statement a tenant handle runs starts from `tenantScope`,
// whose org id is a bound parameter.
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import pg from 'pg';
import { checkedTenant, type CheckedTenantVectors } from './checked-tenant.js';
import type {
  Collection,
  PointFilter,
  ScrollPage,
  SearchHit,
  StoredPoint,
  TenantVectors,
  VectorPoint,
  VectorStore,
} from './port.js';
import { checkCollection, VectorInputError, type CheckedScroll, type CheckedSearch } from './validation.js';

const schema = `
  CREATE EXTENSION IF NOT EXISTS vector;
  CREATE TABLE IF NOT EXISTS collections (
    model text NOT NULL,
    dimensions integer NOT NULL,
    PRIMARY KEY (model, dimensions)
  );
  CREATE TABLE IF NOT EXISTS points (
    model text NOT NULL,
    dimensions integer NOT NULL,
    id uuid NOT NULL,
    org_id uuid NOT NULL,
    store_id text NOT NULL,
    file_id text NOT NULL,
    text text NOT NULL,
    attributes jsonb NOT NULL,
    embedding vector NOT NULL CHECK (vector_dims(embedding) = dimensions),
    PRIMARY KEY (model, dimensions, id),
    FOREIGN KEY (model, dimensions) REFERENCES collections
  );
  CREATE INDEX IF NOT EXISTS points_store ON points (model, dimensions, org_id, store_id);
  CREATE INDEX IF NOT EXISTS points_file ON points (model, dimensions, org_id, file_id);
`;

/** $1–$5: the collection, the tenant, the caller's filter. Statements number their own from $6. */
const tenantScope = `model = $1 AND dimensions = $2 AND org_id = $3
  AND ($4::text IS NULL OR store_id = $4) AND ($5::text IS NULL OR file_id = $5)`;

function scopeParams(collection: Collection, orgId: string, filter: PointFilter): unknown[] {
  return [collection.model, collection.dimensions, orgId, filter.storeId ?? null, filter.fileId ?? null];
}

/** A point as the port answers it, named in SQL so that rows need no mapping. */
const pointColumns = 'id, store_id AS "storeId", file_id AS "fileId", text, attributes';

/** What the store's statements need of a connection: PGlite and node-postgres both answer it. */
interface Queryable {
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
}

interface SqlDatabase extends Queryable {
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

function embedded(db: PGlite): SqlDatabase {
  return {
    query: (sql, params) => db.query(sql, params),
    transaction: (work) => db.transaction(work),
    close: () => db.close(),
  };
}

function overTheWire(pool: pg.Pool): SqlDatabase {
  return {
    query: async <T>(sql: string, params?: unknown[]) => ({
      rows: (await pool.query(sql, params)).rows as T[],
    }),
    async transaction(work) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await work({
          query: async <T>(sql: string, params?: unknown[]) => ({
            rows: (await client.query(sql, params)).rows as T[],
          }),
        });
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

async function requireCollection(db: Queryable, collection: Collection): Promise<void> {
  const { rows } = await db.query('SELECT 1 FROM collections WHERE model = $1 AND dimensions = $2', [
    collection.model,
    collection.dimensions,
  ]);
  if (rows.length === 0)
    throw new VectorInputError(
      `collection ${collection.model} (${collection.dimensions} dimensions) does not exist (ensureCollection creates it)`,
    );
}

class PgvectorTenantVectors implements CheckedTenantVectors {
  constructor(
    private readonly db: SqlDatabase,
    private readonly orgId: string,
  ) {}

  async upsert(collection: Collection, points: VectorPoint[]): Promise<void> {
    await this.db.transaction(async (tx) => {
      await requireCollection(tx, collection);
      for (const p of points)
        await tx.query(
          `INSERT INTO points (model, dimensions, id, org_id, store_id, file_id, text, attributes, embedding)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::vector)
           ON CONFLICT (model, dimensions, id) DO UPDATE SET
             store_id = excluded.store_id, file_id = excluded.file_id, text = excluded.text,
             attributes = excluded.attributes, embedding = excluded.embedding
           -- An id already used by another tenant is not this tenant's to replace.
           WHERE points.org_id = excluded.org_id`,
          [
            collection.model,
            collection.dimensions,
            p.id,
            this.orgId,
            p.storeId,
            p.fileId,
            p.text,
            p.attributes,
            JSON.stringify(p.vector),
          ],
        );
    });
  }

  async search(
    collection: Collection,
    { vector, limit, filter, minScore }: CheckedSearch,
  ): Promise<SearchHit[]> {
    await requireCollection(this.db, collection);
    const { rows } = await this.db.query<SearchHit>(
      `SELECT ${pointColumns}, 1 - (embedding <=> $6::vector) AS score FROM points
       WHERE ${tenantScope} AND ($7::float8 IS NULL OR 1 - (embedding <=> $6::vector) >= $7)
       ORDER BY embedding <=> $6::vector, id LIMIT $8`,
      [...scopeParams(collection, this.orgId, filter), JSON.stringify(vector), minScore ?? null, limit],
    );
    return rows;
  }

  async count(collection: Collection, filter: PointFilter): Promise<number> {
    await requireCollection(this.db, collection);
    const { rows } = await this.db.query<{ count: number }>(
      `SELECT count(*)::integer AS count FROM points WHERE ${tenantScope}`,
      scopeParams(collection, this.orgId, filter),
    );
    return rows[0]!.count;
  }

  async delete(collection: Collection, filter: PointFilter): Promise<void> {
    await requireCollection(this.db, collection);
    await this.db.query(
      `DELETE FROM points WHERE ${tenantScope}`,
      scopeParams(collection, this.orgId, filter),
    );
  }

  async scroll(collection: Collection, { limit, cursor, filter }: CheckedScroll): Promise<ScrollPage> {
    await requireCollection(this.db, collection);
    // One row more than the page: its id is where the next page starts (as Qdrant's offset).
    const { rows } = await this.db.query<StoredPoint>(
      `SELECT ${pointColumns} FROM points WHERE ${tenantScope} AND ($6::uuid IS NULL OR id >= $6)
       ORDER BY id LIMIT $7`,
      [...scopeParams(collection, this.orgId, filter), cursor, limit + 1],
    );
    const next = rows.length > limit ? rows.pop()! : null;
    return { points: rows, cursor: next?.id ?? null };
  }
}

export class PgvectorVectorStore implements VectorStore {
  private constructor(private readonly db: SqlDatabase) {}

  /** Opens (or creates) the store in PGlite, in `dataDir`, held by this process alone. */
  static async openEmbedded(dataDir: string): Promise<PgvectorVectorStore> {
    const db = await PGlite.create({ dataDir, extensions: { vector } });
    await db.exec(schema);
    return new PgvectorVectorStore(embedded(db));
  }

  /** Connects to a PostgreSQL with pgvector (the role may create the extension or it exists). */
  static async connect(url: string): Promise<PgvectorVectorStore> {
    const pool = new pg.Pool({ connectionString: url, max: 4 });
    // An idle connection the server dropped (a restart) is discarded; the next query opens another.
    // Unhandled, its error would end the process.
    pool.on('error', () => undefined);
    try {
      // One creator at a time: the API and the workers may start together.
      await pool.query(
        `BEGIN; SELECT pg_advisory_xact_lock(hashtext('vlinders/vectors/schema')); ${schema} COMMIT;`,
      );
    } catch (err) {
      await pool.end();
      throw err;
    }
    return new PgvectorVectorStore(overTheWire(pool));
  }

  async ensureCollection(collection: Collection): Promise<void> {
    const { model, dimensions } = checkCollection(collection);
    await this.db.query(
      'INSERT INTO collections (model, dimensions) VALUES ($1, $2) ON CONFLICT DO NOTHING',
      [model, dimensions],
    );
  }

  async collections(): Promise<Collection[]> {
    const { rows } = await this.db.query<Collection>(
      'SELECT model, dimensions FROM collections ORDER BY model, dimensions',
    );
    return rows;
  }

  forTenant(orgId: string): TenantVectors {
    return checkedTenant(orgId, (org) => new PgvectorTenantVectors(this.db, org));
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}
