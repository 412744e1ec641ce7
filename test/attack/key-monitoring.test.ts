// A stolen API key, as the operator's monitoring sees it (issue 14 §5): the thief's use from a
// network the key never came from is reported once — by any replica, since they share the history
// in Redis — naming the key, the org and the country, never the secret; use from an address with no
// country (the operator's table) is reported; a burst far above the key's own rate is reported once;
// and guessing keys is counted, the address that runs out of budget once. Nothing here refuses the
// key: these are events for an operator.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loggerOptions } from '../../runtime/logger.js';
import { buildTestApp, type TestApp } from '../support/app.js';
import { metricValue } from '../support/metrics.js';
import { bearer, seedActiveOrg, signUp, useAdminPool } from '../integration/api/helpers.js';
import { freshAddress } from './support.js';

const countryFile = join(mkdtempSync(join(tmpdir(), 'vlinders-countries-')), 'countries.csv');
writeFileSync(countryFile, '81.0.0.0,81.255.255.255,NL\n100.64.0.0,100.127.255.255,ZZ\n');
const settings = {
  API_KEY_FAILURES_PER_MINUTE: '5',
  API_KEY_SPIKE_FACTOR: '10',
  API_KEY_SPIKE_MIN_REQUESTS_PER_MINUTE: '20',
  API_KEY_SPIKE_WARMUP_MINUTES: '0',
  IP_COUNTRY_RANGES_FILE: countryFile,
};
const admin = useAdminPool();
const lines: Record<string, unknown>[] = [];
let t: TestApp;
/** A second replica sharing the same Redis; its log lines are collected too (service `…-replica`). */
let replica: TestApp;

/** A logger whose lines land in `lines`. */
function collectingLogger(service: string) {
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return pino(loggerOptions('info', service), stream);
}

beforeAll(async () => {
  t = await buildTestApp(settings, { logger: collectingLogger('key-monitoring') });
  replica = await buildTestApp(settings, { logger: collectingLogger('key-monitoring-replica') });
});
afterAll(async () => {
  await Promise.all([t?.close(), replica?.close()]);
});

const events = (name: string) => lines.filter((l) => l.security === name);
const counter = (name: string) => metricValue(t.app, name);

async function liveKey(): Promise<{ id: string; key: string; orgId: string }> {
  const owner = await signUp(t.app, 'monitored', freshAddress());
  const orgId = await seedActiveOrg(admin, owner, 'Monitored');
  const created = await t.app.inject({
    method: 'POST',
    url: `/api/orgs/${orgId}/api-keys`,
    headers: bearer(owner),
    payload: { name: 'monitored', scopes: ['inference'] },
  });
  expect(created.statusCode, created.body).toBe(201);
  return { ...created.json<{ id: string; key: string }>(), orgId };
}

async function callWith(app: FastifyInstance, key: string, ip: string): Promise<number> {
  const res = await app.inject({
    method: 'GET',
    url: '/v1/models',
    remoteAddress: ip,
    headers: { authorization: `Bearer ${key}` },
  });
  return res.statusCode;
}

/** Lets the history's answers (after each request) arrive. */
const settled = () => new Promise((resolve) => setTimeout(resolve, 200));

describe('a stolen key', () => {
  it('is reported once when used from a network it never came from, by whichever replica sees it', async () => {
    const { id, key, orgId } = await liveKey();
    const before = await counter('vlinders_security_api_key_new_networks_total');
    // The owner's servers: one /24, on both replicas. Its first network is the baseline.
    for (const [app, ip] of [
      [t.app, '81.0.5.10'],
      [t.app, '81.0.5.77'],
      [replica.app, '81.0.5.200'],
    ] as const)
      expect(await callWith(app, key, ip)).toBe(200);
    await settled();
    expect(events('api-key-new-network').filter((l) => l.keyId === id)).toEqual([]);
    // The thief, elsewhere: still served (an event, not a refusal), reported once.
    for (const ip of ['81.3.9.9', '81.3.9.10', '81.3.9.11']) expect(await callWith(t.app, key, ip)).toBe(200);
    await settled();
    expect(events('api-key-new-network').filter((l) => l.keyId === id)).toEqual([
      expect.objectContaining({
        security: 'api-key-new-network',
        keyId: id,
        orgId,
        network: '81.3.9.0/24',
        networks: 2,
        country: 'NL',
        ip: '81.3.9.9',
      }),
    ]);
    expect(await counter('vlinders_security_api_key_new_networks_total')).toBe(before + 1);
    // The other replica learns the thief's network from the shared history: no second report.
    expect(await callWith(replica.app, key, '81.3.9.12')).toBe(200);
    expect(await callWith(t.app, key, '81.0.5.10')).toBe(200);
    await settled();
    expect(events('api-key-new-network').filter((l) => l.keyId === id)).toHaveLength(1);
    expect(JSON.stringify(lines)).not.toContain(key);
  });

  it('is reported when used from an address with no country', async () => {
    const { id, key } = await liveKey();
    expect(await callWith(t.app, key, '81.0.6.1')).toBe(200);
    // 100.64.0.0/10 is ZZ in the table; 10.0.0.0/8 is in no range at all.
    expect(await callWith(t.app, key, '100.64.1.2')).toBe(200);
    expect(await callWith(t.app, key, freshAddress())).toBe(200);
    await settled();
    const countryless = events('api-key-countryless-address').filter((l) => l.keyId === id);
    expect(countryless.map((l) => l.network)).toEqual(['100.64.1.0/24', expect.stringMatching(/^10\./)]);
  });

  it("is reported once when its rate jumps far above the key's own", async () => {
    const { id, key } = await liveKey();
    const ip = '81.0.7.1';
    for (let i = 0; i < 30; i++) expect(await callWith(t.app, key, ip)).toBe(200);
    const spikes = events('api-key-spike').filter((l) => l.keyId === id);
    expect(spikes).toEqual([
      expect.objectContaining({ keyId: id, requestsPerMinute: expect.any(Number), baselinePerMinute: 0, ip }),
    ]);
  });
});

describe('guessing keys', () => {
  it('counts each refused key and, once, the address that runs out of budget; never logs the key', async () => {
    const { key } = await liveKey();
    const ip = freshAddress();
    const failures = await counter('vlinders_security_api_key_failures_total');
    const blocks = await counter('vlinders_security_api_key_address_blocks_total');
    const guesses = Array.from(
      { length: 8 },
      (_, i) => `${key.slice(0, -8)}guess${String(i).padStart(3, '0')}`,
    );
    const statuses = [];
    for (const guess of guesses) statuses.push(await callWith(t.app, guess, ip));
    // Five refused as invalid, the sixth puts the address over budget, the rest are refused unchecked.
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429, 429]);
    expect(await counter('vlinders_security_api_key_failures_total')).toBe(failures + 6);
    expect(await counter('vlinders_security_api_key_address_blocks_total')).toBe(blocks + 1);
    expect(events('api-key-invalid').filter((l) => l.ip === ip)).toHaveLength(6);
    expect(events('api-key-address-blocked')).toContainEqual(
      expect.objectContaining({ ip, retryAfterSeconds: expect.any(Number) }),
    );
    for (const guess of guesses) expect(JSON.stringify(lines)).not.toContain(guess);
  });
});
