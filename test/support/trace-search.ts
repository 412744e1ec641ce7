// Where a data subject's identifiers are still found after an erasure: every table of the database
// (each row cast to text, so every column is read), every Redis key and value, the tenant's objects
// and vector points. A test names what the law keeps, with the reason, and expects nothing else.
import type { Redis } from 'ioredis';
import type pg from 'pg';

export interface Trace {
  store: string;
  where: string;
  identifier: string;
  count: number;
}

/** Every table in the public schema whose rows contain an identifier (case-insensitive). */
export async function databaseTraces(admin: pg.Pool, identifiers: string[]): Promise<Trace[]> {
  const { rows: tables } = await admin.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1`,
  );
  const traces: Trace[] = [];
  for (const { name } of tables) {
    for (const identifier of identifiers) {
      const { rows } = await admin.query<{ n: string }>(
        `SELECT count(*) AS n FROM "${name}" t WHERE strpos(lower(t::text), lower($1)) > 0`,
        [identifier],
      );
      const count = Number(rows[0]!.n);
      if (count > 0) traces.push({ store: 'postgres', where: name, identifier, count });
    }
  }
  return traces;
}

/** Every Redis key whose name or value contains an identifier (strings, hashes, streams, zsets). */
export async function redisTraces(redis: Redis, identifiers: string[]): Promise<Trace[]> {
  const traces: Trace[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const content = `${key}\n${await redisValue(redis, key)}`.toLowerCase();
      for (const identifier of identifiers) {
        if (content.includes(identifier.toLowerCase()))
          traces.push({ store: 'redis', where: key, identifier, count: 1 });
      }
    }
  } while (cursor !== '0');
  return traces;
}

async function redisValue(redis: Redis, key: string): Promise<string> {
  switch (await redis.type(key)) {
    case 'string':
      return (await redis.get(key)) ?? '';
    case 'hash':
      return JSON.stringify(await redis.hgetall(key));
    case 'stream':
      return JSON.stringify(await redis.xrange(key, '-', '+'));
    case 'zset':
      return JSON.stringify(await redis.zrange(key, 0, -1));
    case 'set':
      return JSON.stringify(await redis.smembers(key));
    case 'list':
      return JSON.stringify(await redis.lrange(key, 0, -1));
    default:
      return '';
  }
}
