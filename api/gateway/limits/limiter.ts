// Limits on the inference path that hold across replicas: requests/min and tokens/min per key and per
// org, requests in flight per org, and the org's monthly token quota.
//
// Semantics (the same in admission.lua and memory-admissions.ts):
// - Per-minute limits are token buckets of `limit` units that refill continuously at limit/60 s, so
//   a burst cannot pass the limit (200 concurrent requests against 50/min admit exactly 50) and the
//   capacity comes back evenly rather than at a window edge. A key's buckets use min(key's own
//   limit, the plan's); the org's buckets the plan's. Time is Redis's (TIME), so replicas' clocks
//   do not matter.
// - Admission checks, in order: org in-flight, key requests, key tokens, org requests, org tokens,
//   monthly tokens; only when all pass does it reserve on all of them, in one atomic script (one
//   EVALSHA round trip). A refused request reserves nothing.
// - The reservation is `reserveTokens` (the request's max_tokens, or the gateway's estimate);
//   `settle` gives back reserved − used to the token buckets and the monthly counter of the same
//   key, org and month, and frees the in-flight slot. Settling twice, or settling an admission whose
//   reply was lost, changes nothing (the in-flight entry is the proof of an unsettled admission).
// - In-flight slots expire after `inflightTtlMs` (default 10 minutes) even unsettled, so a replica
//   that dies mid-request holds its org's slots that long at most. It must stay above the longest
//   request the gateway lets run, or a long stream would give its slot back early.
// - Monthly tokens count per org and UTC month (the API host's clock decides the month). Redis's
//   counter is the running count; when it is missing (Redis restarted without persistence or
//   flushed, or the month's first request), the limiter reads the month's tokens from the ledger's
//   rollups (`monthUsage`, one query per org and month per replica, shared by concurrent requests)
//   and the script starts the counter from it atomically. The rollups lack the events not yet
//   ingested (still in the usage stream) and the reservations in flight, so a rebuilt counter can
//   be short by those; an existing counter costs no query. When the rollups cannot be read, the
//   policy below decides (fail-open counts the month from 0; fail-closed refuses).
//
// Redis unreachable (a command fails or takes longer than `timeoutMs`): the limiter logs once and
// follows the policy until a probe every `probeIntervalMs` finds Redis back:
// - fail-open: each replica enforces the full limits on its own, in memory (with N replicas an org
//   can get up to N times its limits during the outage); its monthly counters start from the
//   rollups as well (one read per org and month per outage), so the quota holds within a replica;
// - fail-closed: every admission is refused with `limits_unavailable` (the gateway answers 503).
// Settlements of Redis admissions made while Redis is away wait (up to 10,000) and are applied when
// it returns, before the limiter uses Redis again; so are releases of admissions whose reply was lost.
// The tokens admitted in memory meanwhile (net of their settlements, per org and month) are then
// added to Redis's monthly counters, so the outage's usage counts against the quota; a counter that
// is missing by then is rebuilt from the rollups instead, which hold that usage (the API writes
// usage events to the ledger itself while Redis is away).
// Without Redis at all (embedded `up`), limits are in memory: a single instance only; its monthly
// counters start from the rollups, so a restart does not renew the quota.
import { randomBytes } from 'node:crypto';
import type { Counter, Meter, ObservableCallback, ObservableGauge } from '@opentelemetry/api';
import type { FastifyBaseLogger } from 'fastify';
import type { Redis } from 'ioredis';
import type { PlanLimits } from '../../../core/plans.js';
import { outcomes, type AdmissionInput, type Decision, type SettleInput } from './admissions.js';
import { MemoryAdmissions } from './memory-admissions.js';
import { RedisAdmissions, type StreamEntry } from './redis-admissions.js';

/** A key's own limits, lower than its plan's; null means the plan's. */
export interface KeyLimits {
  requestsPerMinute: number | null;
  tokensPerMinute: number | null;
}

export interface AdmissionRequest {
  orgId: string;
  keyId: string;
  plan: PlanLimits;
  key: KeyLimits;
  reserveTokens: number;
}

/** x-ratelimit-{limit,remaining,reset}-{requests,tokens}, as OpenAI sends them. */
export interface RateLimitHeaders {
  [name: string]: string;
}

export type RefusalCode =
  | 'rate_limit_exceeded'
  | 'tokens_limit_exceeded'
  | 'concurrency_limit_exceeded'
  | 'quota_exceeded'
  | 'limits_unavailable';

/** An admission to settle; its fields are the limiter's business. */
export interface Reservation {
  readonly backend: 'redis' | 'memory';
  readonly id: string;
  readonly orgId: string;
  readonly keyId: string;
  readonly month: string;
  readonly reserved: number;
  readonly keyTokens: number;
  readonly orgTokens: number;
}

export type Admission =
  | { admitted: true; reservation: Reservation; headers: RateLimitHeaders }
  | {
      admitted: false;
      code: RefusalCode;
      message: string;
      retryAfterSeconds: number;
      headers: RateLimitHeaders;
    };

export type RedisDownPolicy = 'fail-open' | 'fail-closed';

export interface LimiterOptions {
  /** The app's Redis client; the limiter opens its own connection from it. Absent: in memory. */
  redis: Redis | undefined;
  policy: RedisDownPolicy;
  logger: Pick<FastifyBaseLogger, 'info' | 'warn' | 'error'>;
  metrics?: Meter | undefined;
  /** A Redis call slower than this counts as Redis down (default 500 ms). */
  timeoutMs?: number | undefined;
  /** How often to check whether Redis is back while it is down (default 500 ms). */
  probeIntervalMs?: number | undefined;
  /** How long an unsettled admission holds its in-flight slot (default 10 minutes). */
  inflightTtlMs?: number | undefined;
  /**
   * An org's tokens in the month starting at `monthStart` (UTC), from the ledger's rollups: the
   * start of a monthly counter Redis lost. Absent: a missing counter starts from 0.
   */
  monthUsage?: MonthUsage | undefined;
}

export type MonthUsage = (orgId: string, monthStart: Date) => Promise<number>;

const maxPendingSettlements = 10_000;
const reconnectAfterFailedProbes = 5;
/** The longest an admission waits for the month's usage from the rollups. */
const monthUsageTimeoutMs = 2_000;

/** A duration as OpenAI writes it (Go's format): "250ms", "1s", "8.64s", "6m0s", "1h2m3s". */
export function formatReset(ms: number): string {
  const whole = Math.max(0, Math.ceil(ms));
  if (whole < 1000) return `${whole}ms`;
  const hours = Math.floor(whole / 3_600_000);
  const minutes = Math.floor((whole % 3_600_000) / 60_000);
  const seconds = `${Number(((whole % 60_000) / 1000).toFixed(3))}s`;
  if (hours > 0) return `${hours}h${minutes}m${seconds}`;
  return minutes > 0 ? `${minutes}m${seconds}` : seconds;
}

function headersOf(decision: Decision): RateLimitHeaders {
  return {
    'x-ratelimit-limit-requests': String(decision.requests.limit),
    'x-ratelimit-remaining-requests': String(decision.requests.remaining),
    'x-ratelimit-reset-requests': formatReset(decision.requests.resetMs),
    'x-ratelimit-limit-tokens': String(decision.tokens.limit),
    'x-ratelimit-remaining-tokens': String(decision.tokens.remaining),
    'x-ratelimit-reset-tokens': formatReset(decision.tokens.resetMs),
  };
}

/** The first instant of a UTC month ("2026-11"). */
export function monthStart(month: string): Date {
  const [year, monthNumber] = month.split('-').map(Number);
  return new Date(Date.UTC(year!, monthNumber! - 1, 1));
}

/** The UTC month of `now` ("2026-11") and the ms until it ends. */
// The month every admission asks about, computed once per month rather than once per request.
let currentMonth = { start: 0, end: 0, month: '' };

export function monthOf(now: number): { month: string; msToMonthEnd: number } {
  if (now < currentMonth.start || now >= currentMonth.end) {
    const date = new Date(now);
    currentMonth = {
      start: Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1),
      end: Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1),
      month: date.toISOString().slice(0, 7),
    };
  }
  return { month: currentMonth.month, msToMonthEnd: currentMonth.end - now };
}

function refusal(decision: Decision, input: AdmissionInput): { code: RefusalCode; message: string } {
  const { caps, reserve } = input;
  const wait = `Try again in ${formatReset(decision.retryMs)}.`;
  const tokens = (subject: string, limit: number) =>
    reserve > limit
      ? `This request reserves ${reserve} tokens (its max_tokens), more than the limit of ${limit} tokens per minute on ${subject}; lower max_tokens.`
      : `Rate limit reached for tokens per minute on ${subject}: limit ${limit}, this request reserves ${reserve}. ${wait}`;
  switch (decision.outcome) {
    case outcomes.concurrency:
      return {
        code: 'concurrency_limit_exceeded',
        message: `Too many concurrent requests for this organization: limit ${caps.concurrency} in flight. Try again when one finishes.`,
      };
    case outcomes.keyRequests:
      return {
        code: 'rate_limit_exceeded',
        message: `Rate limit reached for requests per minute on this API key: limit ${caps.keyRequests}. ${wait}`,
      };
    case outcomes.orgRequests:
      return {
        code: 'rate_limit_exceeded',
        message: `Rate limit reached for requests per minute on this organization: limit ${caps.orgRequests}. ${wait}`,
      };
    case outcomes.keyTokens:
      return { code: 'tokens_limit_exceeded', message: tokens('this API key', caps.keyTokens) };
    case outcomes.orgTokens:
      return { code: 'tokens_limit_exceeded', message: tokens('this organization', caps.orgTokens) };
    default:
      return {
        code: 'quota_exceeded',
        message:
          decision.monthUsed >= caps.monthly
            ? `This organization has used its monthly quota of ${caps.monthly} tokens; it renews at the start of next month (UTC).`
            : `This request reserves ${reserve} tokens (its max_tokens), more than the ${caps.monthly - decision.monthUsed} left of this organization's monthly quota of ${caps.monthly} tokens; lower max_tokens.`,
      };
  }
}

const unavailable: Admission = {
  admitted: false,
  code: 'limits_unavailable',
  message: 'Rate limits cannot be checked right now; try again shortly.',
  retryAfterSeconds: 1,
  headers: {},
};

export class Limiter {
  private readonly memory = new MemoryAdmissions();
  private readonly remote: RedisAdmissions | undefined;
  private readonly connection: Redis | undefined;
  private readonly idPrefix = randomBytes(6).toString('base64url');
  private nextId = 0;
  private available: boolean;
  private probe: NodeJS.Timeout | undefined;
  private probing = false;
  private failedProbes = 0;
  /** Settlements of Redis admissions to apply when Redis is back, oldest first. */
  private pending: SettleInput[] = [];
  /** Net tokens admitted in memory while Redis was away, per org and month, not yet in Redis. */
  private readonly outageTokens = new Map<string, { orgId: string; month: string; tokens: number }>();
  /** Reads of a month's usage under way, per org and month, shared by concurrent admissions. */
  private readonly monthReads = new Map<string, Promise<number | null>>();
  private readonly monthUsage: MonthUsage | undefined;
  private readonly decisions: Counter | undefined;
  private readonly gauge: ObservableGauge | undefined;
  private readonly observeAvailability: ObservableCallback = (result) =>
    result.observe(this.available ? 1 : 0);
  private readonly policy: RedisDownPolicy;
  private readonly logger: LimiterOptions['logger'];
  private readonly timeoutMs: number;
  private readonly probeIntervalMs: number;
  private readonly inflightTtlMs: number;

  constructor(options: LimiterOptions) {
    this.policy = options.policy;
    this.logger = options.logger;
    this.timeoutMs = options.timeoutMs ?? 500;
    this.probeIntervalMs = options.probeIntervalMs ?? 500;
    this.inflightTtlMs = options.inflightTtlMs ?? 600_000;
    this.monthUsage = options.monthUsage;
    if (options.redis) {
      // A connection of its own, so that a slow Redis fails fast here without touching the app's:
      // every command times out, nothing is retried or re-sent after a reconnect (a late admission
      // is released by its pending settlement instead), and it reconnects at the probe's pace.
      // Commands issued in the same tick (concurrent admissions and settlements) share one write.
      this.connection = options.redis.duplicate({
        enableAutoPipelining: true,
        commandTimeout: this.timeoutMs,
        maxRetriesPerRequest: 0,
        autoResendUnfulfilledCommands: false,
        retryStrategy: () => this.probeIntervalMs,
        connectionName: 'vlinders-limits',
      });
      // Failures surface as failed commands; the transitions are logged once each.
      this.connection.on('error', () => undefined);
      this.remote = new RedisAdmissions(this.connection);
    }
    this.available = this.remote !== undefined;
    this.decisions = options.metrics?.createCounter('vlinders_limits_decisions', {
      description: 'Admission decisions of the inference limits, by outcome and by where they were decided',
    });
    if (options.metrics && this.remote) {
      this.gauge = options.metrics.createObservableGauge('vlinders_limits_redis_available', {
        description:
          '1 while the limits use Redis, 0 while Redis is unreachable (LIMITS_REDIS_DOWN_POLICY applies)',
      });
      this.gauge.addCallback(this.observeAvailability);
    }
  }

  /** Whether admissions currently go to Redis. */
  get redisAvailable(): boolean {
    return this.available;
  }

  async admit(request: AdmissionRequest): Promise<Admission> {
    const input = this.inputOf(request);
    if (this.remote && this.available) {
      try {
        let decision = await this.remote.admit(input);
        if (decision.outcome === outcomes.monthUnknown) {
          const used = await this.monthSoFar(input);
          if (used === null && this.policy === 'fail-closed') {
            this.decisions?.add(1, { outcome: 'limits_unavailable', backend: 'redis' });
            return unavailable;
          }
          input.monthSeed = used ?? 0;
          decision = await this.remote.admit(input);
        }
        return this.answer(input, decision, 'redis');
      } catch (err) {
        // The admission may still reach Redis (a timeout): release it once Redis is back.
        this.queue(this.settleInput(this.reservationOf(input, 'redis'), 0));
        this.down(err);
      }
    }
    if (this.remote && this.policy === 'fail-closed') {
      this.decisions?.add(1, { outcome: 'limits_unavailable', backend: 'none' });
      return unavailable;
    }
    // A month this process has no counter for starts from the rollups here too, so an org over its
    // quota stays refused while Redis is away (and after a restart of an API without Redis).
    if (this.monthUsage && !this.memory.knowsMonth(input.orgId, input.month))
      this.memory.seedMonth(input.orgId, input.month, (await this.monthSoFar(input)) ?? 0);
    const decision = this.memory.admit(input);
    if (this.remote && decision.outcome === outcomes.admitted)
      this.addOutageTokens(input.orgId, input.month, input.reserve);
    return this.answer(input, decision, 'memory');
  }

  /**
   * Settles an admission with the tokens used. Given the request's usage event as a stream entry,
   * a Redis settlement appends it in the same round trip; the answer says whether it did (true), or
   * whether the caller must still record the event (false: a memory admission, Redis away, or the
   * call failed — then the settlement waits for Redis, and an event that did reach the stream is
   * counted once by the ledger all the same).
   */
  async settle(reservation: Reservation, usedTokens: number, entry?: StreamEntry): Promise<boolean> {
    const used = Number.isFinite(usedTokens) ? Math.max(0, Math.ceil(usedTokens)) : reservation.reserved;
    const input = this.settleInput(reservation, used);
    if (reservation.backend === 'memory') {
      if (!this.memory.settle(input) || !this.remote) return false;
      this.addOutageTokens(input.orgId, input.month, -input.refund);
      // Admitted during an outage, settled after it: the correction goes to Redis now.
      if (this.available) await this.flushOutageTokens().catch((err: unknown) => this.down(err));
      return false;
    }
    if (!this.remote || !this.available) {
      this.queue(input);
      return false;
    }
    try {
      await this.remote.settle(input, entry);
      return entry !== undefined;
    } catch (err) {
      this.queue(input);
      this.down(err);
      return false;
    }
  }

  async close(): Promise<void> {
    clearInterval(this.probe);
    this.gauge?.removeCallback(this.observeAvailability);
    if (this.connection) await this.connection.quit().catch(() => this.connection?.disconnect());
  }

  private inputOf(request: AdmissionRequest): AdmissionInput {
    const { plan, key } = request;
    const reserve = Number.isFinite(request.reserveTokens)
      ? Math.max(0, Math.ceil(request.reserveTokens))
      : 0;
    this.nextId += 1;
    return {
      id: `${this.idPrefix}.${this.nextId}`,
      orgId: request.orgId,
      keyId: request.keyId,
      reserve,
      caps: {
        concurrency: plan.concurrentRequests,
        keyRequests: Math.min(key.requestsPerMinute ?? plan.requestsPerMinute, plan.requestsPerMinute),
        keyTokens: Math.min(key.tokensPerMinute ?? plan.tokensPerMinute, plan.tokensPerMinute),
        orgRequests: plan.requestsPerMinute,
        orgTokens: plan.tokensPerMinute,
        monthly: plan.monthlyTokens,
      },
      ...monthOf(Date.now()),
      inflightTtlMs: this.inflightTtlMs,
      // Without the rollups to read, a missing counter starts from 0 at once.
      monthSeed: this.monthUsage ? undefined : 0,
    };
  }

  /** The org's tokens in the admission's month from the rollups; null when they cannot be read. */
  private monthSoFar(input: AdmissionInput): Promise<number | null> {
    const key = `${input.orgId} ${input.month}`;
    let read = this.monthReads.get(key);
    if (!read) {
      read = this.readMonthUsage(input.orgId, input.month).finally(() => this.monthReads.delete(key));
      this.monthReads.set(key, read);
    }
    return read;
  }

  private async readMonthUsage(orgId: string, month: string): Promise<number | null> {
    if (!this.monthUsage) return 0;
    let timer: NodeJS.Timeout | undefined;
    try {
      const used = await Promise.race([
        this.monthUsage(orgId, monthStart(month)),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${monthUsageTimeoutMs} ms`)),
            monthUsageTimeoutMs,
          );
        }),
      ]);
      if (!Number.isSafeInteger(used) || used < 0) throw new Error(`not a token count: ${String(used)}`);
      return used;
    } catch (err) {
      this.logger.error(
        { err, orgId, month, policy: this.policy },
        "limits: the month's usage could not be read from the rollups to start the monthly counter",
      );
      return null;
    } finally {
      clearTimeout(timer);
    }
  }

  private addOutageTokens(orgId: string, month: string, tokens: number): void {
    if (tokens === 0) return;
    const key = `${orgId} ${month}`;
    const entry = this.outageTokens.get(key);
    if (entry) entry.tokens += tokens;
    else this.outageTokens.set(key, { orgId, month, tokens });
  }

  /**
   * Adds the tokens admitted in memory to Redis's monthly counters. The entries leave the map
   * before the calls, so two flushes never add the same tokens; what fails goes back for the next.
   */
  private async flushOutageTokens(): Promise<void> {
    if (!this.remote) return;
    const entries = [...this.outageTokens.values()];
    this.outageTokens.clear();
    for (let i = 0; i < entries.length; i += 1) {
      const { orgId, month, tokens } = entries[i]!;
      if (tokens === 0) continue;
      try {
        await this.remote.addToMonth(orgId, month, tokens);
      } catch (err) {
        for (const rest of entries.slice(i)) this.addOutageTokens(rest.orgId, rest.month, rest.tokens);
        throw err;
      }
    }
  }

  private reservationOf(input: AdmissionInput, backend: Reservation['backend']): Reservation {
    return {
      backend,
      id: input.id,
      orgId: input.orgId,
      keyId: input.keyId,
      month: input.month,
      reserved: input.reserve,
      keyTokens: input.caps.keyTokens,
      orgTokens: input.caps.orgTokens,
    };
  }

  private settleInput(reservation: Reservation, used: number): SettleInput {
    return {
      id: reservation.id,
      orgId: reservation.orgId,
      keyId: reservation.keyId,
      month: reservation.month,
      refund: reservation.reserved - used,
      keyTokens: reservation.keyTokens,
      orgTokens: reservation.orgTokens,
    };
  }

  private answer(input: AdmissionInput, decision: Decision, backend: Reservation['backend']): Admission {
    const headers = headersOf(decision);
    if (decision.outcome === outcomes.admitted) {
      this.decisions?.add(1, { outcome: 'admitted', backend });
      return { admitted: true, reservation: this.reservationOf(input, backend), headers };
    }
    const { code, message } = refusal(decision, input);
    this.decisions?.add(1, { outcome: code, backend });
    return {
      admitted: false,
      code,
      message,
      retryAfterSeconds: Math.max(1, Math.ceil(decision.retryMs / 1000)),
      headers,
    };
  }

  private queue(input: SettleInput): void {
    this.pending.push(input);
    if (this.pending.length > maxPendingSettlements) this.pending.shift();
  }

  private down(err: unknown): void {
    if (!this.available) return;
    this.available = false;
    this.logger.warn(
      { err, policy: this.policy },
      `limits: Redis is unreachable; ${this.policy === 'fail-open' ? 'each replica enforces the limits in memory' : 'refusing inference requests'} until it returns`,
    );
    this.probe = setInterval(() => void this.tryRedis(), this.probeIntervalMs);
    this.probe.unref();
  }

  /** Back to Redis once it answers and has taken every settlement that waited for it. */
  private async tryRedis(): Promise<void> {
    if (this.probing || !this.connection || !this.remote || this.connection.status !== 'ready') return;
    this.probing = true;
    try {
      await this.connection.ping();
      while (this.pending.length > 0) {
        await this.remote.settle(this.pending[0]!);
        this.pending.shift();
      }
      // Settlements that land while a flush is under way add entries again: flush until none is left.
      while (this.outageTokens.size > 0) await this.flushOutageTokens();
      this.memory.forgetMonths();
      clearInterval(this.probe);
      this.failedProbes = 0;
      this.available = true;
      this.logger.info('limits: Redis is reachable again; limits are shared across replicas');
    } catch {
      // Still down: the next probe tries again. A connection that stays silent may be dead without
      // the socket knowing (a host gone, no reset): open a new one.
      this.failedProbes += 1;
      if (this.failedProbes % reconnectAfterFailedProbes === 0) this.connection.disconnect(true);
    } finally {
      this.probing = false;
    }
  }
}

export function createLimiter(options: LimiterOptions): Limiter {
  return new Limiter(options);
}
