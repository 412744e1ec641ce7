// Where a gateway's CPU time went: the functions with the most self time in a V8 CPU profile
// (node --cpu-prof, written when the process exits), idle time left out.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface CpuProfile {
  /** µs on the monotonic clock, the one process.hrtime reads. */
  startTime: number;
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

/** Now on the clock of CPU profiles (µs, monotonic), to pass to topSelfTime as `sinceMicros`. */
export const profileClockMicros = () => Number(process.hrtime.bigint() / 1000n);

/** Who a function belongs to: its npm package, the repo's top folder, node's internals, or native code. */
function owner(key: string): string {
  const file = /\(([^()]*):\d+\)$/.exec(key)?.[1] ?? '';
  if (file === 'native') return key.startsWith('(garbage collector)') ? 'GC' : 'native';
  if (file.startsWith('node:')) return 'node internals';
  // Packages by name; a scope's packages together (@opentelemetry/* is one cost: tracing).
  if (!file.startsWith('/')) return file.startsWith('@') ? `${file.split('/')[0]}/*` : file.split('/')[0]!;
  // The compiled build keeps the source tree's folders under dist/: name the source folder.
  const inRepo = file.slice(process.cwd().length + 1).replace(/^dist\//, '');
  return `${inRepo.split('/')[0]}/`;
}

/** Self time per function (µs) from `sinceMicros` on, idle left out. */
function selfTimes(profile: CpuProfile, sinceMicros: number): Map<string, number> {
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const selfMicros = new Map<string, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    const frame = frames.get(id);
    if (at < sinceMicros || !frame || frame.functionName === '(idle)') return;
    const file = frame.url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, '');
    const key = `${frame.functionName || '(anonymous)'} (${file || 'native'}:${frame.lineNumber + 1})`;
    selfMicros.set(key, (selfMicros.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  return selfMicros;
}

/**
 * The busiest thread's `top` functions by self time from `sinceMicros` on (so start-up is left
 * out), as markdown lines "12.3 % name (file:line)". node writes one profile per thread into `dir`
 * (the main thread and any other); the busiest is the one serving requests.
 */
export function topSelfTime(
  dir: string,
  sinceMicros: number,
  top = 20,
): { path: string; lines: string[] } | undefined {
  if (!existsSync(dir)) return undefined;
  const threads = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => {
      const times = selfTimes(JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile, sinceMicros);
      return { path: join(dir, f), times, total: [...times.values()].reduce((a, b) => a + b, 0) };
    })
    .sort((a, b) => b.total - a.total);
  const busiest = threads[0];
  if (!busiest) return undefined;
  const share = (micros: number) => `${((100 * micros) / busiest.total).toFixed(1)} %`;
  const byOwner = new Map<string, number>();
  for (const [key, micros] of busiest.times) byOwner.set(owner(key), (byOwner.get(owner(key)) ?? 0) + micros);
  const lines = [
    `- by package or folder: ${[...byOwner]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12)
      .map(([name, micros]) => `${name} ${share(micros)}`)
      .join(', ')}`,
    ...[...busiest.times]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([key, micros]) => `- ${share(micros)} \`${key}\``),
  ];
  return { path: busiest.path, lines };
}
