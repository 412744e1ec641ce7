// What every vector store adapter must do, as its users (ingestion, search, GDPR export and
// erasure) would notice it, and what a tenant acting as an attacker must never achieve. Run
// against each adapter by the files beside this one.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  Collection,
  TenantVectors,
  VectorPoint,
  VectorStore,
} from '../../../activities/vectors/port.js';
import { VectorInputError } from '../../../activities/vectors/validation.js';

function point(vector: number[], content: Partial<VectorPoint> = {}): VectorPoint {
  return {
    id: randomUUID(),
    vector,
    storeId: 'vs_1',
    fileId: 'file_1',
    text: `chunk ${vector.join(',')}`,
    attributes: {},
    ...content,
  };
}

async function scrollAll(tenant: TenantVectors, collection: Collection, limit = 2) {
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const page = await tenant.scroll(collection, { limit, cursor });
    ids.push(...page.points.map((p) => p.id));
    cursor = page.cursor;
    pages++;
  } while (cursor !== null);
  return { ids, pages };
}

export function describeVectorStoreContract(adapter: string, open: () => Promise<VectorStore>): void {
  let store: VectorStore;
  // A model name of this run's own: the suite can run against a shared real Qdrant.
  const collection: Collection = { model: `test-embed-${randomUUID().slice(0, 8)}`, dimensions: 4 };
  beforeAll(async () => {
    store = await open();
    await store.ensureCollection(collection);
  });
  afterAll(async () => {
    await store?.close();
  });

  describe(`${adapter}: the port`, () => {
    it('creates a collection once, however often it is ensured, and keeps its points', async () => {
      const tenant = store.forTenant(randomUUID());
      await tenant.upsert(collection, [point([1, 0, 0, 0])]);
      await store.ensureCollection(collection);
      await store.ensureCollection(collection);
      expect((await store.collections()).filter((c) => c.model === collection.model)).toEqual([collection]);
      expect(await tenant.count(collection)).toBe(1);
    });

    it('keeps the same model at another size as another collection', async () => {
      const wider = { ...collection, dimensions: 5 };
      await store.ensureCollection(wider);
      const tenant = store.forTenant(randomUUID());
      await tenant.upsert(wider, [point([1, 0, 0, 0, 0])]);
      expect(await tenant.count(wider)).toBe(1);
      expect(await tenant.count(collection)).toBe(0);
      expect((await store.collections()).filter((c) => c.model === collection.model)).toHaveLength(2);
    });

    it('ranks hits by cosine similarity, with their chunk, ids and attributes', async () => {
      const tenant = store.forTenant(randomUUID());
      const near = point([1, 0.1, 0, 0], { text: 'near', attributes: { page: 3, lang: 'nl', draft: false } });
      const middle = point([1, 1, 0, 0], { text: 'middle' });
      const far = point([0, 0, 1, 0], { text: 'far' });
      await tenant.upsert(collection, [far, middle, near]);
      const hits = await tenant.search(collection, { vector: [1, 0, 0, 0], limit: 10 });
      expect(hits.map((h) => h.text)).toEqual(['near', 'middle', 'far']);
      expect(hits[0]).toMatchObject({
        id: near.id,
        storeId: 'vs_1',
        fileId: 'file_1',
        attributes: { page: 3, lang: 'nl', draft: false },
      });
      expect(hits[0]!.score).toBeCloseTo(1 / Math.sqrt(1.01), 4);
      expect(hits[1]!.score).toBeCloseTo(1 / Math.sqrt(2), 4);
      expect(hits[2]!.score).toBeCloseTo(0, 4);
      expect(await tenant.search(collection, { vector: [1, 0, 0, 0], limit: 1 })).toHaveLength(1);
      const close = await tenant.search(collection, { vector: [1, 0, 0, 0], limit: 10, minScore: 0.5 });
      expect(close.map((h) => h.text)).toEqual(['near', 'middle']);
    });

    it('narrows search, count and scroll to a store or a file', async () => {
      const tenant = store.forTenant(randomUUID());
      await tenant.upsert(collection, [
        point([1, 0, 0, 0], { storeId: 'vs_a', fileId: 'f_1' }),
        point([1, 0, 0, 0], { storeId: 'vs_a', fileId: 'f_2' }),
        point([1, 0, 0, 0], { storeId: 'vs_b', fileId: 'f_3' }),
      ]);
      const inA = await tenant.search(collection, {
        vector: [1, 0, 0, 0],
        limit: 10,
        filter: { storeId: 'vs_a' },
      });
      expect(inA.map((h) => h.fileId).sort()).toEqual(['f_1', 'f_2']);
      expect(await tenant.count(collection, { fileId: 'f_2' })).toBe(1);
      expect(await tenant.count(collection, { storeId: 'vs_a', fileId: 'f_3' })).toBe(0);
      const page = await tenant.scroll(collection, { limit: 10, filter: { storeId: 'vs_b' } });
      expect(page.points.map((p) => p.fileId)).toEqual(['f_3']);
    });

    it('replaces a point upserted again under its id', async () => {
      const tenant = store.forTenant(randomUUID());
      const first = point([1, 0, 0, 0], { text: 'first' });
      await tenant.upsert(collection, [first]);
      await tenant.upsert(collection, [{ ...first, vector: [0, 1, 0, 0], text: 'second' }]);
      expect(await tenant.count(collection)).toBe(1);
      const [hit] = await tenant.search(collection, { vector: [0, 1, 0, 0], limit: 1 });
      expect(hit).toMatchObject({ id: first.id, text: 'second' });
      expect(hit!.score).toBeCloseTo(1, 4);
    });

    it('deletes a file, then a store, then everything of the tenant', async () => {
      const tenant = store.forTenant(randomUUID());
      await tenant.upsert(collection, [
        point([1, 0, 0, 0], { storeId: 'vs_a', fileId: 'f_1' }),
        point([0, 1, 0, 0], { storeId: 'vs_a', fileId: 'f_1' }),
        point([1, 0, 0, 0], { storeId: 'vs_a', fileId: 'f_2' }),
        point([1, 0, 0, 0], { storeId: 'vs_b', fileId: 'f_3' }),
        point([1, 0, 0, 0], { storeId: 'vs_c', fileId: 'f_4' }),
      ]);
      await tenant.delete(collection, { fileId: 'f_1' });
      expect(await tenant.count(collection)).toBe(3);
      expect(await tenant.count(collection, { storeId: 'vs_a' })).toBe(1);
      await tenant.delete(collection, { storeId: 'vs_a' });
      expect(await tenant.count(collection)).toBe(2);
      await tenant.delete(collection);
      expect(await tenant.count(collection)).toBe(0);
      expect((await tenant.scroll(collection, { limit: 10 })).points).toEqual([]);
    });

    it("scrolls through all of a tenant's points page by page, each once, without vectors", async () => {
      const tenant = store.forTenant(randomUUID());
      const points = [1, 2, 3, 4, 5].map((i) => point([i, 1, 0, 0], { attributes: { i } }));
      await tenant.upsert(collection, points);
      const { ids, pages } = await scrollAll(tenant, collection);
      expect(pages).toBe(3);
      expect(ids.sort()).toEqual(points.map((p) => p.id).sort());
      const page = await tenant.scroll(collection, { limit: 1 });
      expect(Object.keys(page.points[0]!).sort()).toEqual(['attributes', 'fileId', 'id', 'storeId', 'text']);
    });

    it('refuses vectors of the wrong size, and writes nothing of a batch with one bad point', async () => {
      const tenant = store.forTenant(randomUUID());
      const batch = [point([1, 0, 0, 0]), point([1, 0, 0])];
      await expect(tenant.upsert(collection, batch)).rejects.toThrow(
        /points\[1\]\.vector must have 4 dimensions .*got 3/,
      );
      expect(await tenant.count(collection)).toBe(0);
      await expect(tenant.search(collection, { vector: [1, 0, 0, 0, 0], limit: 1 })).rejects.toThrow(
        VectorInputError,
      );
    });

    it('refuses ids that are not UUIDs, vectors without a direction, and out-of-range limits', async () => {
      const tenant = store.forTenant(randomUUID());
      await expect(tenant.upsert(collection, [point([1, 0, 0, 0], { id: 'chunk-1' })])).rejects.toThrow(
        /points\[0\]\.id must be a UUID/,
      );
      await expect(tenant.upsert(collection, [point([0, 0, 0, 0])])).rejects.toThrow(/all zeros/);
      await expect(tenant.upsert(collection, [point([1, Number.NaN, 0, 0])])).rejects.toThrow(/finite/);
      await expect(tenant.search(collection, { vector: [1, 0, 0, 0], limit: 0 })).rejects.toThrow(
        /search limit must be an integer from 1 to 100/,
      );
      await expect(tenant.scroll(collection, { limit: 10, cursor: 'next' })).rejects.toThrow(
        /scroll cursor must be a UUID/,
      );
      expect(() => store.forTenant('acme')).toThrow(/orgId must be a UUID/);
      await expect(store.ensureCollection({ model: 'a/b', dimensions: 4 })).rejects.toThrow(
        /collection model/,
      );
      await expect(store.ensureCollection({ model: 'm', dimensions: 0 })).rejects.toThrow(/dimensions/);
      expect(await tenant.count(collection)).toBe(0);
    });

    it('says which collection is missing instead of creating it on a write', async () => {
      const tenant = store.forTenant(randomUUID());
      const missing = { model: `never-ensured-${randomUUID().slice(0, 8)}`, dimensions: 4 };
      await expect(tenant.upsert(missing, [point([1, 0, 0, 0])])).rejects.toThrow(
        /does not exist.*ensureCollection/,
      );
      await expect(tenant.count(missing)).rejects.toThrow(VectorInputError);
      expect((await store.collections()).some((c) => c.model === missing.model)).toBe(false);
    });
  });

  describe(`${adapter}: tenant A acting as an attacker on tenant B`, () => {
    const orgA = randomUUID();
    const orgB = randomUUID();
    let a: TenantVectors;
    let b: TenantVectors;
    // B's points sit in a store and file whose names A also uses: only the tenant tells them apart.
    const secret = point([1, 0, 0, 0], { storeId: 'vs_shared', fileId: 'file_shared', text: "B's secret" });
    beforeAll(async () => {
      a = store.forTenant(orgA);
      b = store.forTenant(orgB);
      await b.upsert(collection, [
        secret,
        point([0, 1, 0, 0], { storeId: 'vs_shared', fileId: 'file_shared' }),
      ]);
      await a.upsert(collection, [
        point([1, 0, 0, 0], { storeId: 'vs_shared', fileId: 'file_shared', text: "A's" }),
      ]);
    });

    it("never finds, counts or scrolls B's points, even under B's store and file names", async () => {
      const hits = await a.search(collection, {
        vector: [1, 0, 0, 0],
        limit: 100,
        filter: { storeId: 'vs_shared', fileId: 'file_shared' },
      });
      expect(hits.map((h) => h.text)).toEqual(["A's"]);
      expect(await a.count(collection)).toBe(1);
      expect(await a.count(collection, { storeId: 'vs_shared' })).toBe(1);
      expect((await scrollAll(a, collection, 100)).ids).not.toContain(secret.id);
    });

    it('cannot widen a filter to name B or drop the tenant: such keys are refused', async () => {
      for (const crafted of [
        { orgId: orgB },
        { org_id: orgB },
        { must: [] },
        { storeId: 'vs_shared', or: true },
      ])
        for (const attempt of [
          () => a.search(collection, { vector: [1, 0, 0, 0], limit: 100, filter: crafted }),
          () => a.count(collection, crafted),
          () => a.scroll(collection, { limit: 100, filter: crafted }),
          () => a.delete(collection, crafted),
        ])
          await expect(attempt()).rejects.toThrow(/filter key .* is not one of storeId, fileId/);
      expect(await b.count(collection)).toBe(2);
    });

    it("cannot delete B's points, whether by store, by file or all at once", async () => {
      await a.delete(collection, { fileId: 'file_shared' });
      await a.delete(collection, { storeId: 'vs_shared' });
      await a.delete(collection);
      expect(await a.count(collection)).toBe(0);
      expect(await b.count(collection)).toBe(2);
    });

    it("cannot overwrite B's point by upserting under its id", async () => {
      await a.upsert(collection, [{ ...secret, vector: [0, 0, 1, 0], text: "A's overwrite" }]);
      const [hit] = await b.search(collection, { vector: [1, 0, 0, 0], limit: 1 });
      expect(hit).toMatchObject({ id: secret.id, text: "B's secret" });
      expect(hit!.score).toBeCloseTo(1, 4);
      expect(
        (await a.search(collection, { vector: [0, 0, 1, 0], limit: 100 })).map((h) => h.id),
      ).not.toContain(secret.id);
    });

    it('has no way to read, count or delete points without naming a tenant', () => {
      for (const method of ['search', 'count', 'delete', 'scroll', 'upsert'])
        expect(method in store, `VectorStore.${method}`).toBe(false);
      // @ts-expect-error the store has no search of its own: only forTenant(orgId) reaches points
      expect(store.search).toBeUndefined();
      for (const bad of ['', '*', `${orgB}' OR '1'='1`, orgB.replace(/-/g, '')])
        expect(() => store.forTenant(bad)).toThrow(/orgId must be a UUID/);
    });
  });
}
