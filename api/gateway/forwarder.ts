// Forwards one inference request to its upstream candidates in order, over undici keep-alive pools.
// A candidate that fails before the client got a byte (connection error, timeout, 5xx, 429) is
// retried on the next one; after the first byte there is no retry, since the client already holds
// part of an answer. Streams are relayed event by event (stream-relay.ts). A client that goes away
// aborts the upstream request at once: a GPU should not keep generating for nobody. `finish` (the
// metering) runs before the last bytes go out, so every answer a client received is recorded.
// Each upstream gets its deployment's key (never the client's): after a rotation, an upstream that
// refuses the current key with 401 is asked once more with the previous key while that key's grace
// period lasts; a 401 that remains is the platform's misconfiguration, not the client's, so it is
// a failed candidate (502 when none is left), logged with the deployment and without the key.
import { once } from 'node:events';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Dispatcher } from 'undici';
import { InferenceError } from '../errors.js';
import type { InferenceEndpoint } from './inference-body.js';
import type { InflightLoad, UpstreamHealth, UpstreamTarget } from './routing/router.js';
import type { ModelNameRewrite } from './model-name.js';
import type { UpstreamKeys } from './upstream-keys.js';
import { StreamRelay } from './stream-relay.js';
import { readUsage, type UpstreamUsage } from './usage.js';

export interface ForwardTimeouts {
  /** Until the first token of a stream (its first event). */
  firstTokenMs: number;
  /** Longest silence between two chunks of a stream; the whole wait for a non-streamed answer. */
  readMs: number;
}

/** One try: an upstream, the public model it serves (the fallback model's, after a fallback), and the body it gets. */
export interface Attempt {
  target: UpstreamTarget;
  model: string;
  /** The request body for this upstream (inference-body.ts upstreamBody). */
  body: string;
  /** The upstream's model name made the public one in its answer (model-name.ts); null when they are the same. */
  rename: ModelNameRewrite | null;
}

/** What happened, for metering and limit settlement. */
export interface ForwardOutcome {
  /** The HTTP status the client got (499 when the client went away first). */
  status: number;
  attempt: Attempt | null;
  usage: UpstreamUsage | null;
  /** The completion size when the upstream reported no usage: stream pieces or text length / 4. */
  completionEstimate: number;
  timeToFirstTokenMs: number | null;
  cancelled: boolean;
}

export interface Exchange {
  request: FastifyRequest;
  reply: FastifyReply;
  endpoint: InferenceEndpoint;
  stream: boolean;
  /** Whether the client asked for the usage chunk at the end of a stream. */
  clientWantsUsage: boolean;
  attempts: Attempt[];
  /** Headers for the client's answer (rate-limit state). */
  headers: Record<string, string>;
  /** Records the outcome; awaited before the client sees the end of the answer. */
  finish(outcome: ForwardOutcome): Promise<void>;
}

type Failure = 'timeout' | 'unavailable';

export class Forwarder {
  constructor(
    private readonly dispatcher: Dispatcher,
    private readonly health: UpstreamHealth,
    private readonly timeouts: ForwardTimeouts,
    /** Counts each attempt while it runs, for the router's load bound. */
    private readonly load: InflightLoad,
    /** A deployment's upstream keys (the registry's snapshot); undefined: send none. */
    private readonly upstreamKeys: (deploymentId: string) => UpstreamKeys | undefined = () => undefined,
  ) {}

  async forward(exchange: Exchange): Promise<void> {
    const { reply } = exchange;
    const started = performance.now();
    let current: AbortController | undefined;
    let clientGone = false;
    const onClose = () => {
      if (reply.raw.writableFinished) return;
      clientGone = true;
      current?.abort();
    };
    reply.raw.once('close', onClose);

    let failure: Failure = 'unavailable';
    try {
      for (const attempt of exchange.attempts) {
        if (clientGone) break;
        current = new AbortController();
        this.load.acquire(attempt.target.url);
        const result = await this.tryAttempt(exchange, attempt, current, started, () => clientGone).finally(
          () => this.load.release(attempt.target.url),
        );
        if (result === 'done') return;
        failure = result;
      }
      const outcome: ForwardOutcome = {
        status: clientGone ? 499 : failure === 'timeout' ? 504 : 502,
        attempt: null,
        usage: null,
        completionEstimate: 0,
        timeToFirstTokenMs: null,
        cancelled: clientGone,
      };
      await exchange.finish(outcome);
      if (clientGone) {
        reply.hijack();
        return;
      }
      throw failure === 'timeout'
        ? new InferenceError(
            'GATEWAY_TIMEOUT',
            'upstream_timeout',
            'The model server did not answer in time.',
          )
        : new InferenceError('BAD_GATEWAY', 'upstream_unavailable', 'No model server could answer.');
    } finally {
      reply.raw.off('close', onClose);
    }
  }

  /** One candidate: 'done' when the client got an answer from it, else why it failed. */
  private async tryAttempt(
    exchange: Exchange,
    attempt: Attempt,
    abort: AbortController,
    started: number,
    clientGone: () => boolean,
  ): Promise<'done' | Failure> {
    const { target } = attempt;
    const stream = exchange.stream;
    const keys = this.upstreamKeys(target.deploymentId);
    let response = await this.send(exchange, attempt, abort, keys?.current, clientGone);
    if (typeof response === 'string') return response;
    const previous = keys?.previous;
    if (response.statusCode === 401 && previous && Date.now() < previous.untilMs) {
      await response.body.dump().catch(() => undefined);
      response = await this.send(exchange, attempt, abort, previous.authorization, clientGone);
      if (typeof response === 'string') return response;
    }

    const status = response.statusCode;
    if (status === 401) {
      await response.body.dump().catch(() => undefined);
      exchange.request.log.warn(
        { deploymentId: target.deploymentId, upstream: target.url, keyed: keys !== undefined },
        'upstream refused the deployment key (401)',
      );
      return 'unavailable';
    }
    if (status === 404) {
      // The gateway chose this server's path and model name, so a 404 is never the client's: the
      // deployment is not there (a Serve application mid-rebuild drops its route for a while, a
      // model not loaded). Another deployment may answer.
      await response.body.dump().catch(() => undefined);
      this.health.failed(target.url);
      exchange.request.log.warn(
        { deploymentId: target.deploymentId, upstream: target.url },
        'upstream has no such route or model (404)',
      );
      return 'unavailable';
    }
    if (status >= 500 || status === 429) {
      await response.body.dump().catch(() => undefined);
      // An overloaded upstream (429) is healthy; it just has no room for this request.
      if (status >= 500) this.health.failed(target.url);
      return 'unavailable';
    }
    if (status !== 200 || !stream) return this.complete(exchange, attempt, response, started, clientGone);
    return this.relay(exchange, attempt, response, abort, started, clientGone);
  }

  /** One request to the attempt's upstream, with `authorization` when the deployment has a key. */
  private async send(
    exchange: Exchange,
    attempt: Attempt,
    abort: AbortController,
    authorization: string | undefined,
    clientGone: () => boolean,
  ): Promise<Dispatcher.ResponseData | Failure> {
    const { target } = attempt;
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-request-id': exchange.request.id,
    };
    if (authorization) headers.authorization = authorization;
    try {
      const upstream = upstreamAddress(target.url);
      return await this.dispatcher.request({
        origin: upstream.origin,
        path: `${upstream.basePath}/v1/${exchange.endpoint}`,
        method: 'POST',
        headers,
        body: attempt.body,
        signal: abort.signal,
        headersTimeout: exchange.stream ? this.timeouts.firstTokenMs : this.timeouts.readMs,
        bodyTimeout: this.timeouts.readMs,
      });
    } catch (err) {
      if (clientGone()) return 'unavailable';
      this.health.failed(target.url);
      return isTimeout(err) ? 'timeout' : 'unavailable';
    }
  }

  /** A whole (non-streamed) answer, or an upstream's refusal of the request, passed through. */
  private async complete(
    exchange: Exchange,
    attempt: Attempt,
    response: Dispatcher.ResponseData,
    started: number,
    clientGone: () => boolean,
  ): Promise<'done' | Failure> {
    let text: string;
    try {
      text = await response.body.text();
    } catch (err) {
      if (clientGone()) {
        await exchange.finish(cancelledBeforeAnswer(attempt));
        exchange.reply.hijack();
        return 'done';
      }
      this.health.failed(attempt.target.url);
      return isTimeout(err) ? 'timeout' : 'unavailable';
    }
    this.health.succeeded(attempt.target.url);
    const ok = response.statusCode === 200;
    // The usage object alone when the upstream reports it (vLLM does, at the end); the whole answer
    // is parsed only to estimate the completion of an upstream that reports none.
    const usage = ok ? readUsage(usageObject(text)) : null;
    const answer = ok && !usage ? parseAnswer(text) : null;
    await exchange.finish({
      status: response.statusCode,
      attempt,
      usage,
      completionEstimate: answer ? Math.ceil(answerText(answer).length / 4) : 0,
      timeToFirstTokenMs: ok ? Math.round(performance.now() - started) : null,
      cancelled: false,
    });
    const contentType = response.headers['content-type'];
    exchange.reply
      .code(response.statusCode)
      .headers(exchange.headers)
      .type(typeof contentType === 'string' ? contentType : 'application/json');
    await exchange.reply.send(attempt.rename ? attempt.rename.text(text) : text);
    return 'done';
  }

  /** A stream: waits for its first event (the first-token timeout), then relays it event by event. */
  private async relay(
    exchange: Exchange,
    attempt: Attempt,
    response: Dispatcher.ResponseData,
    abort: AbortController,
    started: number,
    clientGone: () => boolean,
  ): Promise<'done' | Failure> {
    const { reply } = exchange;
    const relay = new StreamRelay(exchange.clientWantsUsage, attempt.rename);
    const chunks = response.body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, this.timeouts.firstTokenMs);
    let first: IteratorResult<Buffer>;
    try {
      first = await chunks.next();
    } catch (err) {
      if (clientGone()) {
        await exchange.finish(cancelledBeforeAnswer(attempt));
        reply.hijack();
        return 'done';
      }
      this.health.failed(attempt.target.url);
      return timedOut || isTimeout(err) ? 'timeout' : 'unavailable';
    } finally {
      clearTimeout(timer);
    }
    this.health.succeeded(attempt.target.url);
    const timeToFirstTokenMs = Math.round(performance.now() - started);

    // From here on the client holds part of the answer: no retry, whatever happens.
    reply.hijack();
    const out = reply.raw;
    out.writeHead(200, {
      ...exchange.headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-request-id': exchange.request.id,
    });
    let broken = false;
    try {
      if (!first.done) await write(out, relay.push(first.value));
      for (let next = await chunks.next(); !next.done; next = await chunks.next())
        await write(out, relay.push(next.value));
      await write(out, relay.rest());
    } catch {
      broken = !clientGone();
    }
    const cancelled = clientGone();
    await exchange.finish({
      status: cancelled ? 499 : broken ? 502 : 200,
      attempt,
      usage: relay.usage,
      completionEstimate: relay.pieces,
      timeToFirstTokenMs,
      cancelled,
    });
    if (cancelled) out.destroy();
    else {
      if (broken) out.write(streamError);
      else if (relay.done) out.write(StreamRelay.doneEvent);
      out.end();
    }
    return 'done';
  }
}

const streamError = `data: ${JSON.stringify({
  error: {
    message: 'The model server broke off the answer.',
    type: 'api_error',
    param: null,
    code: 'upstream_broken',
  },
})}\n\n`;

/**
 * Writes to the client, waiting for the socket to drain so a slow reader cannot pile up memory
 * (or for it to close: a client that left never drains).
 */
async function write(out: FastifyReply['raw'], bytes: Buffer): Promise<void> {
  if (bytes.length === 0) return;
  if (out.destroyed) throw new Error('client gone');
  if (out.write(bytes)) return;
  const drained = new AbortController();
  await Promise.race([
    once(out, 'drain', { signal: drained.signal }),
    once(out, 'close', { signal: drained.signal }),
  ]).finally(() => drained.abort());
  if (out.destroyed) throw new Error('client gone');
}

interface UpstreamAddress {
  origin: string;
  /** A route prefix of the upstream application (Ray Serve serves apps under one), without a trailing /. */
  basePath: string;
}

const upstreamAddresses = new Map<string, UpstreamAddress>();
const maxUpstreamAddresses = 10_000;

/** A deployment url split into undici's origin and path; memoised (urls come from the registry only). */
function upstreamAddress(url: string): UpstreamAddress {
  let address = upstreamAddresses.get(url);
  if (!address) {
    const parsed = new URL(url);
    address = { origin: parsed.origin, basePath: parsed.pathname.replace(/\/+$/, '') };
    if (upstreamAddresses.size >= maxUpstreamAddresses) upstreamAddresses.clear();
    upstreamAddresses.set(url, address);
  }
  return address;
}

function isTimeout(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT'
  );
}

function cancelledBeforeAnswer(attempt: Attempt): ForwardOutcome {
  return {
    status: 499,
    attempt,
    usage: null,
    completionEstimate: 0,
    timeToFirstTokenMs: null,
    cancelled: true,
  };
}

/**
 * The `usage` object of a JSON answer, found without parsing the whole answer: the object after the
 * last `"usage":` key, delimited by matching braces (skipping strings). Undefined when there is
 * none or it does not parse; the caller then reads the whole answer.
 */
export function usageObject(text: string): unknown {
  const key = text.lastIndexOf('"usage":');
  if (key < 0) return undefined;
  const start = text.indexOf('{', key);
  if (start < 0 || text.slice(key + 8, start).trim() !== '') return undefined;
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) {
      try {
        return JSON.parse(text.slice(start, i + 1)) as unknown;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

interface Answer {
  usage?: unknown;
  choices?: { message?: { content?: unknown }; text?: unknown }[];
}

function parseAnswer(text: string): Answer | null {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null ? parsed : null;
  } catch {
    return null;
  }
}

/** The generated text of a whole answer, for the estimate when the upstream reports no usage. */
function answerText(answer: Answer): string {
  let text = '';
  for (const choice of answer.choices ?? []) {
    const content = choice.message?.content ?? choice.text;
    if (typeof content === 'string') text += content;
  }
  return text;
}
