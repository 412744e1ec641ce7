// The benchmark's report: markdown tables (one row per target), the machine, the commit and the
// command, printed and written to .data/bench/gateway-<timestamp>.md.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import type { LoadRun, SequentialRun, StreamRun } from './measure.js';

export interface Round {
  throughput?: LoadRun;
  sequential?: SequentialRun;
  fixedRate?: LoadRun;
  streams?: StreamRun;
}

export interface TargetResult {
  name: string;
  /** What the target is, in a few words (the legend under the tables). */
  description: string;
  rounds: Round[];
  concurrentStreams?: StreamRun;
  /** Redis commands per request during its last throughput run (every client of that Redis). */
  redisPerRequest?: string;
}

export interface UsageCheck {
  /** Exact check: a key used only by an uncut closed-loop run (and whole streams). */
  responses: number;
  rows: number;
  /** Informational: every 2xx the client counted for the target over the whole run, and the ledger's rows. */
  runResponses: number;
  runRows: number;
}

export interface Soak {
  minutes: number;
  rate: number;
  ok: number;
  failed: number;
  rssMb: number[];
}

export interface ReportInput {
  startedAt: Date;
  command: string;
  settings: string[];
  targets: TargetResult[];
  usage?: UsageCheck;
  soak?: Soak;
  stallMs: number;
  /** Where the children's logs are (a failure's cause is there). */
  logDir: string;
  /** Vlinders API processes' functions by self time (--cpu-prof). */
  profiles: { name: string; path: string; lines: string[] }[];
}

function median(values: number[]): number {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

type Pick = (round: Round) => number | undefined;

/** The median over rounds of one metric. */
const across = (t: TargetResult, pick: Pick) => median(t.rounds.map((r) => pick(r) ?? Number.NaN));

/** The median over rounds of (target − direct) within each round, so drift between rounds cancels. */
function added(t: TargetResult, direct: TargetResult | undefined, pick: Pick): number {
  if (!direct || t === direct) return Number.NaN;
  return median(
    t.rounds.map((r, i) => (pick(r) ?? Number.NaN) - (pick(direct.rounds[i] ?? {}) ?? Number.NaN)),
  );
}

const fmt = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : '–');
const fmt0 = (value: number) => fmt(value, 0);
const fmt3 = (value: number) => fmt(value, 3);
const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
const header = (cells: string[]) => [row(cells), row(cells.map(() => '---'))];

function machine(): string[] {
  const cpuModel = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  const memKb = Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0);
  const git = (...args: string[]) => execFileSync('git', args).toString().trim();
  const dirty =
    git('status', '--porcelain', '--untracked-files=no') === '' ? '' : ' (with uncommitted changes)';
  return [
    `- machine: ${cpus().length} cores, ${cpuModel}, ${(memKb / 1024 / 1024).toFixed(1)} GiB memory; node ${process.version}`,
    `- commit: ${git('rev-parse', '--short', 'HEAD')}${dirty}`,
  ];
}

export function renderReport(input: ReportInput): string {
  const { targets } = input;
  const direct = targets.find((t) => t.name === 'direct');
  const lines: string[] = [
    `# Gateway benchmark, ${input.startedAt.toISOString()}`,
    '',
    `- command: \`${input.command}\``,
    ...machine(),
    ...input.settings.map((s) => `- ${s}`),
    '',
    '## Throughput (closed loop, non-streaming)',
    '',
    ...header([
      'target',
      'req/s',
      'errors %',
      'p50 ms',
      'p99 ms',
      'gateway CPU µs/req',
      'gateway RSS max MB',
    ]),
  ];
  for (const t of targets) {
    const ok = t.rounds.reduce((s, r) => s + (r.throughput?.ok ?? 0), 0);
    const failed = t.rounds.reduce((s, r) => s + (r.throughput?.failed ?? 0), 0);
    lines.push(
      row([
        t.name,
        fmt0(across(t, (r) => r.throughput?.perSecond)),
        fmt((100 * failed) / Math.max(1, ok + failed), 3),
        fmt(across(t, (r) => r.throughput?.p50Ms)),
        fmt(across(t, (r) => r.throughput?.p99Ms)),
        fmt0(across(t, (r) => r.throughput?.cpuMicrosPerRequest)),
        fmt(Math.max(...t.rounds.map((r) => r.throughput?.maxRssMb ?? Number.NaN)), 1),
      ]),
    );
  }
  for (const t of targets)
    if (t.redisPerRequest)
      lines.push(
        '',
        `Redis commands per request during ${t.name}'s last throughput run (every client, API and ingester; ` +
          'commands a Lua script runs count too, so evalsha is the round trips: one to admit, one to settle and append the usage event): ' +
          (t.redisPerRequest || 'none'),
      );
  lines.push(
    '',
    '## Latency added over direct',
    '',
    ...header([
      'target',
      '1-at-a-time p50 ms',
      'p99 ms',
      'added p50 ms',
      'added p99 ms',
      'fixed rate: req/s achieved',
      'p99 ms',
      'added p99 ms',
      'errors (both)',
    ]),
  );
  for (const t of targets)
    lines.push(
      row([
        t.name,
        fmt3(across(t, (r) => r.sequential?.p50Ms)),
        fmt3(across(t, (r) => r.sequential?.p99Ms)),
        fmt3(added(t, direct, (r) => r.sequential?.p50Ms)),
        fmt3(added(t, direct, (r) => r.sequential?.p99Ms)),
        fmt0(across(t, (r) => r.fixedRate?.perSecond)),
        fmt3(across(t, (r) => r.fixedRate?.p99Ms)),
        fmt3(added(t, direct, (r) => r.fixedRate?.p99Ms)),
        String(t.rounds.reduce((s, r) => s + (r.fixedRate?.failed ?? 0) + (r.sequential?.failed ?? 0), 0)),
      ]),
    );
  lines.push(
    '',
    '## Streaming',
    '',
    ...header([
      'target',
      'TTFT p50 ms',
      'TTFT p99 ms',
      'added TTFT p50',
      'added TTFT p99',
      'gap p99 ms',
      'added gap p99',
      'coalesced reads',
      'lost/incomplete/failed streams',
      'concurrent streams ok/all',
      'max gap ms',
      'stall',
    ]),
  );
  for (const t of targets) {
    const c = t.concurrentStreams;
    const lost = t.rounds.reduce((s, r) => s + (r.streams?.incomplete ?? 0) + (r.streams?.failed ?? 0), 0);
    const coalesced = t.rounds.reduce((s, r) => s + (r.streams?.coalescedReads ?? 0), 0);
    lines.push(
      row([
        t.name,
        fmt3(across(t, (r) => r.streams?.ttftP50Ms)),
        fmt3(across(t, (r) => r.streams?.ttftP99Ms)),
        fmt3(added(t, direct, (r) => r.streams?.ttftP50Ms)),
        fmt3(added(t, direct, (r) => r.streams?.ttftP99Ms)),
        fmt3(across(t, (r) => r.streams?.gapP99Ms)),
        fmt3(added(t, direct, (r) => r.streams?.gapP99Ms)),
        String(coalesced),
        String(lost),
        c ? `${c.streams - c.failed - c.incomplete}/${c.streams}` : '–',
        c ? fmt(c.gapMaxMs, 1) : '–',
        c ? (c.failed + c.incomplete === 0 && c.gapMaxMs < input.stallMs ? 'no' : 'YES') : '–',
      ]),
    );
  }
  if (input.usage) {
    const u = input.usage;
    lines.push(
      '',
      '## Metering',
      '',
      `- usage check (vlinders-full, a key of its own, a run nothing cuts off): ${u.responses} successful ` +
        `responses, ${u.rows} usage rows: **${u.rows === u.responses ? 'PASS' : 'FAIL'}**`,
      `- whole run (vlinders-full's main key): ${u.runResponses} successful responses counted by the client, ` +
        `${u.runRows} usage rows (timed runs stop with requests in flight: a request the client gave up ` +
        'on at the end can still be metered, as the gateway answered or cancelled it)',
    );
  }
  if (input.soak) {
    const s = input.soak;
    lines.push(
      '',
      `## Soak: vlinders-full at ${s.rate} req/s for ${s.minutes} min`,
      '',
      `- ${s.ok} successful (${fmt(s.ok / (s.minutes * 60), 0)} req/s achieved), ${s.failed} failed; RSS sampled every 10 s: first ${fmt(s.rssMb[0] ?? Number.NaN, 1)} MB, ` +
        `last ${fmt(s.rssMb.at(-1) ?? Number.NaN, 1)} MB, max ${fmt(Math.max(...s.rssMb), 1)} MB`,
      // The curve: one sample a minute (every sixth of the 10 s samples), and the last.
      `- RSS MB by minute: ${s.rssMb
        .filter((_, i) => i % 6 === 0 || i === s.rssMb.length - 1)
        .map((mb) => fmt(mb, 0))
        .join(', ')}`,
    );
  }
  const failures = targets.flatMap((t) => {
    const error = [...t.rounds.map((r) => r.streams), t.concurrentStreams].find(
      (s) => s?.firstError,
    )?.firstError;
    return error ? [`- ${t.name}: a stream failed with: \`${error.replace(/\s+/g, ' ')}\``] : [];
  });
  if (failures.length > 0)
    lines.push('', '## Failed streams', '', ...failures, `- the gateways' own logs: ${input.logDir}/`);
  for (const p of input.profiles)
    lines.push(
      '',
      `## CPU profile of ${p.name}: functions by self time from the first round on, idle left out (${p.path})`,
      '',
      ...p.lines,
    );
  const complaints = logComplaints(input.logDir);
  if (complaints.length > 0)
    lines.push('', `## Warnings and errors in the logs (${input.logDir}/)`, '', ...complaints);
  lines.push('', '## Targets', '', ...targets.map((t) => `- **${t.name}**: ${t.description}`));
  return `${lines.join('\n')}\n`;
}

/** A line of a child's log that says something went wrong: pino level ≥ 40 (warn), or plain text naming an error. */
function complaint(line: string): string | undefined {
  if (line.startsWith('{')) {
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string };
      return (entry.level ?? 0) >= 40 ? (entry.msg ?? line.slice(0, 100)) : undefined;
    } catch {
      return undefined;
    }
  }
  return /error/i.test(line) && !line.startsWith('    at ') ? line.trim().slice(0, 100) : undefined;
}

/** Per child log, how often each warning or error was written (a gateway's silent trouble shows here). */
export function logComplaints(logDir: string): string[] {
  const lines: string[] = [];
  for (const file of readdirSync(logDir)
    .filter((f) => f.endsWith('.log'))
    .sort()) {
    const counts = new Map<string, number>();
    for (const line of readFileSync(join(logDir, file), 'utf8').split('\n')) {
      const message = complaint(line);
      if (message) counts.set(message, (counts.get(message) ?? 0) + 1);
    }
    for (const [message, count] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, 5))
      lines.push(`- ${file}: ${count} × \`${message.replace(/`/g, "'")}\``);
  }
  return lines;
}

/** Writes the report under .data/bench and answers its path. */
export function writeReport(markdown: string, startedAt: Date): string {
  const dir = '.data/bench';
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `gateway-${startedAt.toISOString().replace(/[:.]/g, '-')}.md`);
  writeFileSync(path, markdown);
  return path;
}
