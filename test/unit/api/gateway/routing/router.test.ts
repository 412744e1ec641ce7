import { describe, expect, it } from 'vitest';
import type { DeploymentRoute, ModelRoute } from '../../../../../api/gateway/registry.js';
import { Router, UpstreamHealth } from '../../../../../api/gateway/routing/router.js';

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
