// Requests in flight per upstream URL, as this gateway process sees them: an attempt acquires its
// URL when it starts and releases it when it ends (forwarder.ts), and the router bounds prefix
// affinity by it (router.ts). Per process, not shared: with N gateway replicas each balances its own
// share, which keeps the hot path free of Redis. Entries exist only while a URL has requests in
// flight, and URLs come from the registry only, so memory is bounded by the registry.

export class InflightLoad {
  private readonly counts = new Map<string, number>();
  private sum = 0;

  acquire(url: string): void {
    this.counts.set(url, (this.counts.get(url) ?? 0) + 1);
    this.sum += 1;
  }

  /** Releasing a URL with nothing in flight changes nothing (a release is never counted twice). */
  release(url: string): void {
    const count = this.counts.get(url);
    if (count === undefined) return;
    if (count <= 1) this.counts.delete(url);
    else this.counts.set(url, count - 1);
    this.sum -= 1;
  }

  of(url: string): number {
    return this.counts.get(url) ?? 0;
  }

  /** Requests in flight over every URL. */
  get total(): number {
    return this.sum;
  }
}
