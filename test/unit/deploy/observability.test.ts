// Observability as code, validated offline: every metric a Grafana dashboard or an alert rule
// reads is one the code exports (found in the code, not listed) or one of the external processes'
// (deploy/helm/vlinders/external-metrics.json); `promtool check rules` and `promtool test rules`
// pass on the alert rules and their unit tests; the collector config's pipelines are wired. Each
// check fails on a planted defect: a rule on a metric that does not exist, a dashboard query with
// an unknown metric, a broken rule, an alert whose test no longer holds, a pipeline to an
// undefined exporter.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  codeMetrics,
  collectorProblems,
  dashboardQueries,
  promqlMetricNames,
  recordedSeries,
  ruleQueries,
  unknownMetrics,
  type CollectorConfig,
  type RuleFile,
} from '../../support/observability.js';
import { repoRoot, toolsBin } from '../../support/services.js';

const chart = join(repoRoot, 'deploy/helm/vlinders');
const alertsDir = join(chart, 'alerts');
const testsDir = join(alertsDir, 'tests');
const dashboardsDir = join(chart, 'dashboards');
const promtool = join(toolsBin, 'promtool');

const ruleFileNames = readdirSync(alertsDir).filter((f) => f.endsWith('.rules.yaml'));
const ruleFiles = new Map(
  ruleFileNames.map((f) => [f, parse(readFileSync(join(alertsDir, f), 'utf8')) as RuleFile]),
);
const testFileNames = readdirSync(testsDir).filter((f) => f.endsWith('.test.yaml'));
const dashboards = new Map(
  readdirSync(dashboardsDir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => [f, JSON.parse(readFileSync(join(dashboardsDir, f), 'utf8')) as Record<string, unknown>]),
);
const external = JSON.parse(readFileSync(join(chart, 'external-metrics.json'), 'utf8')) as {
  sources: Record<string, { what: string; version: string; checked: string }>;
  metrics: Record<string, string>;
};
const own = codeMetrics(repoRoot, ['api', 'workers', 'runtime', 'activities', 'core', 'db', 'workflows']);
const known = new Set([
  ...own.keys(),
  ...Object.keys(external.metrics),
  ...recordedSeries([...ruleFiles.values()]),
]);

const dir = mkdtempSync(join(tmpdir(), 'vlinders-observability-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number;
  output: string;
}

async function runPromtool(args: string[]): Promise<Run> {
  if (!existsSync(promtool)) throw new Error(`${promtool} missing: run scripts/install-tools.sh promtool`);
  try {
    const { stdout, stderr } = await promisify(execFile)(promtool, args, { cwd: dir });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

describe('PromQL metric names', () => {
  it.each([
    ['sum by (model, le) (rate(a_bucket{le=~"2(\\\\.0)?",m="x"}[5m]))', ['a_bucket']],
    [
      'sum(rate(a_total[$__rate_interval])) by (pod) / on (pod) group_left (node) b offset 1h',
      ['a_total', 'b'],
    ],
    ['1 - vlinders:ratio:rate5m > (14.4 * 0.001) and c > bool 1e3', ['vlinders:ratio:rate5m', 'c']],
    ['time() - max by (namespace) (d) > 90 * 86400', ['d']],
    ['(sum(increase(e{workflow_type="x or y"}[3h])) or vector(0)) < 1', ['e']],
    ['label_values(f_total, model)', ['f_total']],
    [
      'histogram_quantile(0.95, sum without (pod) (rate(g_seconds_bucket{model=~"$model"}[5m])))',
      ['g_seconds_bucket'],
    ],
    ['topk(10, sum by (org_id) (increase(h_total[$__range])))', ['h_total']],
  ])('%s reads %j', (expr, names) => {
    expect(promqlMetricNames(expr).sort()).toEqual([...names].sort());
  });
});

describe('the metrics the code exports', () => {
  it('are found in the code under their Prometheus names', () => {
    expect(Object.fromEntries(own)).toMatchObject({
      vlinders_api_requests_total: 'api/plugins/metrics.ts',
      vlinders_api_request_duration_seconds: 'api/plugins/metrics.ts',
      vlinders_api_errors_total: 'api/plugins/metrics.ts',
      vlinders_limits_decisions_total: 'api/gateway/limits/limiter.ts',
      vlinders_limits_redis_available: 'api/gateway/limits/limiter.ts',
      vlinders_gateway_requests_total: 'api/gateway/metering/inference-metrics.ts',
      vlinders_gateway_time_to_first_token_seconds: 'api/gateway/metering/inference-metrics.ts',
      vlinders_gateway_tenant_tokens_total: 'api/gateway/metering/inference-metrics.ts',
      vlinders_signing_key_activated_timestamp_seconds: 'api/identity/auth-plugin.ts',
      vlinders_billing_reconciliation_flagged_windows: 'activities/billing/reconciliation.ts',
      vlinders_billing_reconciliation_unreported_tokens: 'activities/billing/reconciliation.ts',
      vlinders_billing_reconciliation_unbalanced_tenants: 'activities/billing/reconciliation.ts',
      vlinders_billing_reconciliation_timestamp_seconds: 'activities/billing/reconciliation.ts',
      vlinders_model_gpus_allocated: 'api/gateway/gpu-cost-metrics.ts',
      vlinders_gpu_pool_cost_per_hour: 'api/gateway/gpu-cost-metrics.ts',
      vlinders_audit_chain_broken_orgs: 'activities/audit/index.ts',
      vlinders_audit_chain_verified_orgs: 'activities/audit/index.ts',
      vlinders_audit_chain_verified_timestamp_seconds: 'activities/audit/index.ts',
      vlinders_security_login_failures_total: 'api/identity/security-events.ts',
      vlinders_security_lockouts_total: 'api/identity/security-events.ts',
      vlinders_security_refresh_token_reuse_total: 'api/identity/security-events.ts',
      vlinders_security_policy_denials_total: 'api/identity/security-events.ts',
      vlinders_security_api_key_failures_total: 'api/identity/security-events.ts',
      vlinders_security_api_key_address_blocks_total: 'api/identity/security-events.ts',
      vlinders_security_api_key_new_networks_total: 'api/identity/security-events.ts',
      vlinders_security_api_key_countryless_addresses_total: 'api/identity/security-events.ts',
      vlinders_security_api_key_spikes_total: 'api/identity/security-events.ts',
      vlinders_security_token_request_failures_total: 'api/identity/security-events.ts',
    });
  });

  it('the external list names a source for each metric and lists none of ours', () => {
    for (const [metric, source] of Object.entries(external.metrics)) {
      expect(external.sources, metric).toHaveProperty(source);
      expect(own.has(metric), metric).toBe(false);
    }
  });
});

describe('Grafana dashboards', () => {
  it('are the expected set', () => {
    expect([...dashboards.keys()].sort()).toEqual([
      'billing.json',
      'cost.json',
      'gateway.json',
      'serving.json',
      'tenants.json',
      'workflows.json',
    ]);
  });

  it.each([...dashboards.keys()])(
    '%s: a data source variable, no hard-coded data source, unique uid',
    (file) => {
      const board = dashboards.get(file)!;
      expect(board.schemaVersion).toBeGreaterThanOrEqual(39);
      const variables = (board.templating as { list: { name: string; type: string }[] }).list;
      expect(variables).toContainEqual(expect.objectContaining({ name: 'datasource', type: 'datasource' }));
      // Every data source reference in the file is the variable, never a real Grafana's uid.
      const references: unknown[] = [];
      const collect = (value: unknown): void => {
        if (Array.isArray(value)) value.forEach(collect);
        else if (value && typeof value === 'object')
          for (const [key, inner] of Object.entries(value)) {
            if (key === 'datasource') references.push(inner);
            else collect(inner);
          }
      };
      collect(board.panels);
      collect(
        (board.templating as { list: unknown[] }).list.filter(
          (v) => (v as { type: string }).type !== 'datasource',
        ),
      );
      expect(references.length).toBeGreaterThan(5);
      for (const reference of references)
        expect(reference).toEqual({ type: 'prometheus', uid: '${datasource}' });
      const others = [...dashboards.entries()].filter(([f, b]) => f !== file && b.uid === board.uid);
      expect(others).toEqual([]);
    },
  );

  it.each([...dashboards.keys()])('%s: every query reads metrics that exist', (file) => {
    const queries = dashboardQueries(dashboards.get(file));
    expect(queries.length).toBeGreaterThan(5);
    expect(unknownMetrics(queries, known)).toEqual([]);
  });

  it('a planted query on a metric nobody exports is reported', () => {
    const board = structuredClone(dashboards.get('gateway.json')) as {
      panels: { targets?: { expr: string }[] }[];
    };
    const panel = board.panels.find((p) => p.targets?.length)!;
    panel.targets![0]!.expr = 'sum(rate(vlinders_api_request_total[5m]))';
    expect(unknownMetrics(dashboardQueries(board), known)).toEqual([
      expect.stringContaining(': vlinders_api_request_total'),
    ]);
  });
});

describe('alert rules', () => {
  it.each(ruleFileNames)('%s: every expression reads metrics that exist', (file) => {
    const queries = ruleQueries(ruleFiles.get(file)!);
    expect(queries.length).toBeGreaterThan(0);
    expect(unknownMetrics(queries, known)).toEqual([]);
  });

  it.each(ruleFileNames)('%s: every alert has a severity, a summary, a description and a runbook', (file) => {
    for (const group of ruleFiles.get(file)!.groups)
      for (const rule of group.rules.filter((r) => r.alert)) {
        expect(['page', 'ticket'], rule.alert).toContain(rule.labels?.severity);
        for (const key of ['summary', 'description', 'runbook'])
          expect(rule.annotations?.[key]?.length ?? 0, `${rule.alert} ${key}`).toBeGreaterThan(10);
      }
  });

  it('every alert has a unit test that sees it fire and one that sees it quiet', () => {
    const cases = testFileNames.flatMap((f) => {
      const doc = parse(readFileSync(join(testsDir, f), 'utf8')) as {
        tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
      };
      return doc.tests.flatMap((t) => t.alert_rule_test ?? []);
    });
    const alerts = [...ruleFiles.values()].flatMap((f) =>
      f.groups.flatMap((g) => g.rules.flatMap((r) => r.alert ?? [])),
    );
    expect(alerts.length).toBeGreaterThanOrEqual(15);
    for (const alert of alerts) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect(
        mine.some((c) => (c.exp_alerts?.length ?? 0) > 0),
        `${alert} fires in a test`,
      ).toBe(true);
      expect(
        mine.some((c) => (c.exp_alerts?.length ?? 0) === 0),
        `${alert} stays quiet in a test`,
      ).toBe(true);
    }
  });

  it('a planted alert on a metric that does not exist is reported', () => {
    const file = structuredClone(ruleFiles.get('gateway.rules.yaml')!);
    file.groups[1]!.rules.push({
      alert: 'Planted',
      expr: 'sum(rate(vlinders_gateway_request_total{status_class="5xx"}[5m])) > 0',
    });
    expect(unknownMetrics(ruleQueries(file), known)).toEqual([
      'alert Planted: vlinders_gateway_request_total',
    ]);
  });

  it('pass promtool check rules and promtool test rules', { timeout: 120_000 }, async () => {
    const check = await runPromtool(['check', 'rules', ...ruleFileNames.map((f) => join(alertsDir, f))]);
    expect(check.output).not.toMatch(/FAILED/);
    expect(check.code, check.output).toBe(0);
    const test = await runPromtool(['test', 'rules', ...testFileNames.map((f) => join(testsDir, f))]);
    expect(test.code, test.output).toBe(0);
    expect(test.output.match(/SUCCESS/g)?.length).toBe(testFileNames.length);
  });

  it(
    'promtool refuses a planted broken rule and a planted change its test catches',
    { timeout: 120_000 },
    async () => {
      // A copy of the rules and their tests, with the same layout (tests name ../<file>.rules.yaml).
      const copy = join(dir, 'alerts');
      cpSync(alertsDir, copy, { recursive: true });
      const gateway = readFileSync(join(alertsDir, 'gateway.rules.yaml'), 'utf8');

      const unbalanced =
        'expr: sum(rate(vlinders_limits_decisions_total{outcome="limits_unavailable"}[5m])) > 0';
      expect(gateway).toContain(unbalanced);
      writeFileSync(
        join(copy, 'broken.rules.yaml'),
        gateway.replace(unbalanced, unbalanced.replace('[5m]))', '[5m])')),
      );
      const check = await runPromtool(['check', 'rules', join(copy, 'broken.rules.yaml')]);
      expect(check.code).not.toBe(0);
      expect(check.output).toMatch(/unclosed left parenthesis|unexpected/);

      // The page's threshold ten times too high: the test that expects it to fire fails.
      const fast = 'vlinders:gateway_error_ratio:rate1h > (14.4 * 0.001)';
      expect(gateway).toContain(fast);
      writeFileSync(join(copy, 'gateway.rules.yaml'), gateway.replace(fast, fast.replace('0.001', '0.01')));
      const test = await runPromtool(['test', 'rules', join(copy, 'tests/gateway.test.yaml')]);
      expect(test.code).not.toBe(0);
      expect(test.output).toContain('alertname: GatewayErrorBudgetBurnFast');
    },
  );
});

describe('the OpenTelemetry Collector config', () => {
  const config = parse(readFileSync(join(repoRoot, 'deploy/otel/collector.yaml'), 'utf8')) as CollectorConfig;

  it('sends traces to Tempo, logs to Loki and metrics to Prometheus, every reference defined', () => {
    expect(collectorProblems(config)).toEqual([]);
    const pipelines = config.service!.pipelines!;
    expect(pipelines.traces).toMatchObject({ receivers: ['otlp'], exporters: ['otlp/tempo'] });
    expect(pipelines.logs).toMatchObject({ exporters: ['otlphttp/loki'] });
    expect(pipelines.logs!.receivers).toEqual(expect.arrayContaining(['otlp', 'filelog/vlinders']));
    expect(pipelines.metrics).toMatchObject({ exporters: ['prometheusremotewrite'] });
    // The API and workers post OTLP/HTTP (runtime/telemetry.ts): the receiver takes it.
    expect(config.receivers?.otlp).toMatchObject({ protocols: { http: { endpoint: '0.0.0.0:4318' } } });
  });

  it('a planted pipeline to an undefined exporter is reported', () => {
    const planted = structuredClone(config);
    planted.service!.pipelines!.traces!.exporters = ['otlp/jaeger'];
    expect(collectorProblems(planted)).toEqual([
      'pipeline traces uses exporters otlp/jaeger, which is not defined',
      'exporters otlp/tempo is defined but in no pipeline',
    ]);
  });
});
