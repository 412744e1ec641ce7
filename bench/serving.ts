// The gateway against real vLLM (Ray Serve LLM on CPU, deploy/ray/cpu.yaml): the same requests
// straight at the Serve application and through Vlinders (full pipeline: API key, limits in Redis,
// routing, metering through the usage stream), one at a time, in pairs whose order alternates, so
// the machine's drift falls on both sides alike. Reports latency (non-streamed) and time to first
// token (streamed) for each side, and the gateway's added time as the median of the pairs'
// differences.
//   npm run bench:serving -- [--pairs 100] [--max-tokens 16] [--dashboard <url> --serve-url <url>]
// Without --dashboard it starts a Ray cluster of its own (minutes: the models load on CPU); with it,
// it uses a running one that serves the CPU profile (e.g. `up` with VLINDERS_SERVING=ray).
// Logs of every child: .data/bench/serving-<timestamp>/.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from 'undici';
import { ServeApi } from '../activities/ray/serve-api.js';
import { startRayCluster, untilRunning } from '../test/support/ray-serve.js';
import { percentile } from './gateway/measure.js';
import {
  addModel,
  seedTenant,
  startApi,
  startDatabases,
  startIngester,
  untilModelsListed,
  vlindersEnv,
} from './gateway/vlinders.js';

const { values } = parseArgs({
  options: {
    pairs: { type: 'string', default: '100' },
    'max-tokens': { type: 'string', default: '16' },
    dashboard: { type: 'string' },
    'serve-url': { type: 'string' },
  },
  strict: true,
});
const pairs = Number(values.pairs);
const maxTokens = Number(values['max-tokens']);
if (!(pairs >= 1 && maxTokens >= 1)) {
  process.stderr.write('bench:serving: --pairs and --max-tokens must be numbers ≥ 1\n');
  process.exit(2);
}

const application = 'tiny-chat-v1';
const publicModel = 'tiny-chat';
const messages = [{ role: 'user', content: 'Say something about butterflies.' }];
const elapsedMs = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e6;

/** One side of the comparison: where the requests go and as what. */
interface Side {
  client: Client;
  path: string;
  headers: Record<string, string>;
  model: string;
}

/** A non-streamed chat completion's latency in ms. */
async function whole(side: Side): Promise<number> {
  const started = process.hrtime.bigint();
  const res = await side.client.request({
    method: 'POST',
    path: side.path,
    headers: side.headers,
    body: JSON.stringify({ model: side.model, messages, max_tokens: maxTokens, temperature: 0 }),
  });
  const text = await res.body.text();
  if (res.statusCode !== 200)
    throw new Error(`${side.path} answered ${res.statusCode}: ${text.slice(0, 200)}`);
  return elapsedMs(started);
}

/** A streamed chat completion: time to the first generated text, and to the end, in ms. */
async function streamed(side: Side): Promise<{ ttft: number; total: number }> {
  const started = process.hrtime.bigint();
  const res = await side.client.request({
    method: 'POST',
    path: side.path,
    headers: side.headers,
    body: JSON.stringify({
      model: side.model,
      messages,
      max_tokens: maxTokens,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
  if (res.statusCode !== 200) throw new Error(`${side.path} answered ${res.statusCode}`);
  let ttft = Number.NaN;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    // The first chunk carrying generated text (vLLM's first event is the role alone).
    if (Number.isNaN(ttft) && /"content":"[^"]/.test(chunk.toString('utf8'))) ttft = elapsedMs(started);
  }
  return { ttft, total: elapsedMs(started) };
}

interface Series<T = number> {
  direct: T[];
  gateway: T[];
}

/** `pairs` measurements of each side, the order within a pair alternating. */
async function paired<T>(
  direct: Side,
  gateway: Side,
  measure: (side: Side) => Promise<T>,
): Promise<Series<T>> {
  const series: Series<T> = { direct: [], gateway: [] };
  for (let i = 0; i < pairs; i += 1) {
    const order = i % 2 === 0 ? (['direct', 'gateway'] as const) : (['gateway', 'direct'] as const);
    for (const which of order) series[which].push(await measure(which === 'direct' ? direct : gateway));
  }
  return series;
}

function row(name: string, series: Series): string {
  const differences = series.gateway.map((g, i) => g - series.direct[i]!);
  const ms = (v: number) => v.toFixed(1);
  return `| ${name} | ${ms(percentile(series.direct, 50))} / ${ms(percentile(series.direct, 99))} | ${ms(
    percentile(series.gateway, 50),
  )} / ${ms(percentile(series.gateway, 99))} | ${ms(percentile(differences, 50))} |`;
}

const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const logDir = join('.data/bench', `serving-${stamp}`);
mkdirSync(logDir, { recursive: true });
const stops: (() => Promise<void>)[] = [];
try {
  let serveUrl = values['serve-url'];
  if (values.dashboard && serveUrl) {
    await untilRunning(values.dashboard, [application]);
  } else {
    process.stdout.write('starting a Ray cluster and loading the CPU profile (minutes)\n');
    const ray = await startRayCluster({ logFile: join(logDir, 'ray.log'), exclusive: true });
    stops.push(() => ray.stop());
    await new ServeApi(ray.dashboardUrl, 120_000).apply(ray.config);
    await untilRunning(ray.dashboardUrl, [application]);
    serveUrl = ray.serveUrl;
  }
  const db = await startDatabases(logDir);
  stops.push(() => db.stop());
  const env = vlindersEnv(db, true);
  const api = await startApi('api', env, logDir);
  stops.push(() => api.child.stop());
  const ingester = startIngester(env, logDir);
  stops.push(() => ingester.stop());
  const tenant = await seedTenant(api.origin, db.admin, 'serving');
  await addModel(db.admin, publicModel, `${serveUrl}/${application}`, application);
  await untilModelsListed(api.origin, tenant.key, [publicModel]);

  const json = { 'content-type': 'application/json' };
  const direct: Side = {
    client: new Client(serveUrl, { pipelining: 1 }),
    path: `/${application}/v1/chat/completions`,
    headers: json,
    model: application,
  };
  const gateway: Side = {
    client: new Client(api.origin, { pipelining: 1 }),
    path: '/v1/chat/completions',
    headers: { ...json, authorization: `Bearer ${tenant.key}` },
    model: publicModel,
  };
  stops.push(async () => {
    await Promise.all([direct.client.close(), gateway.client.close()]);
  });
  // The registry may have listed the model before its deployment row: wait for a first answer.
  for (
    let waited = 0;
    !(await whole(gateway).then(
      () => true,
      () => false,
    ));
    waited += 500
  ) {
    if (waited > 30_000) throw new Error('the gateway never answered for the model; see api.log');
    await new Promise((r) => setTimeout(r, 500));
  }
  // Warm-up: connections, vLLM's prefix cache for the prompt, the API's code paths.
  for (let i = 0; i < 5; i += 1) await Promise.all([whole(direct), whole(gateway)]);

  const started = Date.now();
  const latency = await paired(direct, gateway, whole);
  const stream = await paired(direct, gateway, streamed);
  const ttft = { direct: stream.direct.map((r) => r.ttft), gateway: stream.gateway.map((r) => r.ttft) };
  const streamTotal = {
    direct: stream.direct.map((r) => r.total),
    gateway: stream.gateway.map((r) => r.total),
  };
  const report = [
    `bench:serving on ${new Date().toISOString()}, ${pairs} pairs, max_tokens ${maxTokens}, temperature 0, one request at a time (${Math.round((Date.now() - started) / 1000)} s)`,
    '',
    '| measure (ms) | vLLM direct p50 / p99 | through Vlinders p50 / p99 | added, median of pairs |',
    '| --- | --- | --- | --- |',
    row('chat completion, whole answer', latency),
    row('streamed: time to first token', ttft),
    row('streamed: whole stream', streamTotal),
    '',
  ].join('\n');
  process.stdout.write(`\n${report}\n`);
  writeFileSync(join(logDir, 'report.md'), report);
  process.stdout.write(`report and logs: ${logDir}/\n`);
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
}
