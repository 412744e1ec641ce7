// Prefix affinity under a skewed prefix mix: plain consistent hashing, consistent hashing with
// bounded loads (what the gateway does), and no affinity (a random ring position), each through the
// real Router and InflightLoad of api/gateway/routing/. The replicas are a model, not processes: a
// discrete-event simulation in virtual time of vLLM-like servers (a batch of `--batch` sequences
// at once, a FIFO queue behind it, a prefix cache of `--cache` prefixes per replica; prefill is
// short on a cache hit; decoding slows as the batch fills). Deterministic for a seed; no network,
// so it measures the routing decisions, not the gateway's overhead (bench/gateway.ts does that).
//   npm run bench:affinity -- [--requests 20000] [--rate 24] [--replicas 4] [--hot-share 0.8]
//     [--cold-prefixes 500] [--batch 16] [--cache 64] [--seed 1]
// Prints a Markdown report and writes it to .data/bench/affinity-<time>.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { ModelRoute } from '../api/gateway/registry.js';
import { InflightLoad, Router, UpstreamHealth } from '../api/gateway/routing/router.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '20000' },
    rate: { type: 'string', default: '24' },
    replicas: { type: 'string', default: '4' },
    'hot-share': { type: 'string', default: '0.8' },
    'cold-prefixes': { type: 'string', default: '500' },
    batch: { type: 'string', default: '16' },
    cache: { type: 'string', default: '64' },
    seed: { type: 'string', default: '1' },
  },
  strict: true,
});

function option(name: keyof typeof values, min: number, max: number, integer = true): number {
  const value = Number(values[name]);
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value)))
    throw new Error(`--${name} must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}]`);
  return value;
}

const settings = {
  requests: option('requests', 1, 10_000_000),
  rate: option('rate', 0.001, 1_000_000, false),
  replicas: option('replicas', 1, 1_000),
  hotShare: option('hot-share', 0, 1, false),
  coldPrefixes: option('cold-prefixes', 1, 10_000_000),
  batch: option('batch', 1, 10_000),
  cache: option('cache', 1, 10_000_000),
  seed: option('seed', 0, 2 ** 31),
};

// The replica model (milliseconds): prefill of a long shared prefix, missed or found in the cache,
// and the time per generated token, which grows with the sequences decoding beside it.
const prefillMissMs = 200;
const prefillHitMs = 20;
const completionTokens = 100;
const tokenMs = (running: number) => 10 + 0.5 * running;

/** mulberry32: a seeded generator, so every strategy sees the same requests. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Arrival {
  at: number;
  prefix: string;
  hot: boolean;
}

function workload(): Arrival[] {
  const random = seeded(settings.seed);
  const arrivals: Arrival[] = [];
  let at = 0;
  for (let i = 0; i < settings.requests; i++) {
    at += (-Math.log(1 - random()) * 1000) / settings.rate;
    const hot = random() < settings.hotShare;
    const prefix = hot
      ? 'system: You are the support assistant of a large shop. Answer briefly, cite the order id.'
      : `system: tenant prompt number ${Math.floor(random() * settings.coldPrefixes)}`;
    arrivals.push({ at, prefix, hot });
  }
  return arrivals;
}

/** A min-heap of completions by time. */
class Completions {
  private readonly items: { at: number; replica: Replica; startedAt: number; arrivedAt: number }[] = [];
  get size() {
    return this.items.length;
  }
  peek() {
    return this.items[0];
  }
  push(item: (typeof this.items)[number]) {
    const a = this.items;
    a.push(item);
    for (let i = a.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (a[parent]!.at <= a[i]!.at) break;
      [a[parent], a[i]] = [a[i]!, a[parent]!];
      i = parent;
    }
  }
  pop() {
    const a = this.items;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]!.at < a[m]!.at) m = l;
        if (r < a.length && a[r]!.at < a[m]!.at) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}

class Replica {
  running = 0;
  readonly queue: Arrival[] = [];
  /** Prefixes in least-recently-used order (Map keeps insertion order). */
  readonly cache = new Map<string, true>();
  requests = 0;
  peakInflight = 0;
  constructor(readonly url: string) {}
}

type Strategy = 'consistent hashing' | 'bounded load (c = 1.25)' | 'no affinity (random)';

function run(strategy: Strategy, arrivals: Arrival[]) {
  const urls = Array.from({ length: settings.replicas }, (_, i) => `http://replica-${i}:8000`);
  const replicas = new Map(urls.map((url) => [url, new Replica(url)]));
  const load = new InflightLoad();
  const router = new Router(
    new UpstreamHealth(),
    seeded(settings.seed + 1),
    strategy.startsWith('bounded') ? load : undefined,
  );
  const model: ModelRoute = {
    id: 'm',
    name: 'bench',
    contextLength: 8192,
    inputPricePerMillion: 0,
    outputPricePerMillion: 0,
    status: 'active',
    fallbackModel: null,
    deployments: [{ id: 'd', version: '1', weight: 1, upstreamModel: 'bench', urls }],
  };
  const completions = new Completions();
  const latencies: number[] = [];
  const hits = { hot: 0, hotAll: 0, cold: 0, coldAll: 0 };
  let routingMs = 0;

  const start = (replica: Replica, request: Arrival, now: number) => {
    const hit = replica.cache.delete(request.prefix);
    replica.cache.set(request.prefix, true);
    if (replica.cache.size > settings.cache) replica.cache.delete(replica.cache.keys().next().value!);
    if (request.hot) {
      hits.hotAll++;
      if (hit) hits.hot++;
    } else {
      hits.coldAll++;
      if (hit) hits.cold++;
    }
    replica.running++;
    const ms = (hit ? prefillHitMs : prefillMissMs) + completionTokens * tokenMs(replica.running);
    completions.push({ at: now + ms, replica, startedAt: now, arrivedAt: request.at });
  };

  let next = 0;
  while (next < arrivals.length || completions.size > 0) {
    const done = completions.peek();
    if (done && (next >= arrivals.length || done.at <= arrivals[next]!.at)) {
      completions.pop();
      const { replica } = done;
      replica.running--;
      load.release(replica.url);
      latencies.push(done.at - done.arrivedAt);
      const waiting = replica.queue.shift();
      if (waiting) start(replica, waiting, done.at);
      continue;
    }
    const request = arrivals[next++]!;
    const routed = performance.now();
    const key = strategy.startsWith('no affinity') ? '' : request.prefix;
    const url = router.candidates(model, key)[0]!.url;
    routingMs += performance.now() - routed;
    const replica = replicas.get(url)!;
    load.acquire(url);
    replica.requests++;
    replica.peakInflight = Math.max(replica.peakInflight, load.of(url));
    if (replica.running < settings.batch) start(replica, request, request.at);
    else replica.queue.push(request);
  }

  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))]!;
  return {
    strategy,
    replicas: [...replicas.values()],
    p50: pct(0.5),
    p99: pct(0.99),
    hotHits: hits.hot / Math.max(1, hits.hotAll),
    coldHits: hits.cold / Math.max(1, hits.coldAll),
    routingUs: (routingMs * 1000) / arrivals.length,
  };
}

const arrivals = workload();
const results = (['consistent hashing', 'bounded load (c = 1.25)', 'no affinity (random)'] as const).map(
  (strategy) => run(strategy, arrivals),
);
const percent = (x: number) => `${(x * 100).toFixed(1)} %`;
const lines = [
  `Prefix affinity, skewed prefixes (${new Date().toISOString()}): ${settings.requests} requests at ${settings.rate}/s (Poisson), ` +
    `${percent(settings.hotShare)} sharing one prefix, the rest over ${settings.coldPrefixes} prefixes; ${settings.replicas} replicas ` +
    `of batch ${settings.batch}, prefix cache ${settings.cache}, seed ${settings.seed}. Simulated replicas, real Router.`,
  '',
  '| routing | requests per replica | peak in flight per replica | latency p50 / p99 ms | prefix-cache hits hot / cold | router µs/call |',
  '| --- | --- | --- | --- | --- | --- |',
  ...results.map(
    (r) =>
      `| ${r.strategy} | ${r.replicas.map((x) => x.requests).join(' / ')} | ${r.replicas.map((x) => x.peakInflight).join(' / ')} | ` +
      `${r.p50.toFixed(0)} / ${r.p99.toFixed(0)} | ${percent(r.hotHits)} / ${percent(r.coldHits)} | ${r.routingUs.toFixed(2)} |`,
  ),
];
const report = lines.join('\n');
console.log(report);
mkdirSync('.data/bench', { recursive: true });
writeFileSync(`.data/bench/affinity-${new Date().toISOString().replace(/[:.]/g, '-')}.md`, `${report}\n`);
