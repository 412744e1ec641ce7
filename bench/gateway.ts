// The gateway benchmark (issue 4 §6): in one go on this machine, the same load straight at the
// model-server simulator, through Vlinders with the full pipeline, through Vlinders without Redis,
// and through the Portkey open-source gateway; targets interleaved in rounds so drift cancels.
//   npm run bench:gateway -- [--seconds 10] [--connections 64] [--rounds 2] [--sequential 2000]
//     [--rate 1000] [--streams 1000] [--stream-concurrency 10] [--stream-tokens 50]
//     [--check-requests 5000] [--soak-minutes 0] [--skip-portkey] [--skip-vlinders] [--cpu-prof]
// --cpu-prof runs each Vlinders API under node --cpu-prof and reports its functions by self time.
// The gateway under test runs on core 0; this process (the load), the simulators, PostgreSQL,
// Redis and the usage ingester run on core 1. Logs of every child: .data/bench/run-<timestamp>/.
import { mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  concurrentStreams,
  load,
  oneAtATime,
  streamTimings,
  type Endpoint,
  type LoadRun,
} from './gateway/measure.js';
import { portkeyHeaders, simulatorModel, startPortkey, startSimulator } from './gateway/peers.js';
import { profileClockMicros, topSelfTime } from './gateway/profile.js';
import { loadCore, pinSelf, rssMb, type Child } from './gateway/processes.js';
import {
  renderReport,
  writeReport,
  type Round,
  type Soak,
  type TargetResult,
  type UsageCheck,
} from './gateway/report.js';
import {
  addModel,
  callsPerRequest,
  redisCalls,
  drainedUsageRows,
  seedTenant,
  startApi,
  startDatabases,
  startIngester,
  untilModelsListed,
  usageRows,
  vlindersEnv,
  type Databases,
  type Tenant,
} from './gateway/vlinders.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '64' },
    rounds: { type: 'string', default: '2' },
    sequential: { type: 'string', default: '2000' },
    rate: { type: 'string', default: '1000' },
    streams: { type: 'string', default: '1000' },
    'stream-concurrency': { type: 'string', default: '10' },
    'stream-tokens': { type: 'string', default: '50' },
    'stream-pacing-ms': { type: 'string', default: '20' },
    'check-requests': { type: 'string', default: '5000' },
    'soak-minutes': { type: 'string', default: '0' },
    'soak-rate': { type: 'string', default: '3000' },
    'skip-portkey': { type: 'boolean', default: false },
    'skip-vlinders': { type: 'boolean', default: false },
    'cpu-prof': { type: 'boolean', default: false },
  },
  strict: true,
});

function positive(name: keyof typeof values, allowZero = false): number {
  const value = Number(values[name]);
  if (!Number.isFinite(value) || value < (allowZero ? 0 : 1)) {
    process.stderr.write(`bench:gateway: --${name} must be a number ≥ ${allowZero ? 0 : 1}\n`);
    process.exit(2);
  }
  return value;
}

const seconds = positive('seconds');
const connections = positive('connections');
const rounds = positive('rounds');
const sequential = positive('sequential');
const rate = positive('rate');
const streamCount = positive('streams');
const streamConcurrency = positive('stream-concurrency');
const streamTokens = positive('stream-tokens');
const pacingMs = positive('stream-pacing-ms');
const checkRequests = positive('check-requests');
const soakMinutes = positive('soak-minutes', true);
const soakRate = positive('soak-rate');
/** A gap between two chunks this long is a stall (ten times the pacing). */
const stallMs = 10 * pacingMs;
/** Tokens per stream in the timing runs: short answers, so there are many first tokens to time. */
const timedStreamTokens = Math.min(10, streamTokens);

const startedAt = new Date();
const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
const logDir = `.data/bench/run-${stamp}`;
mkdirSync(logDir, { recursive: true });
const profileDir = `${logDir}/profiles`;
/** Node flags of the Vlinders API processes: a CPU profile each, written when they exit. */
const apiFlags = (name: string) =>
  values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}/${name}`] : [];
const log = (line: string) => process.stderr.write(`bench:gateway: ${line}\n`);

interface Target extends TargetResult {
  /** Non-streaming requests (a simulator that answers at once). */
  fast: Endpoint;
  /** Streams (a simulator that paces its tokens). */
  stream: Endpoint;
  gatewayPid?: number;
  /** The Redis the target uses, to count its commands per request. */
  redisUrl?: string;
  /** 2xx answers the client counted (for the usage check). */
  successes: number;
}

const children: Child[] = [];
/** When the measured runs began (after the warm-up), on the CPU profiles' clock. */
let measuredFrom = 0;
let databases: Databases | undefined;

/** Stops every child, last started first, then the databases; safe to call twice. */
async function cleanUp(): Promise<void> {
  for (const child of children.splice(0).reverse()) await child.stop();
  await databases?.stop();
  databases = undefined;
}

// Every child started from here on inherits core 1; gateways are started on core 0 explicitly.
pinSelf(loadCore);

async function setUp(): Promise<{
  targets: Target[];
  full?: { target: Target; tenant: Tenant; check: Tenant };
}> {
  const fastSim = await startSimulator('simulator-fast', { ttftMs: 0, interTokenMs: 0, tokens: 16 }, logDir);
  const pacedSim = await startSimulator(
    'simulator-paced',
    { ttftMs: pacingMs, interTokenMs: pacingMs, tokens: streamTokens },
    logDir,
  );
  children.push(fastSim.child, pacedSim.child);
  const targets: Target[] = [
    {
      name: 'direct',
      description: 'straight at the simulator (no gateway): the baseline every "added" is measured against',
      fast: { origin: fastSim.server, headers: {}, model: simulatorModel },
      stream: { origin: pacedSim.server, headers: {}, model: simulatorModel },
      rounds: [],
      successes: 0,
    },
  ];
  let full: { target: Target; tenant: Tenant; check: Tenant } | undefined;
  if (!values['skip-vlinders']) {
    log('starting PostgreSQL and Redis');
    databases = await startDatabases(logDir);
    await addModel(databases.admin, 'bench-fast', fastSim.server, simulatorModel);
    await addModel(databases.admin, 'bench-paced', pacedSim.server, simulatorModel);
    const fullApi = await startApi(
      'vlinders-full',
      vlindersEnv(databases, true),
      logDir,
      apiFlags('vlinders-full'),
    );
    children.push(fullApi.child);
    children.push(startIngester(vlindersEnv(databases, true), logDir));
    const offApi = await startApi(
      'vlinders-off',
      vlindersEnv(databases, false),
      logDir,
      apiFlags('vlinders-off'),
    );
    children.push(offApi.child);
    const vlinders = (name: string, description: string, api: typeof fullApi, tenant: Tenant): Target => {
      const headers = { authorization: `Bearer ${tenant.key}` };
      return {
        name,
        description,
        fast: { origin: api.origin, headers, model: 'bench-fast' },
        stream: { origin: api.origin, headers, model: 'bench-paced' },
        gatewayPid: api.child.pid,
        rounds: [],
        successes: 0,
      };
    };
    const fullTenant = await seedTenant(fullApi.origin, databases.admin, 'full');
    const checkTenant = await seedTenant(fullApi.origin, databases.admin, 'check');
    const offTenant = await seedTenant(offApi.origin, databases.admin, 'off');
    await untilModelsListed(fullApi.origin, fullTenant.key, ['bench-fast', 'bench-paced']);
    await untilModelsListed(offApi.origin, offTenant.key, ['bench-fast', 'bench-paced']);
    const fullTarget = vlinders(
      'vlinders-full',
      'the API process with the full pipeline: API-key auth, limits in Redis (a Lua script to admit, another to settle ' +
        'that also appends the usage event to the Redis stream), the usage ingester moving events into PostgreSQL',
      fullApi,
      fullTenant,
    );
    targets.push(
      fullTarget,
      vlinders(
        'vlinders-off (no Redis)',
        'the same API without Redis (REDIS_URL unset): API-key auth still on, limits in-process, ' +
          'usage events buffered in the API and written into PostgreSQL in batches off the request path. There is no switch that turns ' +
          'the pipeline off in the product, so this is the nearest honest "off": the pipeline without its Redis round trips',
        offApi,
        offTenant,
      ),
    );
    fullTarget.redisUrl = databases.redisUrl;
    full = { target: fullTarget, tenant: fullTenant, check: checkTenant };
  }
  if (!values['skip-portkey']) {
    const portkey = await startPortkey(logDir);
    children.push(portkey.child);
    targets.push({
      name: 'portkey',
      description:
        'the Portkey open-source gateway 1.15.2 (node build, headless), provider openai with the simulator as custom host',
      fast: { origin: portkey.origin, headers: portkeyHeaders(fastSim.server), model: simulatorModel },
      stream: { origin: portkey.origin, headers: portkeyHeaders(pacedSim.server), model: simulatorModel },
      gatewayPid: portkey.child.pid,
      rounds: [],
      successes: 0,
    });
  }
  return { targets, full };
}

function counted<T extends { ok: number } | { streams: number; failed: number; incomplete: number }>(
  target: Target,
  run: T,
): T {
  target.successes += 'ok' in run ? run.ok : run.streams - run.failed;
  return run;
}

/** The target order of round r: the list rotated by r, so no target always runs first or last. */
const rotated = <T>(list: T[], r: number) => list.map((_, i) => list[(i + r) % list.length]!);

async function measure(targets: Target[]): Promise<void> {
  log(`warming up every target (${Math.min(seconds, 3)} s each)`);
  for (const t of targets)
    counted(t, await load(t.fast, { connections, seconds: Math.min(seconds, 3), gatewayPid: t.gatewayPid }));
  measuredFrom = profileClockMicros();
  for (let r = 0; r < rounds; r += 1) {
    const order = rotated(targets, r);
    const round = new Map<Target, Round>(targets.map((t) => [t, {}]));
    for (const t of order) {
      log(`round ${r + 1}/${rounds}: throughput, ${t.name}`);
      const redisBefore = t.redisUrl ? await redisCalls(t.redisUrl) : undefined;
      const run = counted(t, await load(t.fast, { connections, seconds, gatewayPid: t.gatewayPid }));
      round.get(t)!.throughput = run;
      if (t.redisUrl && redisBefore)
        t.redisPerRequest = callsPerRequest(redisBefore, await redisCalls(t.redisUrl), run.ok + run.failed);
    }
    for (const t of order) {
      log(`round ${r + 1}/${rounds}: ${sequential} requests one at a time, ${t.name}`);
      round.get(t)!.sequential = counted(t, await oneAtATime(t.fast, sequential));
    }
    for (const t of order) {
      log(`round ${r + 1}/${rounds}: ${rate} req/s, ${t.name}`);
      round.get(t)!.fixedRate = counted(t, await load(t.fast, { connections, seconds, rate }));
    }
    for (const t of order) {
      log(`round ${r + 1}/${rounds}: stream timings, ${t.name}`);
      round.get(t)!.streams = counted(
        t,
        await streamTimings(t.stream, { concurrency: streamConcurrency, seconds, tokens: timedStreamTokens }),
      );
    }
    for (const t of targets) t.rounds.push(round.get(t)!);
  }
  for (const t of targets) {
    log(`${streamCount} concurrent streams, ${t.name}`);
    t.concurrentStreams = counted(t, await concurrentStreams(t.stream, streamCount, streamTokens));
  }
}

/** Usage rows against successful responses: exactly for a key nothing cuts off, and for the whole run. */
async function usageCheck(
  db: Databases,
  full: { target: Target; tenant: Tenant; check: Tenant },
): Promise<UsageCheck> {
  log(`usage check: ${checkRequests} requests and 2 s of streams with a key of its own`);
  const headers = { authorization: `Bearer ${full.check.key}` };
  const run = await load(
    { ...full.target.fast, headers },
    { connections: Math.min(connections, checkRequests), amount: checkRequests },
  );
  const streams = await streamTimings(
    { ...full.target.stream, headers },
    { concurrency: streamConcurrency, seconds: 2, tokens: timedStreamTokens },
  );
  const responses = run.ok + streams.streams - streams.failed;
  log('waiting for the usage ingester to drain the stream');
  const rows = await drainedUsageRows(db.admin, full.check.keyId, responses);
  return {
    responses,
    rows,
    runResponses: full.target.successes,
    runRows: await usageRows(db.admin, full.tenant.keyId),
  };
}

async function soak(full: Target): Promise<Soak> {
  log(`soak: vlinders-full at ${soakRate} req/s for ${soakMinutes} min`);
  const rssMbSamples: number[] = [];
  const pid = full.gatewayPid!;
  const timer = setInterval(() => rssMbSamples.push(rssMb(pid)), 10_000);
  rssMbSamples.push(rssMb(pid));
  let run: LoadRun;
  try {
    run = counted(
      full,
      await load(full.fast, {
        connections: Math.max(connections, 128),
        seconds: soakMinutes * 60,
        rate: soakRate,
      }),
    );
  } finally {
    clearInterval(timer);
  }
  rssMbSamples.push(rssMb(pid));
  return { minutes: soakMinutes, rate: soakRate, ok: run.ok, failed: run.failed, rssMb: rssMbSamples };
}

process.once('SIGINT', () => void cleanUp().then(() => process.exit(130)));
try {
  const { targets, full } = await setUp();
  await measure(targets);
  const usage = full && databases ? await usageCheck(databases, full) : undefined;
  const soakResult = full && soakMinutes > 0 ? await soak(full.target) : undefined;
  // The processes exit first: that is when node writes their CPU profiles.
  await cleanUp();
  const profiles = values['cpu-prof']
    ? ['vlinders-full', 'vlinders-off'].flatMap((name) => {
        const top = topSelfTime(`${profileDir}/${name}`, measuredFrom);
        return top ? [{ name, ...top }] : [];
      })
    : [];
  const markdown = renderReport({
    startedAt,
    command: `npm run bench:gateway -- ${process.argv.slice(2).join(' ')}`.trim(),
    settings: [
      `load: ${connections} connections, ${seconds} s per run, ${rounds} rounds (targets rotated each round); ` +
        `${sequential} requests one at a time; fixed rate ${rate} req/s; non-streaming answers of 16 tokens at once`,
      `streams: ${streamConcurrency} at a time for ${seconds} s (answers of ${timedStreamTokens} tokens), then ` +
        `${streamCount} at once (${streamTokens} tokens); simulator pacing ${pacingMs} ms to the first token and between tokens; ` +
        `a stall is a gap of ${stallMs} ms or more`,
      'cores: gateway under test on core 0; load generator, simulators, PostgreSQL, Redis and the usage ingester on core 1',
      'each figure is the median over rounds; "added" is the median over rounds of (target − direct) in the same round',
    ],
    targets,
    usage,
    soak: soakResult,
    stallMs,
    logDir,
    profiles,
  });
  process.stdout.write(markdown);
  log(`written to ${writeReport(markdown, startedAt)}`);
} finally {
  await cleanUp();
}
