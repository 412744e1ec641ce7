// Watches every accepted API key (and machine client token) for the signs of a stolen key (issue 14
// §5): use from a network the key never came from, use from an address with no country (when the
// operator supplies a country table), and a spike against the key's own baseline. Each is a security
// event (api/identity/security-events.ts), never a refusal: the key keeps working, an operator
// decides.
//
// Nothing here holds a request. The spike check is arithmetic in memory (key-rates.ts); a network
// this replica has not seen for the key goes to the shared history (key-networks.ts) after the
// request has moved on, and only once per key and network per replica, so a key used from its usual
// networks costs a map lookup. A key's first network is its baseline, not an event.
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { networkOf } from '../../../core/client-networks.js';
import { IpCountries } from '../../../core/ip-countries.js';
import type { Config } from '../../../runtime/config.js';
import type { EventSource, KeyRef, SecurityEvents } from '../security-events.js';
import { MemoryKeyNetworkHistory, RedisKeyNetworkHistory, type KeyNetworkHistory } from './key-networks.js';
import { KeyRates } from './key-rates.js';

// This replica's memory of what the history already holds: bounded in keys and per key (a full set
// starts again; the history then answers "known" for what it already has).
const maxKeys = 100_000;
const maxNetworksRemembered = 64;

export interface UsageWatchOptions {
  history: KeyNetworkHistory;
  rates: KeyRates;
  /** The operator's country table (IP_COUNTRY_RANGES_FILE), or null: no country check. */
  countries: IpCountries | null;
  events: SecurityEvents;
  now?: () => number;
}

export class KeyUsageWatch {
  private readonly recorded = new Map<string, Set<string>>();
  private readonly now: () => number;

  constructor(private readonly options: UsageWatchOptions) {
    this.now = options.now ?? Date.now;
  }

  /** One accepted use of the key by this request. */
  observe(key: KeyRef, source: EventSource & { ip: string }): void {
    const { events } = this.options;
    const spike = this.options.rates.hit(key.keyId, this.now());
    if (spike) events.apiKeySpike(source, { keyId: key.keyId, orgId: key.orgId, ...spike });
    const network = networkOf(source.ip);
    if (!network) return;
    const known = this.rememberedNetworks(key.keyId);
    if (known.has(network)) return;
    if (known.size >= maxNetworksRemembered) known.clear();
    // Remembered before the answer, so concurrent requests ask once; forgotten if the history fails.
    known.add(network);
    this.options.history.add(key.keyId, network).then(
      ({ added, networks }) => {
        if (!added) return;
        const use = { keyId: key.keyId, orgId: key.orgId, network };
        const country = this.options.countries?.countryOf(source.ip) ?? null;
        if (this.options.countries && country === null) events.apiKeyCountrylessAddress(source, use);
        if (networks > 1) events.apiKeyNewNetwork(source, { ...use, networks, country });
      },
      (err: unknown) => {
        known.delete(network);
        source.log.warn({ err }, 'could not record the network an API key was used from');
      },
    );
  }

  private rememberedNetworks(keyId: string): Set<string> {
    let known = this.recorded.get(keyId);
    if (known) return known;
    if (this.recorded.size >= maxKeys) this.recorded.delete(this.recorded.keys().next().value!);
    known = new Set();
    this.recorded.set(keyId, known);
    return known;
  }
}

/** The watch as configured: the shared history in Redis when there is one, the country table if given. */
export function keyUsageWatchFromConfig(
  config: Config,
  redis: Redis | undefined,
  events: SecurityEvents,
): KeyUsageWatch {
  return new KeyUsageWatch({
    history: redis ? new RedisKeyNetworkHistory(redis) : new MemoryKeyNetworkHistory(),
    rates: new KeyRates({
      factor: config.API_KEY_SPIKE_FACTOR,
      minRequestsPerMinute: config.API_KEY_SPIKE_MIN_REQUESTS_PER_MINUTE,
      warmupMinutes: config.API_KEY_SPIKE_WARMUP_MINUTES,
    }),
    countries: config.IP_COUNTRY_RANGES_FILE ? loadCountries(config.IP_COUNTRY_RANGES_FILE) : null,
    events,
  });
}

/** A table that cannot be read stops the start: a silently empty one would call every address country-less. */
function loadCountries(path: string): IpCountries {
  try {
    return IpCountries.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`IP_COUNTRY_RANGES_FILE ${path}: ${(err as Error).message}`);
  }
}
