// Brute-force protection for the authentication endpoints: a per-address budget of attempts per
// minute, a lockout of an account (by email, whether or not it exists, so the answer reveals
// nothing) after repeated failed logins, and a per-address budget of failed API-key checks. Counters
// live in Redis when it is configured, so every API replica shares them; otherwise in this process
// (single instance only).
//
// The failed-key budget sits on the gateway's hot path, so only a failure costs a counter round
// trip: an address found over budget is remembered in this replica's memory until its window ends,
// and every key it presents meanwhile — valid or not — is refused before it is checked, without I/O.
// Another replica learns it on that address's first failure there.
import type { Redis } from 'ioredis';
import { RateLimitError } from '../errors.js';

/** Fixed-window counters: `hit` adds one and says the count and the seconds left in the window. */
export interface AttemptCounter {
  hit(key: string, windowSeconds: number): Promise<{ count: number; ttlSeconds: number }>;
  peek(key: string): Promise<{ count: number; ttlSeconds: number }>;
  reset(key: string): Promise<void>;
}

// INCR and EXPIRE in one step, so a crash between them cannot leave a counter without expiry.
const hitScript = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('TTL', KEYS[1])}
`;

export class RedisAttemptCounter implements AttemptCounter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'vlinders:auth:',
  ) {}

  async hit(key: string, windowSeconds: number) {
    const [count, ttl] = (await this.redis.eval(hitScript, 1, this.prefix + key, windowSeconds)) as [
      number,
      number,
    ];
    return { count, ttlSeconds: Math.max(ttl, 1) };
  }

  async peek(key: string) {
    const [count, ttl] = await Promise.all([
      this.redis.get(this.prefix + key),
      this.redis.ttl(this.prefix + key),
    ]);
    return { count: Number(count ?? 0), ttlSeconds: Math.max(ttl, 1) };
  }

  async reset(key: string) {
    await this.redis.del(this.prefix + key);
  }
}

export class MemoryAttemptCounter implements AttemptCounter {
  private readonly windows = new Map<string, { count: number; expiresAt: number }>();

  /** Drops expired windows once the map grows, so many distinct keys cannot grow it forever. */
  private sweep() {
    if (this.windows.size < 10_000) return;
    const now = Date.now();
    for (const [key, entry] of this.windows) if (entry.expiresAt <= now) this.windows.delete(key);
  }

  private live(key: string) {
    const entry = this.windows.get(key);
    if (entry && entry.expiresAt <= Date.now()) {
      this.windows.delete(key);
      return undefined;
    }
    return entry;
  }

  async hit(key: string, windowSeconds: number) {
    const entry = this.live(key) ?? { count: 0, expiresAt: Date.now() + windowSeconds * 1000 };
    entry.count += 1;
    this.sweep();
    this.windows.set(key, entry);
    return { count: entry.count, ttlSeconds: Math.max(1, Math.ceil((entry.expiresAt - Date.now()) / 1000)) };
  }

  async peek(key: string) {
    const entry = this.live(key);
    return {
      count: entry?.count ?? 0,
      ttlSeconds: entry ? Math.ceil((entry.expiresAt - Date.now()) / 1000) : 0,
    };
  }

  async reset(key: string) {
    this.windows.delete(key);
  }
}

export interface ThrottleLimits {
  attemptsPerMinutePerAddress: number;
  maxFailedLogins: number;
  lockoutSeconds: number;
  failedKeysPerMinutePerAddress: number;
}

const maxBlockedAddresses = 10_000;

/**
 * How long a failed key waits for its counter. Past it (Redis hung or down) the failure is not
 * counted — the key is refused all the same — so an outage of the counters never holds a request.
 */
export const keyCounterTimeoutMs = 1_000;

export class AuthThrottle {
  /** Addresses over their failed-key budget, as this replica has seen: until when (ms) they are refused. */
  private readonly keyBlocked = new Map<string, number>();

  constructor(
    private readonly counter: AttemptCounter,
    private readonly limits: ThrottleLimits,
  ) {}

  /** Refuses an API key from an address this replica knows is over its failed-key budget; no I/O. */
  admitKeyCheck(ip: string): void {
    const until = this.keyBlocked.get(ip);
    if (until === undefined) return;
    const leftMs = until - Date.now();
    if (leftMs <= 0) {
      this.keyBlocked.delete(ip);
      return;
    }
    throw tooManyFailedKeys(Math.ceil(leftMs / 1000));
  }

  /** Counts a failed API-key check from this address; past the budget, refuses it and blocks the address. */
  async keyCheckFailed(ip: string): Promise<void> {
    const hit = this.counter.hit(`key-failures:${ip}`, 60);
    // A late answer or failure after the timeout is of no interest.
    hit.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the failed-key counter did not answer within ${keyCounterTimeoutMs} ms`)),
        keyCounterTimeoutMs,
      );
    });
    const { count, ttlSeconds } = await Promise.race([hit, late]).finally(() => clearTimeout(timer));
    if (count <= this.limits.failedKeysPerMinutePerAddress) return;
    if (this.keyBlocked.size >= maxBlockedAddresses) this.sweepKeyBlocks();
    this.keyBlocked.set(ip, Date.now() + ttlSeconds * 1000);
    throw tooManyFailedKeys(ttlSeconds);
  }

  private sweepKeyBlocks(): void {
    const now = Date.now();
    for (const [ip, until] of this.keyBlocked) if (until <= now) this.keyBlocked.delete(ip);
    // Still full of live blocks: the oldest goes (it learns it again on its next failure).
    if (this.keyBlocked.size >= maxBlockedAddresses)
      this.keyBlocked.delete(this.keyBlocked.keys().next().value!);
  }

  /** Counts one attempt from this address; refuses it past the per-minute budget. */
  async admitAddress(ip: string): Promise<void> {
    const { count, ttlSeconds } = await this.counter.hit(`ip:${ip}`, 60);
    if (count > this.limits.attemptsPerMinutePerAddress) {
      throw new RateLimitError(ttlSeconds, 'Too many attempts from this address; try again later.');
    }
  }

  /** Refuses a login for an account locked by earlier failures. */
  async admitAccount(email: string): Promise<void> {
    const { count, ttlSeconds } = await this.counter.peek(accountKey(email));
    if (count >= this.limits.maxFailedLogins) {
      throw new RateLimitError(ttlSeconds, 'Too many failed logins; try again later.');
    }
  }

  /** Counts a failed login; answers whether it is the one that locked the account. */
  async loginFailed(email: string): Promise<{ locked: boolean }> {
    const { count } = await this.counter.hit(accountKey(email), this.limits.lockoutSeconds);
    return { locked: count === this.limits.maxFailedLogins };
  }

  async loginSucceeded(email: string): Promise<void> {
    await this.counter.reset(accountKey(email));
  }
}

function tooManyFailedKeys(retryAfterSeconds: number): RateLimitError {
  return new RateLimitError(
    retryAfterSeconds,
    'Too many invalid API keys from this address; try again later.',
  );
}

function accountKey(email: string): string {
  return `account:${email.trim().toLowerCase()}`;
}
