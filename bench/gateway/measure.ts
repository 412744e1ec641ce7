// The measurements, each against one endpoint: closed-loop throughput and a fixed rate (autocannon),
// one request at a time and stream timings (a small undici client with hrtime, whose clock is
// finer than autocannon's whole milliseconds), and many concurrent streams.
import autocannon from 'autocannon';
import { Client, Pool } from 'undici';
import { cpuMicros, sampleRss } from './processes.js';

/** Where one kind of request goes: origin, headers (auth, routing) and the model name to send. */
export interface Endpoint {
  origin: string;
  headers: Record<string, string>;
  model: string;
}

export const chatPath = '/v1/chat/completions';
const prompt = [{ role: 'user', content: 'Say something about butterflies.' }];

function chatBody(endpoint: Endpoint, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ model: endpoint.model, messages: prompt, max_tokens: 16, ...extra });
}

function headersOf(endpoint: Endpoint): Record<string, string> {
  return { 'content-type': 'application/json', ...endpoint.headers };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const elapsedMs = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e6;

export interface LoadRun {
  /** Answers with a 2xx status. */
  ok: number;
  /** Answers with another status, plus connection errors and timeouts. */
  failed: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Gateway CPU time per answer (absent for the direct target). */
  cpuMicrosPerRequest?: number;
  maxRssMb?: number;
}

/**
 * Non-streaming chat completions from `connections` connections for `seconds` (closed loop), or at
 * `rate` requests/s in all; or exactly `amount` requests, none cut off at the end.
 */
export async function load(
  endpoint: Endpoint,
  options: { connections: number; seconds?: number; rate?: number; amount?: number; gatewayPid?: number },
): Promise<LoadRun> {
  const latencies: number[] = [];
  const pid = options.gatewayPid;
  const cpuBefore = pid === undefined ? 0 : cpuMicros(pid);
  const rss = pid === undefined ? undefined : sampleRss(pid, 250);
  const instance = autocannon({
    url: endpoint.origin + chatPath,
    method: 'POST',
    headers: headersOf(endpoint),
    body: chatBody(endpoint),
    connections: options.connections,
    timeout: 30,
    ...(options.amount === undefined ? { duration: options.seconds } : { amount: options.amount }),
    ...(options.rate === undefined ? {} : { overallRate: options.rate }),
  });
  instance.on('response', (_client, status, _bytes, ms) => {
    if (status >= 200 && status < 300) latencies.push(ms);
  });
  const result = await instance;
  const cpu = pid === undefined ? undefined : cpuMicros(pid) - cpuBefore;
  const answered = result['2xx'] + result.non2xx;
  return {
    ok: result['2xx'],
    // autocannon counts a timeout in errors too.
    failed: result.non2xx + result.errors,
    perSecond: result['2xx'] / result.duration,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    ...(cpu === undefined ? {} : { cpuMicrosPerRequest: cpu / Math.max(1, answered) }),
    ...(rss ? { maxRssMb: Math.max(...rss.stop()) } : {}),
  };
}

export interface SequentialRun {
  ok: number;
  failed: number;
  p50Ms: number;
  p99Ms: number;
}

/** `count` requests one after another on one keep-alive connection, each timed with hrtime. */
export async function oneAtATime(endpoint: Endpoint, count: number): Promise<SequentialRun> {
  const client = new Client(endpoint.origin, { pipelining: 1 });
  const body = chatBody(endpoint);
  const headers = headersOf(endpoint);
  const latencies: number[] = [];
  let failed = 0;
  try {
    for (let i = 0; i < count; i += 1) {
      const started = process.hrtime.bigint();
      const res = await client.request({ method: 'POST', path: chatPath, headers, body });
      await res.body.arrayBuffer();
      if (res.statusCode >= 200 && res.statusCode < 300) latencies.push(elapsedMs(started));
      else failed += 1;
    }
  } finally {
    await client.close();
  }
  return { ok: latencies.length, failed, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
}

/** What one stream looked like at the client. */
interface StreamTrace {
  ok: boolean;
  timeToFirstTokenMs: number;
  /** Time between two consecutive token chunks, as they arrived. */
  gapsMs: number[];
  tokens: number;
  sawUsage: boolean;
  sawDone: boolean;
  /** Network reads that completed more than one token chunk (the relay merged chunks). */
  coalescedReads: number;
  /** Why the stream failed: the status and the start of the answer, or the connection error. */
  error?: string;
}

const failedTrace = (): StreamTrace => ({
  ok: false,
  timeToFirstTokenMs: Number.NaN,
  gapsMs: [],
  tokens: 0,
  sawUsage: false,
  sawDone: false,
  coalescedReads: 0,
});

/** One stream, timed from the request to each token chunk; a connection error is a failed stream. */
function oneStream(
  dispatcher: Pool,
  endpoint: Endpoint,
  maxTokens: number | undefined,
): Promise<StreamTrace> {
  return readStream(dispatcher, endpoint, maxTokens).catch(failedTrace);
}

async function readStream(
  dispatcher: Pool,
  endpoint: Endpoint,
  maxTokens: number | undefined,
): Promise<StreamTrace> {
  const trace = failedTrace();
  const started = process.hrtime.bigint();
  const res = await dispatcher.request({
    method: 'POST',
    path: chatPath,
    headers: headersOf(endpoint),
    body: chatBody(endpoint, {
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: maxTokens,
    }),
  });
  if (res.statusCode !== 200) {
    trace.error = `${res.statusCode} ${(await res.body.text()).slice(0, 120)}`;
    return trace;
  }
  let pending = '';
  let lastTokenAt: number | undefined;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    const at = elapsedMs(started);
    pending += chunk.toString('utf8');
    const events = pending.split('\n\n');
    pending = events.pop() ?? '';
    let tokensInRead = 0;
    for (const event of events) {
      const data = event.startsWith('data: ') ? event.slice(6) : '';
      if (data === '[DONE]') {
        trace.sawDone = true;
        continue;
      }
      // String tests, not JSON.parse: with a thousand streams the client shares its core with the
      // simulator, and parsing every chunk would make the client the bottleneck.
      if (/"choices":\s*\[\]/.test(data)) {
        trace.sawUsage = /"usage":\s*\{/.test(data);
        continue;
      }
      tokensInRead += 1;
      trace.tokens += 1;
      if (lastTokenAt === undefined) trace.timeToFirstTokenMs = at;
      else trace.gapsMs.push(at - lastTokenAt);
      lastTokenAt = at;
    }
    if (tokensInRead > 1) trace.coalescedReads += 1;
  }
  trace.ok = true;
  return trace;
}

export interface StreamRun {
  streams: number;
  failed: number;
  /** Streams that lost a token chunk, the usage chunk or [DONE]. */
  incomplete: number;
  coalescedReads: number;
  ttftP50Ms: number;
  ttftP99Ms: number;
  gapP99Ms: number;
  gapMaxMs: number;
  /** The first failed stream's reason, if any failed. */
  firstError?: string;
}

function summarize(traces: StreamTrace[], expectedTokens: number): StreamRun {
  const done = traces.filter((t) => t.ok);
  const ttfts = done.map((t) => t.timeToFirstTokenMs);
  const gaps = done.flatMap((t) => t.gapsMs);
  return {
    streams: traces.length,
    failed: traces.length - done.length,
    incomplete: done.filter((t) => t.tokens !== expectedTokens || !t.sawUsage || !t.sawDone).length,
    coalescedReads: done.reduce((sum, t) => sum + t.coalescedReads, 0),
    ttftP50Ms: percentile(ttfts, 50),
    ttftP99Ms: percentile(ttfts, 99),
    gapP99Ms: percentile(gaps, 99),
    gapMaxMs: gaps.length === 0 ? Number.NaN : Math.max(...gaps),
    firstError: traces.find((t) => t.error !== undefined)?.error,
  };
}

/** `concurrency` clients, each streaming answers of `tokens` tokens back to back for `seconds`. */
export async function streamTimings(
  endpoint: Endpoint,
  options: { concurrency: number; seconds: number; tokens: number },
): Promise<StreamRun> {
  const pool = new Pool(endpoint.origin, { connections: options.concurrency });
  const traces: StreamTrace[] = [];
  const deadline = Date.now() + options.seconds * 1000;
  const loop = async () => {
    while (Date.now() < deadline) traces.push(await oneStream(pool, endpoint, options.tokens));
  };
  try {
    await Promise.all(Array.from({ length: options.concurrency }, loop));
  } finally {
    await pool.close();
  }
  return summarize(traces, options.tokens);
}

/** `count` streams at once, each of the simulator's whole answer (`tokens` tokens). */
export async function concurrentStreams(
  endpoint: Endpoint,
  count: number,
  tokens: number,
): Promise<StreamRun> {
  const pool = new Pool(endpoint.origin, { connections: count });
  try {
    const traces = await Promise.all(
      Array.from({ length: count }, () => oneStream(pool, endpoint, undefined)),
    );
    return summarize(traces, tokens);
  } finally {
    await pool.close();
  }
}
