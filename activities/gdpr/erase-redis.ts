// Deletes the Redis keys that match any of the patterns (SCAN, never KEYS: it does not block the
// server), a batch at a time; answers how many there were.
import type { Redis } from 'ioredis';

export async function eraseRedisKeys(redis: Redis, patterns: string[]): Promise<number> {
  let erased = 0;
  for (const pattern of patterns) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      if (keys.length > 0) erased += await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  }
  return erased;
}
