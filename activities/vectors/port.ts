// The vector store as the platform uses it: chunks of tenants' documents, embedded by one model,
// searched by meaning. Points are read and written only through `forTenant(orgId)`, whose every
// query, count, delete and scroll is filtered by that org: there is no method that takes a filter
// without the tenant, so no caller can write a query that reaches another tenant's points.

/** The vectors of one embedding model at one size: a collection of its own in the store. */
export interface Collection {
  /** The embedding model (and version) the vectors come from, e.g. `text-embedding-3-small`. */
  model: string;
  dimensions: number;
}

/** What a point carries besides its vector. */
export interface PointContent {
  storeId: string;
  fileId: string;
  /** The chunk of the document the vector was computed from. */
  text: string;
  /** The file's attributes, for filtering and display (OpenAI's vector-store file attributes). */
  attributes: Record<string, string | number | boolean>;
}

export interface VectorPoint extends PointContent {
  /** A UUID; the same id upserted again replaces the point (ingestion retries stay idempotent). */
  id: string;
  vector: number[];
}

/** Narrows a tenant's points; every key given must match. The tenant is never part of it. */
export interface PointFilter {
  storeId?: string;
  fileId?: string;
}

export interface SearchQuery {
  vector: number[];
  /** 1 to 100 hits. */
  limit: number;
  filter?: PointFilter;
  /** Cosine similarity (-1 to 1) a hit must reach. */
  minScore?: number;
}

export interface SearchHit extends PointContent {
  id: string;
  /** Cosine similarity to the query, highest first. */
  score: number;
}

export interface StoredPoint extends PointContent {
  id: string;
}

export interface ScrollRequest {
  /** 1 to 1000 points. */
  limit: number;
  /** The previous page's cursor; none for the first page. */
  cursor?: string | null;
  filter?: PointFilter;
}

export interface ScrollPage {
  points: StoredPoint[];
  /** Pass as `cursor` for the next page; null after the last one. */
  cursor: string | null;
}

/** One tenant's view of the store. Everything it reads, counts or deletes is that tenant's. */
export interface TenantVectors {
  readonly orgId: string;
  /**
   * Inserts or replaces points. A point id that another tenant already uses is left as that
   * tenant's: the write never reaches it (and the point is not stored for this tenant either).
   */
  upsert(collection: Collection, points: VectorPoint[]): Promise<void>;
  search(collection: Collection, query: SearchQuery): Promise<SearchHit[]>;
  count(collection: Collection, filter?: PointFilter): Promise<number>;
  /** Deletes the matching points; without a filter, every point of the tenant in the collection. */
  delete(collection: Collection, filter?: PointFilter): Promise<void>;
  /** The tenant's points without their vectors, a page at a time, in id order. */
  scroll(collection: Collection, page: ScrollRequest): Promise<ScrollPage>;
}

export interface VectorStore {
  /** Creates the collection (cosine distance, payload indexes) when missing; safe to repeat. */
  ensureCollection(collection: Collection): Promise<void>;
  /** The collections that exist, e.g. for erasing a tenant everywhere. */
  collections(): Promise<Collection[]>;
  forTenant(orgId: string): TenantVectors;
  close(): Promise<void>;
}
