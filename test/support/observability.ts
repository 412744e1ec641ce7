// What test/unit/deploy/observability.test.ts checks the dashboards, alert rules and collector
// config with: the metric names a PromQL expression reads, the metrics the code exports, and the
// queries of a Grafana dashboard or a Prometheus rule file.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

// Words of PromQL that are not metric names where they stand without a following parenthesis
// (functions and aggregations are recognised by theirs).
const keywords = new Set([
  'and',
  'or',
  'unless',
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
  'inf',
  'nan',
  'atan2',
  'start',
  'end',
]);

/**
 * The metric names an expression reads: identifiers that are not followed by `(` (functions,
 * aggregations), nor keywords, once strings, label matchers (`{…}`), ranges (`[…]`), grouping
 * label lists (`by (…)`, `without`, `on`, `ignoring`, `group_left`, `group_right`), Grafana
 * variables (`$model`, `${x}`, `$__rate_interval`) and numbers are removed. `label_values(m, l)`
 * (a Grafana variable query) reads m. Names are returned as written (with `_bucket` and such).
 */
export function promqlMetricNames(expr: string): string[] {
  let s = expr
    .replace(/label_values\(\s*([^,()]*?)\s*,\s*[A-Za-z_][A-Za-z0-9_]*\s*\)/g, ' $1 ')
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\{[^{}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)/g, ' ')
    .replace(/#[^\n]*/g, ' ');
  // Numbers (1, 0.95, 1e3, 0x1f) and durations (offset 1h) start with a digit.
  s = s.replace(/(?<![A-Za-z0-9_:.])[0-9][A-Za-z0-9_.]*(?:[eE][+-]?[0-9]+)?/g, ' ');
  const names = new Set<string>();
  for (const match of s.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const after = s.slice(match.index + match[0].length);
    if (/^\s*\(/.test(after)) continue;
    if (keywords.has(match[0].toLowerCase())) continue;
    names.add(match[0]);
  }
  return [...names];
}

/** A histogram's series name without its `_bucket`, `_sum` or `_count` suffix. */
export function baseName(name: string): string {
  return name.replace(/_(?:bucket|sum|count)$/, '');
}

const instrumentPattern =
  /\.create(Counter|UpDownCounter|Histogram|Gauge|ObservableGauge|ObservableCounter|ObservableUpDownCounter)\(\s*['"]([A-Za-z_:][A-Za-z0-9_:]*)['"]/g;

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : tsFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/**
 * The metrics the code records on OpenTelemetry meters (and the Temporal runtime's, which the
 * workers serve with the same naming), under the names the Prometheus exporter gives them (counters get `_total`; histograms are listed by their base name), each with the file
 * that creates it.
 */
export function codeMetrics(root: string, folders: string[]): Map<string, string> {
  const found = new Map<string, string>();
  for (const folder of folders)
    for (const file of tsFiles(join(root, folder))) {
      const source = readFileSync(file, 'utf8');
      for (const [, kind, name] of source.matchAll(instrumentPattern)) {
        const counter = kind === 'Counter' || kind === 'ObservableCounter';
        found.set(counter && !name!.endsWith('_total') ? `${name}_total` : name!, relative(root, file));
      }
    }
  return found;
}

export interface Query {
  /** Where it is: the panel's or variable's title, or the rule's name. */
  where: string;
  expr: string;
}

/** Every PromQL query of a Grafana dashboard: panel targets (rows' nested panels too) and query variables. */
export function dashboardQueries(dashboard: unknown): Query[] {
  const queries: Query[] = [];
  const board = dashboard as {
    panels?: unknown[];
    templating?: { list?: { name?: string; type?: string; query?: unknown; definition?: string }[] };
  };
  const visit = (panel: { title?: string; targets?: { expr?: string }[]; panels?: unknown[] }) => {
    for (const target of panel.targets ?? [])
      if (typeof target.expr === 'string')
        queries.push({ where: `panel "${panel.title}"`, expr: target.expr });
    for (const inner of panel.panels ?? []) visit(inner as typeof panel);
  };
  for (const panel of board.panels ?? []) visit(panel as Parameters<typeof visit>[0]);
  for (const variable of board.templating?.list ?? []) {
    if (variable.type !== 'query') continue;
    const query =
      typeof variable.query === 'string' ? variable.query : (variable.query as { query?: string })?.query;
    if (query) queries.push({ where: `variable $${variable.name}`, expr: query });
  }
  return queries;
}

export interface RuleFile {
  groups: {
    name: string;
    rules: {
      alert?: string;
      record?: string;
      expr: string;
      labels?: Record<string, string>;
      annotations?: Record<string, string>;
    }[];
  }[];
}

/** Every expression of a rule file, named by its alert or recorded series. */
export function ruleQueries(file: RuleFile): Query[] {
  return file.groups.flatMap((group) =>
    group.rules.map((rule) => ({
      where: rule.alert ? `alert ${rule.alert}` : `record ${rule.record}`,
      expr: rule.expr,
    })),
  );
}

/** The series the rule files record, which dashboards and other rules may read. */
export function recordedSeries(files: RuleFile[]): string[] {
  return files.flatMap((file) =>
    file.groups.flatMap((g) => g.rules.flatMap((r) => (r.record ? [r.record] : []))),
  );
}

/** `<where>: <metric>` for each metric a query reads that is not known. */
export function unknownMetrics(queries: Query[], known: Set<string>): string[] {
  const unknown: string[] = [];
  for (const { where, expr } of queries)
    for (const name of promqlMetricNames(expr))
      if (!known.has(name) && !known.has(baseName(name))) unknown.push(`${where}: ${name}`);
  return unknown;
}

export interface CollectorConfig {
  receivers?: Record<string, unknown>;
  processors?: Record<string, unknown>;
  exporters?: Record<string, unknown>;
  connectors?: Record<string, unknown>;
  extensions?: Record<string, unknown>;
  service?: {
    extensions?: string[];
    pipelines?: Record<string, { receivers?: string[]; processors?: string[]; exporters?: string[] }>;
  };
}

/** What is wrong with the wiring of an OpenTelemetry Collector config: references to undefined components, unused ones. */
export function collectorProblems(config: CollectorConfig): string[] {
  const problems: string[] = [];
  const pipelines = config.service?.pipelines ?? {};
  const connectors = Object.keys(config.connectors ?? {});
  const used = new Set<string>();
  for (const [pipeline, { receivers = [], processors = [], exporters = [] }] of Object.entries(pipelines)) {
    if (receivers.length === 0) problems.push(`pipeline ${pipeline} has no receiver`);
    if (exporters.length === 0) problems.push(`pipeline ${pipeline} has no exporter`);
    const refs = [
      ['receivers', receivers],
      ['processors', processors],
      ['exporters', exporters],
    ] as const;
    for (const [kind, names] of refs)
      for (const name of names) {
        used.add(`${kind}/${name}`);
        const defined =
          Object.hasOwn(config[kind] ?? {}, name) || (kind !== 'processors' && connectors.includes(name));
        if (!defined) problems.push(`pipeline ${pipeline} uses ${kind} ${name}, which is not defined`);
      }
  }
  for (const kind of ['receivers', 'exporters'] as const)
    for (const name of Object.keys(config[kind] ?? {}))
      if (!used.has(`${kind}/${name}`)) problems.push(`${kind} ${name} is defined but in no pipeline`);
  for (const name of config.service?.extensions ?? [])
    if (!Object.hasOwn(config.extensions ?? {}, name)) problems.push(`extension ${name} is not defined`);
  return problems;
}
