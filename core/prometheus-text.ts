// Prometheus' text exposition format, read: the samples of a /metrics page. Enough for the capacity
// loop's scrapes of Ray's and DCGM's exporters (gauges and counters; histogram lines parse as
// their own series). Comments, HELP and TYPE lines are skipped.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const line = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/;
const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
const unescape = (v: string) => v.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));

export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const raw of text.split('\n')) {
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const match = line.exec(trimmed);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(label)) labels[key!] = unescape(value!);
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The samples of `name` whose labels include every one of `matching`. */
export function select(samples: Sample[], name: string, matching: Record<string, string> = {}): Sample[] {
  return samples.filter(
    (s) => s.name === name && Object.entries(matching).every(([k, v]) => s.labels[k] === v),
  );
}

/** The sum of the selected samples, or null when there is none (the metric is absent). */
export function sumOf(samples: Sample[]): number | null {
  return samples.length === 0 ? null : samples.reduce((total, s) => total + s.value, 0);
}

/** The mean of the selected samples, or null when there is none. */
export function meanOf(samples: Sample[]): number | null {
  const total = sumOf(samples);
  return total === null ? null : total / samples.length;
}
