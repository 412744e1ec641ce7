// Per request: the upstream URLs to try, in order. A deployment is chosen at random by weight (the
// stable/canary split the rollout workflow drives); inside it, the URLs in prefix-ring order from the
// affinity key, so a shared prompt prefix reaches the same replica; then the other deployments'
// URLs (heaviest first, in their own ring order) for retries. Each URL appears once.
//
// Bounded load (Mirrokni, Thorup, Zadimoghaddam, "Consistent Hashing with Bounded Loads", 2017):
// with an in-flight count per URL, a URL already holding ceil(c × (in flight + 1) / URLs) of its
// deployment's requests is passed over for the next one on the ring, so a hot prefix spills onto
// its successors while cold prefixes keep their replica. Passed over, not dropped: a full URL
// follows its deployment's other URLs, as a retry. With c > 1 some URL is always below the bound.
// The counts are this process's (inflight-load.ts): with N gateways each bounds its own share.
//
// Health reorders, it never drops: a URL whose probe this request carries goes first (so the probe
// is really sent, with the others as retries behind it), healthy ones keep their order (full ones
// after the rest of their deployment's), and ejected ones go last. When everything is ejected the
// gateway still tries them rather than refusing outright; its retry cap bounds what that costs.
import type { DeploymentRoute, ModelRoute } from '../registry.js';
import type { InflightLoad } from './inflight-load.js';
import { hash32, PrefixRing } from './prefix-ring.js';
import type { UpstreamHealth } from './upstream-health.js';

export { InflightLoad } from './inflight-load.js';
export { UpstreamHealth } from './upstream-health.js';

/**
 * c: how far above the average load a URL may go before its prefixes spill. Lower spreads more
 * evenly and loses more prefix-cache hits; 1.25 is the paper's example and keeps the owner up to
 * 25 % above average.
 */
export const boundedLoadFactor = 1.25;

export interface UpstreamTarget {
  deploymentId: string;
  url: string;
  upstreamModel: string;
}

export class Router {
  // Keyed on a deployment's URL array, which the registry keeps across reloads while the URLs stay
  // the same; a changed list is a new array, and the old ring goes with the old array. So the rings
  // are as many as the live deployments.
  private readonly rings = new WeakMap<readonly string[], PrefixRing>();

  constructor(
    private readonly health: UpstreamHealth,
    private readonly random: () => number = Math.random,
    /** Requests in flight per URL; without it, plain consistent hashing (no load bound). */
    private readonly load?: InflightLoad,
    private readonly loadFactor: number = boundedLoadFactor,
  ) {
    if (!(Number.isFinite(loadFactor) && loadFactor > 0))
      throw new RangeError(`the load factor must be a finite number above 0, not ${loadFactor}`);
  }

  /** Targets in the order to try them; empty when the model has no routable deployment. */
  candidates(model: ModelRoute, affinityKey: string): UpstreamTarget[] {
    const chosen = this.chooseDeployment(model.deployments);
    if (!chosen) return [];
    // Without a key there is no prefix to keep together: start anywhere, so load still spreads.
    const position = affinityKey === '' ? Math.floor(this.random() * 0x1_0000_0000) : hash32(affinityKey);
    const ordered = [chosen, ...model.deployments.filter((d) => d !== chosen)];

    const probes: UpstreamTarget[] = [];
    const healthy: UpstreamTarget[] = [];
    const ejected: UpstreamTarget[] = [];
    const seen = new Set<string>();
    for (const deployment of ordered) {
      const bound = this.bound(deployment.urls);
      const full: UpstreamTarget[] = [];
      for (const url of this.ring(deployment).orderFrom(position)) {
        if (seen.has(url)) continue;
        seen.add(url);
        const target = { deploymentId: deployment.id, url, upstreamModel: deployment.upstreamModel };
        const admittance = this.health.admit(url);
        if (admittance === 'probe') probes.push(target);
        else if (admittance === 'ejected') ejected.push(target);
        else if (this.load && this.load.of(url) >= bound) full.push(target);
        else healthy.push(target);
      }
      // Full ones stay inside their deployment's turn, so retries keep the weighted split.
      healthy.push(...full);
    }
    return [...probes, ...healthy, ...ejected];
  }

  /** The in-flight count at which a URL of these is full: passed over for the next on the ring. */
  private bound(urls: readonly string[]): number {
    if (!this.load || urls.length === 0) return Infinity;
    let inflight = 0;
    for (const url of urls) inflight += this.load.of(url);
    return Math.ceil((this.loadFactor * (inflight + 1)) / urls.length);
  }

  /** A deployment drawn with probability weight / total weight. */
  private chooseDeployment(deployments: readonly DeploymentRoute[]): DeploymentRoute | undefined {
    let total = 0;
    for (const d of deployments) if (d.weight > 0) total += d.weight;
    if (total === 0) return undefined;
    let point = this.random() * total;
    for (const d of deployments) {
      if (d.weight <= 0) continue;
      if (point < d.weight) return d;
      point -= d.weight;
    }
    // Only floating-point rounding gets here: the last deployment that takes traffic.
    return deployments.findLast((d) => d.weight > 0);
  }

  private ring(deployment: DeploymentRoute): PrefixRing {
    let ring = this.rings.get(deployment.urls);
    if (!ring) {
      ring = new PrefixRing(deployment.urls);
      this.rings.set(deployment.urls, ring);
    }
    return ring;
  }
}
