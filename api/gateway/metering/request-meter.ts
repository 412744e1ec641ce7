// The metering of one admitted request: it owns the token counts (the upstream's usage, else the
// gateway's estimates), records the request's one usage event before the client sees the end of
// the answer, and settles the limit reservation with the tokens counted — in one Redis call when
// both live in Redis. Every outcome goes through
// `finish`, once: an answer, a failure of every upstream, a client that left, or no live
// deployment at all (metered as what it was: admitted, answered 503, no tokens).
import { randomUUID } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { ForwardOutcome } from '../forwarder.js';
import type { Limiter, Reservation } from '../limits/limiter.js';
import type { InferenceMetrics } from './inference-metrics.js';
import type { UsageEvent, UsageRecorder } from './usage-recorder.js';

/** Who asked for what: the parts of the usage event known when the request is admitted. */
export interface MeteredRequest {
  requestId: string;
  orgId: string;
  teamId: string | null;
  keyId: string;
  model: string;
  streamed: boolean;
  /** The prompt's estimate, counted when the upstream reports no usage for a request it answered. */
  promptEstimate: number;
}

export class RequestMeter {
  private readonly started = Date.now();
  private finished = false;

  constructor(
    private readonly recorder: UsageRecorder,
    private readonly limiter: Limiter,
    private readonly log: FastifyBaseLogger,
    private readonly reservation: Reservation,
    private readonly request: MeteredRequest,
    private readonly metrics?: InferenceMetrics,
  ) {}

  /** Settles the reservation and records the usage event (awaited: durable before the answer ends). */
  async finish(outcome: ForwardOutcome): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    const { usage } = outcome;
    const answered = outcome.attempt !== null && !outcome.cancelled;
    const promptTokens = usage?.promptTokens ?? (answered ? this.request.promptEstimate : 0);
    const completionTokens = usage?.completionTokens ?? outcome.completionEstimate;
    const event: UsageEvent = {
      id: randomUUID(),
      occurredAt: new Date(this.started).toISOString(),
      orgId: this.request.orgId,
      teamId: this.request.teamId,
      keyId: this.request.keyId,
      model: outcome.attempt?.model ?? this.request.model,
      deploymentId: outcome.attempt?.target.deploymentId ?? null,
      promptTokens,
      completionTokens,
      cachedTokens: usage?.cachedTokens ?? 0,
      estimated: usage === null && promptTokens + completionTokens > 0,
      timeToFirstTokenMs: outcome.timeToFirstTokenMs,
      durationMs: Date.now() - this.started,
      status: outcome.status,
      streamed: this.request.streamed,
      cancelled: outcome.cancelled,
      requestId: this.request.requestId,
    };
    this.metrics?.record(event);
    // With Redis, one round trip settles the reservation and appends the event; the recorder takes
    // the event itself whenever that did not happen (memory limits, Redis away, a failed call).
    const used = promptTokens + completionTokens;
    const entry = this.recorder.streamEntry(event);
    const appended = await this.limiter.settle(this.reservation, used, entry);
    if (appended) return;
    try {
      await this.recorder.record(event);
    } catch (err) {
      this.log.error({ err }, 'usage event not recorded');
    }
  }

  /** A request that failed before any outcome (a bug, thrown): its reservation is given back whole. */
  abandon(): void {
    if (this.finished) return;
    this.finished = true;
    void this.limiter.settle(this.reservation, 0);
  }
}

/** The outcome of an admitted request for a model with no live deployment. */
export const unrouted: ForwardOutcome = {
  status: 503,
  attempt: null,
  usage: null,
  completionEstimate: 0,
  timeToFirstTokenMs: null,
  cancelled: false,
};
