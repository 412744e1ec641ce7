// Input checks both adapters run before they touch the store, so bad input gets the same clear
// error from either and changes nothing.
import type { Collection, PointFilter, ScrollRequest, SearchQuery, VectorPoint } from './port.js';

/** Input the vector store refuses; retrying it cannot succeed. */
export class VectorInputError extends Error {
  override readonly name = 'VectorInputError';
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const modelPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
/** pgvector's largest `vector` (Qdrant allows more): one limit, so both adapters take the same input. */
const maxDimensions = 16_000;
const maxSearchLimit = 100;
const maxScrollLimit = 1000;
const maxIdLength = 256;

const filterKeys: readonly (keyof PointFilter)[] = ['storeId', 'fileId'];

export function checkUuid(what: string, value: unknown): string {
  if (typeof value !== 'string' || !uuidPattern.test(value))
    throw new VectorInputError(`${what} must be a UUID, got ${JSON.stringify(value)}`);
  return value.toLowerCase();
}

function checkInteger(what: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw new VectorInputError(
      `${what} must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`,
    );
  return value;
}

function checkId(what: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxIdLength)
    throw new VectorInputError(`${what} must be a string of 1 to ${maxIdLength} characters`);
  return value;
}

export function checkCollection(collection: Collection): Collection {
  if (typeof collection?.model !== 'string' || !modelPattern.test(collection.model))
    throw new VectorInputError(
      `collection model must be 1 to 100 letters, digits, '.', '_' or '-' (starting with a letter or digit), got ${JSON.stringify(collection?.model)}`,
    );
  checkInteger('collection dimensions', collection.dimensions, 1, maxDimensions);
  return collection;
}

function checkVector(what: string, vector: unknown, collection: Collection): number[] {
  if (!Array.isArray(vector) || vector.length !== collection.dimensions)
    throw new VectorInputError(
      `${what} must have ${collection.dimensions} dimensions (collection ${collection.model}), got ${Array.isArray(vector) ? vector.length : typeof vector}`,
    );
  if (!vector.every((x) => typeof x === 'number' && Number.isFinite(x)))
    throw new VectorInputError(`${what} must hold finite numbers only`);
  if (vector.every((x) => x === 0))
    throw new VectorInputError(`${what} is all zeros: it has no direction to compare by cosine`);
  return vector as number[];
}

export function checkPoints(collection: Collection, points: VectorPoint[]): VectorPoint[] {
  if (!Array.isArray(points)) throw new VectorInputError('points must be an array');
  const seen = new Set<string>();
  points.forEach((point, i) => {
    const id = checkUuid(`points[${i}].id`, point?.id);
    if (seen.has(id)) throw new VectorInputError(`points[${i}].id ${id} appears twice`);
    seen.add(id);
    checkVector(`points[${i}].vector`, point.vector, collection);
    checkId(`points[${i}].storeId`, point.storeId);
    checkId(`points[${i}].fileId`, point.fileId);
    if (typeof point.text !== 'string') throw new VectorInputError(`points[${i}].text must be a string`);
    const attributes: unknown = point.attributes;
    if (typeof attributes !== 'object' || attributes === null || Array.isArray(attributes))
      throw new VectorInputError(`points[${i}].attributes must be an object`);
    for (const [key, value] of Object.entries(attributes))
      if (!['string', 'number', 'boolean'].includes(typeof value))
        throw new VectorInputError(`points[${i}].attributes.${key} must be a string, number or boolean`);
  });
  return points.map((p) => ({ ...p, id: p.id.toLowerCase() }));
}

/**
 * The caller's part of a filter. Only the known keys pass: a key such as `orgId` is refused, so a
 * filter can never be read as naming a tenant (the tenant's own condition is added by the adapter).
 */
export function checkFilter(filter: PointFilter | undefined): PointFilter {
  if (filter === undefined) return {};
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter))
    throw new VectorInputError('filter must be an object');
  for (const key of Object.keys(filter))
    if (!(filterKeys as readonly string[]).includes(key))
      throw new VectorInputError(
        `filter key ${JSON.stringify(key)} is not one of ${filterKeys.join(', ')} (the tenant is always the handle's own)`,
      );
  const checked: PointFilter = {};
  for (const key of filterKeys)
    if (filter[key] !== undefined) checked[key] = checkId(`filter.${key}`, filter[key]);
  return checked;
}

export interface CheckedSearch {
  vector: number[];
  limit: number;
  filter: PointFilter;
  minScore: number | undefined;
}

export function checkSearch(collection: Collection, query: SearchQuery): CheckedSearch {
  checkVector('query vector', query?.vector, collection);
  checkInteger('search limit', query.limit, 1, maxSearchLimit);
  const { minScore } = query;
  if (minScore !== undefined && (typeof minScore !== 'number' || !(minScore >= -1 && minScore <= 1)))
    throw new VectorInputError(`minScore must be a number from -1 to 1, got ${JSON.stringify(minScore)}`);
  return { vector: query.vector, limit: query.limit, filter: checkFilter(query.filter), minScore };
}

export interface CheckedScroll {
  limit: number;
  cursor: string | null;
  filter: PointFilter;
}

export function checkScroll(page: ScrollRequest): CheckedScroll {
  const limit = checkInteger('scroll limit', page?.limit, 1, maxScrollLimit);
  const cursor =
    page.cursor === undefined || page.cursor === null ? null : checkUuid('scroll cursor', page.cursor);
  return { limit, cursor, filter: checkFilter(page.filter) };
}
