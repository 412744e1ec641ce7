// Passive health and circuit breaking per upstream URL. The gateway reports each attempt: failed
// (connection refused or reset, timeout, 5xx) or succeeded (the upstream answered; report it when
// the status line arrives, not when a stream ends). After `failureThreshold` consecutive failures
// a URL is ejected (open) for a cooldown that doubles with every ejection in a row, up to
// `maxCooldownMs`; once it has passed, one request is let through as a probe (half-open): success
// closes the circuit and resets the cooldown, failure ejects the URL again for longer.
//
// Memory: an entry exists only for a URL that has failed since its last success, and URLs only come
// from the registry (never from a client), so the map is as large as the registry at most; it is
// capped all the same, dropping the oldest entries.

export interface UpstreamHealthOptions {
  failureThreshold?: number;
  baseCooldownMs?: number;
  maxCooldownMs?: number;
  /** How long a probe may stay unanswered before another request may probe. */
  probeTimeoutMs?: number;
  maxTracked?: number;
  now?: () => number;
}

/** What a URL may take now: any traffic, one probe (this caller's), or nothing. */
export type Admittance = 'healthy' | 'probe' | 'ejected';

interface Circuit {
  consecutiveFailures: number;
  /** 0 while closed; while open, the time the cooldown ends. */
  openUntil: number;
  /** The cooldown of the next ejection. */
  cooldownMs: number;
  /** While a probe is out, the time after which another one may be sent. */
  probeUntil: number;
}

export class UpstreamHealth {
  private readonly circuits = new Map<string, Circuit>();
  private readonly failureThreshold: number;
  private readonly baseCooldownMs: number;
  private readonly maxCooldownMs: number;
  private readonly probeTimeoutMs: number;
  private readonly maxTracked: number;
  private readonly now: () => number;

  constructor(options: UpstreamHealthOptions = {}) {
    this.failureThreshold = options.failureThreshold ?? 3;
    this.baseCooldownMs = options.baseCooldownMs ?? 5_000;
    this.maxCooldownMs = options.maxCooldownMs ?? 60_000;
    this.probeTimeoutMs = options.probeTimeoutMs ?? 10_000;
    this.maxTracked = options.maxTracked ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /**
   * Whether the URL may take a request now. After the cooldown the first caller gets the probe
   * ('probe': this request must be sent, and its result reported); others get 'ejected' meanwhile.
   */
  admit(url: string): Admittance {
    const circuit = this.circuits.get(url);
    if (!circuit || circuit.openUntil === 0) return 'healthy';
    const now = this.now();
    if (now < circuit.openUntil || now < circuit.probeUntil) return 'ejected';
    circuit.probeUntil = now + this.probeTimeoutMs;
    return 'probe';
  }

  /** Like `admit`, as a yes or no (a 'yes' after the cooldown claims the probe). */
  available(url: string): boolean {
    return this.admit(url) !== 'ejected';
  }

  /** Whether the URL is ejected right now; asks without claiming a probe. */
  ejected(url: string): boolean {
    const circuit = this.circuits.get(url);
    return circuit !== undefined && circuit.openUntil !== 0;
  }

  succeeded(url: string): void {
    this.circuits.delete(url);
  }

  failed(url: string): void {
    const now = this.now();
    let circuit = this.circuits.get(url);
    if (!circuit) {
      circuit = { consecutiveFailures: 0, openUntil: 0, cooldownMs: this.baseCooldownMs, probeUntil: 0 };
      this.track(url, circuit);
    }
    if (circuit.openUntil !== 0) {
      // Failures of requests sent before the ejection change nothing; a failed probe re-ejects.
      if (circuit.probeUntil === 0) return;
      this.eject(circuit, now);
      return;
    }
    circuit.consecutiveFailures += 1;
    if (circuit.consecutiveFailures >= this.failureThreshold) this.eject(circuit, now);
  }

  private eject(circuit: Circuit, now: number): void {
    circuit.openUntil = now + circuit.cooldownMs;
    circuit.probeUntil = 0;
    circuit.cooldownMs = Math.min(circuit.cooldownMs * 2, this.maxCooldownMs);
  }

  private track(url: string, circuit: Circuit): void {
    if (this.circuits.size >= this.maxTracked) {
      const oldest = this.circuits.keys().next();
      if (!oldest.done) this.circuits.delete(oldest.value);
    }
    this.circuits.set(url, circuit);
  }

  /** How many URLs have an entry (for tests of the memory bound). */
  get tracked(): number {
    return this.circuits.size;
  }
}
