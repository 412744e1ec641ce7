// The vector store on a Qdrant server (@qdrant/js-client-rest). One Qdrant collection per
// embedding model and size, named `vlinders_<model>_<dimensions>`; every point's payload carries
// `org_id`, indexed as Qdrant's tenant key, and every call a tenant handle makes carries a filter
// whose first condition is that org (writes too: an upsert may only replace the tenant's points).
import { QdrantClient, type Schemas } from '@qdrant/js-client-rest';
import { checkedTenant, type CheckedTenantVectors } from './checked-tenant.js';
import type {
  Collection,
  PointContent,
  PointFilter,
  ScrollPage,
  SearchHit,
  TenantVectors,
  VectorPoint,
  VectorStore,
} from './port.js';
import { checkCollection, VectorInputError, type CheckedScroll, type CheckedSearch } from './validation.js';

const namePrefix = 'vlinders_';

function collectionName(collection: Collection): string {
  const { model, dimensions } = checkCollection(collection);
  return `${namePrefix}${model}_${dimensions}`;
}

/** The collection a name stands for; null for a collection the platform did not create. */
function parseCollectionName(name: string): Collection | null {
  const match = new RegExp(`^${namePrefix}(.+)_(\\d+)$`).exec(name);
  return match ? { model: match[1]!, dimensions: Number(match[2]) } : null;
}

interface StoredPayload {
  org_id: string;
  store_id: string;
  file_id: string;
  text: string;
  attributes: PointContent['attributes'];
}

/** The tenant's condition first, then the caller's (already checked: storeId and fileId only). */
function tenantFilter(orgId: string, filter: PointFilter): Schemas['Filter'] {
  const must: Schemas['FieldCondition'][] = [{ key: 'org_id', match: { value: orgId } }];
  if (filter.storeId !== undefined) must.push({ key: 'store_id', match: { value: filter.storeId } });
  if (filter.fileId !== undefined) must.push({ key: 'file_id', match: { value: filter.fileId } });
  return { must };
}

function status(err: unknown): unknown {
  return (err as { status?: unknown } | null)?.status;
}

class QdrantTenantVectors implements CheckedTenantVectors {
  constructor(
    private readonly client: QdrantClient,
    private readonly orgId: string,
  ) {}

  /** Qdrant's 404 (no such collection) as an input error that names the fix. */
  private async call<T>(collection: Collection, request: (name: string) => Promise<T>): Promise<T> {
    const name = collectionName(collection);
    try {
      return await request(name);
    } catch (err) {
      if (status(err) === 404)
        throw new VectorInputError(`collection ${name} does not exist (ensureCollection creates it)`);
      throw err;
    }
  }

  /** A point's content, refusing one of another tenant should the server ever return it. */
  private content(payload: unknown): PointContent {
    const p = payload as StoredPayload;
    if (p?.org_id !== this.orgId) throw new Error('the vector store returned a point of another tenant');
    return { storeId: p.store_id, fileId: p.file_id, text: p.text, attributes: p.attributes };
  }

  async upsert(collection: Collection, points: VectorPoint[]): Promise<void> {
    if (points.length === 0) return;
    await this.call(collection, (name) =>
      this.client.upsert(name, {
        wait: true,
        points: points.map((p) => ({
          id: p.id,
          vector: p.vector,
          payload: {
            org_id: this.orgId,
            store_id: p.storeId,
            file_id: p.fileId,
            text: p.text,
            attributes: p.attributes,
          } satisfies StoredPayload,
        })),
        // An id already used by another tenant is not this tenant's to replace.
        update_filter: tenantFilter(this.orgId, {}),
      }),
    );
  }

  async search(
    collection: Collection,
    { vector, limit, filter, minScore }: CheckedSearch,
  ): Promise<SearchHit[]> {
    const result = await this.call(collection, (name) =>
      this.client.query(name, {
        query: vector,
        limit,
        filter: tenantFilter(this.orgId, filter),
        score_threshold: minScore,
        with_payload: true,
      }),
    );
    return result.points.map((p) => ({ id: String(p.id), score: p.score, ...this.content(p.payload) }));
  }

  async count(collection: Collection, filter: PointFilter): Promise<number> {
    const result = await this.call(collection, (name) =>
      this.client.count(name, { filter: tenantFilter(this.orgId, filter), exact: true }),
    );
    return result.count;
  }

  async delete(collection: Collection, filter: PointFilter): Promise<void> {
    await this.call(collection, (name) =>
      this.client.delete(name, { wait: true, filter: tenantFilter(this.orgId, filter) }),
    );
  }

  async scroll(collection: Collection, { limit, cursor, filter }: CheckedScroll): Promise<ScrollPage> {
    const result = await this.call(collection, (name) =>
      this.client.scroll(name, {
        filter: tenantFilter(this.orgId, filter),
        limit,
        ...(cursor === null ? {} : { offset: cursor }),
        with_payload: true,
        with_vector: false,
      }),
    );
    const next = result.next_page_offset;
    return {
      points: result.points.map((p) => ({ id: String(p.id), ...this.content(p.payload) })),
      cursor: typeof next === 'string' || typeof next === 'number' ? String(next) : null,
    };
  }
}

export class QdrantVectorStore implements VectorStore {
  private readonly client: QdrantClient;

  constructor(options: { url: string; apiKey?: string }) {
    // No version check: it is one more request per process, and only warns.
    this.client = new QdrantClient({ url: options.url, apiKey: options.apiKey, checkCompatibility: false });
  }

  async ensureCollection(collection: Collection): Promise<void> {
    const name = collectionName(collection);
    if (!(await this.client.collectionExists(name)).exists) {
      try {
        await this.client.createCollection(name, {
          vectors: { size: collection.dimensions, distance: 'Cosine' },
        });
      } catch (err) {
        // Another process created it first.
        if (status(err) !== 409) throw err;
      }
    }
    // Every time, not only after creating: a process that died between the two leaves none, and
    // Qdrant answers an existing index with success.
    await this.client.createPayloadIndex(name, {
      wait: true,
      field_name: 'org_id',
      field_schema: { type: 'keyword', is_tenant: true },
    });
    for (const field of ['store_id', 'file_id'])
      await this.client.createPayloadIndex(name, { wait: true, field_name: field, field_schema: 'keyword' });
  }

  async collections(): Promise<Collection[]> {
    const { collections } = await this.client.getCollections();
    return collections.flatMap(({ name }) => parseCollectionName(name) ?? []);
  }

  forTenant(orgId: string): TenantVectors {
    return checkedTenant(orgId, (org) => new QdrantTenantVectors(this.client, org));
  }

  async close(): Promise<void> {
    // The client holds no connection that outlives a request.
  }
}
