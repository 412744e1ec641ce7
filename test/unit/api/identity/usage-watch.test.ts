// The watch of accepted keys as an operator reads it in the log: a key's first network is its
// baseline, a second network is reported once (the same network again is not, on any replica that
// shares the history), an address with no country is reported when a country table is configured,
// and a history that fails reports nothing and asks again on the next use.
import { metrics } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { IpCountries } from '../../../../core/ip-countries.js';
import { KeyRates } from '../../../../api/identity/api-keys/key-rates.js';
import {
  MemoryKeyNetworkHistory,
  type KeyNetworkHistory,
} from '../../../../api/identity/api-keys/key-networks.js';
import { KeyUsageWatch } from '../../../../api/identity/api-keys/usage-watch.js';
import { SecurityEvents } from '../../../../api/identity/security-events.js';

const key = { keyId: 'key-1', orgId: 'org-1' };

function setUp(
  history: KeyNetworkHistory = new MemoryKeyNetworkHistory(),
  countries: IpCountries | null = null,
) {
  const lines: Record<string, unknown>[] = [];
  const log = { warn: (fields: Record<string, unknown>) => lines.push(fields) };
  const watch = new KeyUsageWatch({
    history,
    rates: new KeyRates({ factor: 10, minRequestsPerMinute: 1000, warmupMinutes: 60 }),
    countries,
    events: new SecurityEvents(metrics.getMeter('test')),
  });
  const use = async (ip: string) => {
    watch.observe(key, { log, ip });
    // The history answers after the request has moved on.
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { watch, lines, use, events: (name: string) => lines.filter((l) => l.security === name) };
}

describe('KeyUsageWatch', () => {
  it("reports a key's second network once, never its first", async () => {
    const { use, events } = setUp();
    await use('203.0.113.10');
    await use('203.0.113.99');
    expect(events('api-key-new-network')).toEqual([]);
    await use('198.51.100.7');
    await use('198.51.100.8');
    await use('203.0.113.10');
    expect(events('api-key-new-network')).toEqual([
      expect.objectContaining({
        ...key,
        network: '198.51.100.0/24',
        networks: 2,
        ip: '198.51.100.7',
        country: null,
      }),
    ]);
  });

  it('shares the history: a network one replica recorded is not new on another', async () => {
    const history = new MemoryKeyNetworkHistory();
    const first = setUp(history);
    const second = setUp(history);
    await first.use('203.0.113.10');
    await first.use('198.51.100.7');
    await second.use('198.51.100.9');
    await second.use('203.0.113.50');
    expect(first.events('api-key-new-network')).toHaveLength(1);
    expect(second.events('api-key-new-network')).toEqual([]);
  });

  it('reports a new network whose address has no country, when a table is configured', async () => {
    const countries = IpCountries.parse('203.0.113.0,203.0.113.255,NL\n198.51.100.0,198.51.100.255,ZZ');
    const { use, events } = setUp(new MemoryKeyNetworkHistory(), countries);
    await use('203.0.113.10');
    await use('203.0.113.11');
    expect(events('api-key-countryless-address')).toEqual([]);
    await use('198.51.100.7');
    await use('192.0.2.1');
    expect(events('api-key-countryless-address').map((l) => l.network)).toEqual([
      '198.51.100.0/24',
      '192.0.2.0/24',
    ]);
    expect(events('api-key-new-network').map((l) => l.country)).toEqual([null, null]);
  });

  it('a history that fails reports nothing, logs why and asks again on the next use', async () => {
    let down = true;
    const memory = new MemoryKeyNetworkHistory();
    const flaky: KeyNetworkHistory = {
      add: (keyId, network) => (down ? Promise.reject(new Error('redis down')) : memory.add(keyId, network)),
    };
    const { use, lines, events } = setUp(flaky);
    await use('203.0.113.10');
    expect(lines).toEqual([expect.objectContaining({ err: expect.any(Error) })]);
    down = false;
    await use('203.0.113.10');
    await use('198.51.100.7');
    expect(events('api-key-new-network')).toHaveLength(1);
  });
});
