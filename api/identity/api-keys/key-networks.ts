// Which networks (core/client-networks.ts) each API key has been used from, so that a key showing up
// from a network it never came from is reported (api/identity/api-keys/usage-watch.ts). In Redis when
// it is configured, so every replica shares one history and a restart forgets nothing; otherwise in
// this process (single instance only). A key's history lives `historyDays` after its last new network.
import type { Redis } from 'ioredis';

export interface KeyNetworkHistory {
  /** Records a use of the key from the network: whether it is new to the key, and how many the key now has. */
  add(keyId: string, network: string): Promise<{ added: boolean; networks: number }>;
}

/** Past this many networks a key's history stops growing (each further network still counts as new). */
export const maxNetworksPerKey = 1_000;
const historyDays = 90;

// SADD, EXPIRE and SCARD in one step; a full set answers "new" for a network it does not hold
// without adding it, so one key used from everywhere cannot grow Redis without bound.
const addScript = `
local known = redis.call('SISMEMBER', KEYS[1], ARGV[1])
if known == 1 then return {0, redis.call('SCARD', KEYS[1])} end
local size = redis.call('SCARD', KEYS[1])
if size < tonumber(ARGV[3]) then
  redis.call('SADD', KEYS[1], ARGV[1])
  size = size + 1
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return {1, size}
`;

export class RedisKeyNetworkHistory implements KeyNetworkHistory {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'vlinders:key-networks:',
  ) {}

  async add(keyId: string, network: string) {
    const [added, networks] = (await this.redis.eval(
      addScript,
      1,
      this.prefix + keyId,
      network,
      historyDays * 86_400,
      maxNetworksPerKey,
    )) as [number, number];
    return { added: added === 1, networks };
  }
}

export class MemoryKeyNetworkHistory implements KeyNetworkHistory {
  private readonly networks = new Map<string, Set<string>>();

  async add(keyId: string, network: string) {
    let known = this.networks.get(keyId);
    if (!known) {
      known = new Set();
      this.networks.set(keyId, known);
    }
    if (known.has(network)) return { added: false, networks: known.size };
    if (known.size < maxNetworksPerKey) known.add(network);
    return { added: true, networks: known.size };
  }
}
