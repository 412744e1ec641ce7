import { describe, expect, it } from 'vitest';
import type { DeploymentRoute, ModelRoute } from '../../../../../api/gateway/registry.js';
import { InflightLoad, Router, UpstreamHealth } from '../../../../../api/gateway/routing/router.js';

/** A seeded generator (mulberry32), so the draws are the same on every run. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function deployment(id: string, weight: number, urls: string[]): DeploymentRoute {
  return { id, version: id, weight, upstreamModel: `upstream-${id}`, urls };
}

function model(deployments: DeploymentRoute[]): ModelRoute {
  return {
    id: 'model',
    name: 'llama',
    contextLength: 8192,
    inputPricePerMillion: 0.1,
    outputPricePerMillion: 0.2,
    status: 'active',
    fallbackModel: null,
    deployments,
  };
}

const stable = deployment('stable', 90, ['http://s0:8000', 'http://s1:8000', 'http://s2:8000']);
const canary = deployment('canary', 10, ['http://c0:8000']);

describe('Router', () => {
  it('splits traffic by weight: 90/10 over 20,000 draws', () => {
    const router = new Router(new UpstreamHealth(), seeded(1));
    const m = model([stable, canary]);
    let toCanary = 0;
    for (let i = 0; i < 20_000; i++)
      if (router.candidates(m, `key ${i}`)[0]?.deploymentId === 'canary') toCanary++;
    expect(toCanary / 20_000).toBeGreaterThan(0.09);
    expect(toCanary / 20_000).toBeLessThan(0.11);
  });

  it('never chooses a deployment of weight 0 first, but keeps it as a retry', () => {
    const router = new Router(new UpstreamHealth(), seeded(2));
    const m = model([stable, deployment('off', 0, ['http://off:8000'])]);
    for (let i = 0; i < 1_000; i++) {
      const targets = router.candidates(m, `key ${i}`);
      expect(targets[0]?.deploymentId).toBe('stable');
    }
    expect(router.candidates(model([deployment('off', 0, ['http://off:8000'])]), 'k')).toEqual([]);
  });

  it('sends a prefix to the same URL every time, and lists every URL once, chosen deployment first', () => {
    const router = new Router(new UpstreamHealth(), seeded(3));
    const m = model([stable]);
    const first = router.candidates(m, 'system: be brief')[0]?.url;
    for (let i = 0; i < 100; i++) expect(router.candidates(m, 'system: be brief')[0]?.url).toBe(first);

    const all = new Router(new UpstreamHealth(), () => 0).candidates(model([stable, canary]), 'a prompt');
    expect(all.map((t) => t.deploymentId)).toEqual(['stable', 'stable', 'stable', 'canary']);
    expect(all[3]).toEqual({
      deploymentId: 'canary',
      url: 'http://c0:8000',
      upstreamModel: 'upstream-canary',
    });
  });

  it('spreads requests without a prompt over the URLs instead of piling them on one', () => {
    const router = new Router(new UpstreamHealth(), seeded(4));
    const m = model([stable]);
    const firsts = new Set(Array.from({ length: 200 }, () => router.candidates(m, '')[0]?.url));
    expect(firsts.size).toBe(3);
  });

  it('moves ejected URLs to the end (still listed, as a last resort) and puts a probe first', () => {
    let now = 0;
    const health = new UpstreamHealth({ now: () => now });
    const router = new Router(health, () => 0);
    const m = model([stable]);
    const order = router.candidates(m, 'shared prefix').map((t) => t.url);
    const owner = order[0] ?? '';
    for (let i = 0; i < 3; i++) health.failed(owner);

    const ejected = router.candidates(m, 'shared prefix').map((t) => t.url);
    expect(ejected).toEqual([...order.slice(1), owner]);

    now += 5_000;
    expect(router.candidates(m, 'other prefix')[0]?.url).toBe(owner);
    // While that probe is out, the URL stays last for everyone else.
    expect(router.candidates(m, 'shared prefix').at(-1)?.url).toBe(owner);
  });

  it('lists a URL shared by two deployments once', () => {
    const router = new Router(new UpstreamHealth(), () => 0);
    const m = model([
      deployment('a', 1, ['http://x:8000', 'http://y:8000']),
      deployment('b', 1, ['http://y:8000']),
    ]);
    expect(
      router
        .candidates(m, 'k')
        .map((t) => t.url)
        .sort(),
    ).toEqual(['http://x:8000', 'http://y:8000']);
  });
});

describe('Router with a load bound (consistent hashing with bounded loads)', () => {
  const three = model([stable]);
  const urlsOf = (router: Router, key: string) => router.candidates(three, key).map((t) => t.url);
  /** A key whose ring owner (under no load) is the URL. */
  const keyOwnedBy = (url: string) => {
    const plain = new Router(new UpstreamHealth(), () => 0);
    for (let i = 0; ; i++) if (urlsOf(plain, `cold ${i}`)[0] === url) return `cold ${i}`;
  };

  it('sends a hot prefix to its owner until the owner is at the bound, then to the next URLs on the ring', () => {
    const load = new InflightLoad();
    const router = new Router(new UpstreamHealth(), () => 0, load);
    const ring = urlsOf(router, 'hot');
    // 1 in flight of 3 URLs: ceil(1.25 × 2 / 3) = 1, so the owner holding it is full.
    load.acquire(ring[0]!);
    expect(urlsOf(router, 'hot')).toEqual([ring[1], ring[2], ring[0]]);
    load.release(ring[0]!);
    expect(urlsOf(router, 'hot')).toEqual(ring);
  });

  it('keeps 30 concurrent requests of one prefix within ceil(1.25 × 30 / 3) = 13 per URL; without the bound the owner takes all', () => {
    const load = new InflightLoad();
    const bounded = new Router(new UpstreamHealth(), () => 0, load);
    for (let i = 0; i < 30; i++) load.acquire(bounded.candidates(three, 'hot')[0]!.url);
    const counts = stable.urls.map((url) => load.of(url));
    expect(Math.max(...counts)).toBe(13);
    expect(counts.every((c) => c > 0)).toBe(true);
    // The owner filled up to the bound before anything spilled.
    expect(load.of(urlsOf(new Router(new UpstreamHealth(), () => 0), 'hot')[0]!)).toBe(13);

    const plainLoad = new InflightLoad();
    const plain = new Router(new UpstreamHealth(), () => 0);
    for (let i = 0; i < 30; i++) plainLoad.acquire(plain.candidates(three, 'hot')[0]!.url);
    expect(Math.max(...stable.urls.map((url) => plainLoad.of(url)))).toBe(30);
  });

  it('keeps cold prefixes on their own replica while a hot one spills', () => {
    const load = new InflightLoad();
    const router = new Router(new UpstreamHealth(), () => 0, load);
    const hotOwner = urlsOf(router, 'hot')[0]!;
    for (let i = 0; i < 4; i++) load.acquire(hotOwner);
    expect(urlsOf(router, 'hot')[0]).not.toBe(hotOwner);
    for (const url of stable.urls.filter((u) => u !== hotOwner))
      expect(urlsOf(router, keyOwnedBy(url))[0]).toBe(url);
  });

  it('orders the same way for the same load, call after call and router after router', () => {
    const load = new InflightLoad();
    for (const [url, n] of [
      ['http://s0:8000', 3],
      ['http://s1:8000', 1],
    ] as const)
      for (let i = 0; i < n; i++) load.acquire(url);
    const one = new Router(new UpstreamHealth(), () => 0, load);
    const two = new Router(new UpstreamHealth(), () => 0, load);
    for (let i = 0; i < 50; i++) {
      const key = `prefix ${i}`;
      expect(urlsOf(one, key)).toEqual(urlsOf(two, key));
      expect(urlsOf(one, key)).toEqual(urlsOf(one, key));
    }
  });

  it('never drops a URL: when every URL is at the bound all are listed, in ring order', () => {
    const load = new InflightLoad();
    for (const url of stable.urls) for (let i = 0; i < 2; i++) load.acquire(url);
    // c = 0.5: ceil(0.5 × 7 / 3) = 2, so each URL, at 2, is full.
    const router = new Router(new UpstreamHealth(), () => 0, load, 0.5);
    const plain = new Router(new UpstreamHealth(), () => 0);
    for (const key of ['hot', 'cold 1', 'cold 2']) expect(urlsOf(router, key)).toEqual(urlsOf(plain, key));
  });

  it('keeps a full URL before an ejected one, and a full URL after its deployment, before the next', () => {
    const health = new UpstreamHealth();
    const load = new InflightLoad();
    const router = new Router(health, () => 0, load);
    const ring = urlsOf(router, 'hot');
    load.acquire(ring[0]!);
    for (let i = 0; i < 3; i++) health.failed(ring[1]!);
    expect(urlsOf(router, 'hot')).toEqual([ring[2], ring[0], ring[1]]);

    const both = model([stable, canary]);
    const order = router.candidates(both, 'hot').map((t) => `${t.deploymentId} ${t.url}`);
    expect(order).toEqual([
      `stable ${ring[2]}`,
      `stable ${ring[0]}`,
      'canary http://c0:8000',
      `stable ${ring[1]}`,
    ]);
  });

  it('refuses a load factor that is not a number above 0', () => {
    for (const c of [0, -1, Number.NaN, Infinity])
      expect(() => new Router(new UpstreamHealth(), () => 0, new InflightLoad(), c)).toThrow(/load factor/);
  });
});

describe('InflightLoad', () => {
  it('counts per URL and in total, forgets a URL at zero, and never goes below zero', () => {
    const load = new InflightLoad();
    load.acquire('http://a');
    load.acquire('http://a');
    load.acquire('http://b');
    expect([load.of('http://a'), load.of('http://b'), load.total]).toEqual([2, 1, 3]);
    load.release('http://a');
    load.release('http://b');
    load.release('http://b');
    load.release('http://never');
    expect([load.of('http://a'), load.of('http://b'), load.total]).toEqual([1, 0, 1]);
  });
});
