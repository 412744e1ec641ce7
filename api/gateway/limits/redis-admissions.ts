// Admission in Redis, shared by every replica: one EVALSHA per admission and one per settlement
// (EVAL once after Redis lost its script cache). The scripts are admission.lua and settle.lua; a
// settlement can also append the request's usage event to its stream in the same call, so that a
// request costs two round trips (admit; settle and record) instead of three.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import {
  limitKeys,
  type AdmissionInput,
  type BucketState,
  type Decision,
  type Outcome,
  type SettleInput,
} from './admissions.js';

class Script {
  readonly sha: string;

  constructor(readonly text: string) {
    this.sha = createHash('sha1').update(this.text).digest('hex');
  }

  static file(name: string): Script {
    return new Script(readFileSync(new URL(name, import.meta.url), 'utf8'));
  }

  async run(redis: Redis, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.text, keys.length, ...keys, ...args);
    }
  }
}

const admission = Script.file('./admission.lua');
const settlement = Script.file('./settle.lua');
const monthAddition = Script.file('./month-add.lua');
// The event first: settle.lua may return early (nothing to settle), the event is appended regardless.
// KEYS[5] the stream; ARGV[5] the entry's field, ARGV[6] its value.
const settlementWithEvent = new Script(
  `redis.call('XADD', KEYS[5], '*', ARGV[5], ARGV[6])\n${settlement.text}`,
);

/** A usage event to append to its stream with the settlement (the usage recorder's entry). */
export interface StreamEntry {
  stream: string;
  field: string;
  value: string;
}

// How long past its month a monthly counter is kept (settlements of the month's last requests).
const monthlyKeepSeconds = 7 * 86_400;

export class RedisAdmissions {
  constructor(private readonly redis: Redis) {}

  async admit(input: AdmissionInput): Promise<Decision> {
    const keys = limitKeys(input.orgId, input.keyId, input.month);
    const { caps } = input;
    const reply = (await admission.run(
      this.redis,
      [keys.inflight, keys.keyRequests, keys.keyTokens, keys.orgRequests, keys.orgTokens, keys.monthly],
      [
        input.id,
        input.reserve,
        caps.concurrency,
        caps.keyRequests,
        caps.keyTokens,
        caps.orgRequests,
        caps.orgTokens,
        caps.monthly,
        input.inflightTtlMs,
        Math.ceil(input.msToMonthEnd / 1000) + monthlyKeepSeconds,
        input.msToMonthEnd,
        input.monthSeed ?? '',
      ],
    )) as number[];
    const bucket = (at: number): BucketState => ({
      limit: reply[at]!,
      remaining: reply[at + 1]!,
      resetMs: reply[at + 2]!,
    });
    return {
      outcome: reply[0] as Outcome,
      retryMs: reply[1]!,
      requests: bucket(2),
      tokens: bucket(5),
      monthUsed: reply[8]!,
    };
  }

  /**
   * True when applied; false when the admission was settled before or never reached Redis. With an
   * entry, the entry is appended to its stream in the same call, whether or not there was anything
   * to settle.
   */
  async settle(input: SettleInput, entry?: StreamEntry): Promise<boolean> {
    const keys = limitKeys(input.orgId, input.keyId, input.month);
    const limitKeyList = [keys.inflight, keys.keyTokens, keys.orgTokens, keys.monthly];
    const args = [input.id, input.refund, input.keyTokens, input.orgTokens];
    const applied = entry
      ? await settlementWithEvent.run(
          this.redis,
          [...limitKeyList, entry.stream],
          [...args, entry.field, entry.value],
        )
      : await settlement.run(this.redis, limitKeyList, args);
    return applied === 1;
  }

  /**
   * Adds tokens counted elsewhere (admitted in memory while Redis was away; negative gives back) to
   * an org's monthly counter. False when the counter is missing: the next admission rebuilds it
   * from the ledger's rollups, which hold that usage already.
   */
  async addToMonth(orgId: string, month: string, tokens: number): Promise<boolean> {
    const keys = limitKeys(orgId, '', month);
    return (await monthAddition.run(this.redis, [keys.monthly], [tokens])) === 1;
  }
}
