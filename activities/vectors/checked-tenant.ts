// The tenant handle both adapters hand out: it checks every input (validation.ts) and passes an
// adapter's own handle, bound to the org, only what passed. So the two adapters cannot differ in
// what they refuse, and bad input is refused before anything reaches the store.
import type { Collection, PointFilter, ScrollPage, SearchHit, TenantVectors, VectorPoint } from './port.js';
import {
  checkCollection,
  checkFilter,
  checkPoints,
  checkScroll,
  checkSearch,
  checkUuid,
  type CheckedScroll,
  type CheckedSearch,
} from './validation.js';

/** An adapter's handle for one org, given checked input only. */
export interface CheckedTenantVectors {
  upsert(collection: Collection, points: VectorPoint[]): Promise<void>;
  search(collection: Collection, query: CheckedSearch): Promise<SearchHit[]>;
  count(collection: Collection, filter: PointFilter): Promise<number>;
  delete(collection: Collection, filter: PointFilter): Promise<void>;
  scroll(collection: Collection, page: CheckedScroll): Promise<ScrollPage>;
}

export function checkedTenant(orgId: string, open: (orgId: string) => CheckedTenantVectors): TenantVectors {
  const org = checkUuid('orgId', orgId);
  const tenant = open(org);
  // Async, so that a refused input is a rejected promise like every other failure.
  return {
    orgId: org,
    upsert: async (collection, points) =>
      tenant.upsert(checkCollection(collection), checkPoints(checkCollection(collection), points)),
    search: async (collection, query) =>
      tenant.search(checkCollection(collection), checkSearch(checkCollection(collection), query)),
    count: async (collection, filter) => tenant.count(checkCollection(collection), checkFilter(filter)),
    delete: async (collection, filter) => tenant.delete(checkCollection(collection), checkFilter(filter)),
    scroll: async (collection, page) => tenant.scroll(checkCollection(collection), checkScroll(page)),
  };
}
