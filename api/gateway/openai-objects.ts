// OpenAI's conventions for the objects /v1 keeps (files, vector stores): ids with a type prefix over
// our UUIDs, Unix-second timestamps, and cursor-paged lists.
import { and, eq, gt, lt, or, type Column, type SQL } from 'drizzle-orm';
import { InferenceError } from '../errors.js';

const uuid = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

function idType(prefix: string, name: string) {
  const pattern = new RegExp(`^${prefix}(${uuid})$`);
  return {
    of: (id: string) => `${prefix}${id}`,
    /** The UUID behind an id; an id that cannot be ours is a missing object (404). */
    parse(id: string, param: string): string {
      const match = pattern.exec(id);
      if (!match?.[1]) throw notFound(name, id, param);
      return match[1];
    },
  };
}

export const fileIds = idType('file-', 'file');
export const vectorStoreIds = idType('vs_', 'vector store');

export function notFound(name: string, id: string, param: string): InferenceError {
  return new InferenceError('NOT_FOUND', 'not_found', `No ${name} found with id '${id}'.`, {
    param,
    type: 'invalid_request_error',
  });
}

export const unixSeconds = (date: Date) => Math.floor(date.getTime() / 1000);

/** A page of a list as OpenAI answers it. */
export interface ListPage<T> {
  object: 'list';
  data: T[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

/** The page from rows fetched one beyond the limit (that one only says there are more). */
export function listPage<R, T extends { id: string }>(
  rows: R[],
  limit: number,
  view: (row: R) => T,
): ListPage<T> {
  const data = rows.slice(0, limit).map(view);
  return {
    object: 'list',
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: rows.length > limit,
  };
}

export interface ListQuery {
  limit?: number;
  order?: 'asc' | 'desc';
  after?: string;
}

/**
 * The rows after a cursor row in a list ordered by (created_at, id) ascending or descending: the
 * cursor is the row of the `after` id, so a page never skips or repeats a row created meanwhile.
 */
export function afterCursor(
  order: 'asc' | 'desc',
  cursor: { createdAt: Date; id: string } | undefined,
  columns: { createdAt: Column; id: Column },
): SQL | undefined {
  if (!cursor) return undefined;
  const beyond = order === 'desc' ? lt : gt;
  return or(
    beyond(columns.createdAt, cursor.createdAt),
    and(eq(columns.createdAt, cursor.createdAt), beyond(columns.id, cursor.id)),
  );
}
