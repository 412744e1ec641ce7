// The Helm chart's offline validation (scripts/validate-deploy.ts): helm lint with the values
// schema, helm template through kubeconform -strict against deploy/schemas/, and the process list
// against the entry points, the rendered Deployments and up.sh — for the default values and
// values-production.yaml. Each planted defect (a wrong value, an entry point without a Deployment,
// an invalid manifest) must fail the check that guards it, and only that one.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chartDefault, validateDeploy, type Check } from '../../../scripts/validate-deploy.js';

const dir = mkdtempSync(join(tmpdir(), 'vlinders-chart-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A copy of the chart (links followed: files/ray/gpu.yaml) with `edit` applied. */
function plantedChart(name: string, edit: (chart: string) => void): string {
  const chart = join(dir, name);
  cpSync(chartDefault, chart, { recursive: true, dereference: true });
  edit(chart);
  return chart;
}

function replaceIn(file: string, from: string, to: string): void {
  const text = readFileSync(file, 'utf8');
  expect(text, file).toContain(from);
  writeFileSync(file, text.replace(from, to));
}

const failed = (checks: Check[]) => checks.filter((c) => !c.ok).map((c) => c.name);
const output = (checks: Check[], name: string) => checks.find((c) => c.name === name)?.output ?? '';
const production = (chart: string) => [
  { name: 'production', files: [join(chart, 'values-production.yaml')] },
];

describe('deploy/helm/vlinders', { timeout: 120_000 }, () => {
  it('lints, renders valid objects and deploys every process, with the default and the production values', async () => {
    const { ok, checks, rendered } = await validateDeploy();
    expect(failed(checks)).toEqual([]);
    expect(ok).toBe(true);
    const summary = output(checks, 'kubeconform -strict (values-production.yaml)');
    expect(summary).toMatch(/Summary: \d+ resources found .*Valid: \d+, Invalid: 0, Errors: 0, Skipped: 0/);
    // Every optional part is on in the production values, so kubeconform saw every template's kinds.
    const kinds = new Set((rendered.get('values-production.yaml') ?? []).map((m) => m.kind));
    for (const kind of [
      'Deployment',
      'HorizontalPodAutoscaler',
      'PodDisruptionBudget',
      'ScaledObject',
      'TriggerAuthentication',
      'RayService',
      'NetworkPolicy',
      'ServiceMonitor',
      'PodMonitor',
      'ExternalSecret',
      'Job',
    ]) {
      expect(kinds, kind).toContain(kind);
    }
  });

  it('refuses a wrong value at helm lint and helm template (values.schema.json)', async () => {
    const wrong = join(dir, 'wrong-values.yaml');
    // A misspelt key and a string where a number belongs.
    writeFileSync(wrong, 'processes:\n  api:\n    replicas: two\n    replicass: 3\n');
    const { ok, checks } = await validateDeploy({ valueSets: [{ name: 'wrong', files: [wrong] }] });
    expect(ok).toBe(false);
    expect(failed(checks)).toEqual(['helm lint (wrong)', 'helm template (wrong)']);
    expect(output(checks, 'helm template (wrong)')).toMatch(
      /values don't meet the specifications of the schema/,
    );
    expect(output(checks, 'helm template (wrong)')).toContain('replicass');
    expect(output(checks, 'helm template (wrong)')).toMatch(/replicas.*(integer|two)/s);
  });

  it('fails when an entry point has no Deployment', async () => {
    const chart = plantedChart('no-billing-worker', (c) =>
      replaceIn(
        join(c, 'processes.yaml'),
        '  - name: billing-worker\n    entryPoint: workers/billing.ts\n    kind: temporal-worker\n    taskQueue: vlinders-billing\n    metricsPort: 9465\n',
        '',
      ),
    );
    const { ok, checks } = await validateDeploy({ chartDir: chart, valueSets: production(chart) });
    expect(ok).toBe(false);
    expect(failed(checks)).toEqual(['processes (production)']);
    expect(output(checks, 'processes (production)').split('\n')).toEqual([
      'workers/billing.ts is not in processes.yaml',
      'workers/billing.ts has no Deployment (none runs dist/workers/billing.js)',
    ]);
  });

  it('fails on an invalid manifest (kubeconform -strict)', async () => {
    // Helm renders a misspelt field without complaint; the Deployment schema refuses it.
    const chart = plantedChart('invalid-manifest', (c) =>
      replaceIn(join(c, 'templates/processes.yaml'), 'revisionHistoryLimit: 5', 'revisionHistoryLimits: 5'),
    );
    const { ok, checks } = await validateDeploy({ chartDir: chart, valueSets: production(chart) });
    expect(ok).toBe(false);
    expect(failed(checks)).toEqual(['kubeconform -strict (production)']);
    expect(output(checks, 'kubeconform -strict (production)')).toMatch(/Deployment .*revisionHistoryLimits/);
  });

  it('turns the alert rule files and dashboards it holds into a PrometheusRule and ConfigMaps', async () => {
    const chart = plantedChart('with-alerts', (c) => {
      // Only the planted files: the chart's own alerts and dashboards are checked elsewhere.
      rmSync(join(c, 'alerts'), { recursive: true, force: true });
      rmSync(join(c, 'dashboards'), { recursive: true, force: true });
      mkdirSync(join(c, 'alerts'), { recursive: true });
      mkdirSync(join(c, 'dashboards'), { recursive: true });
      const rule = (name: string) =>
        `groups:\n  - name: ${name}\n    rules:\n      - alert: ${name}Down\n        expr: up == 0\n        for: 5m\n        labels: { severity: page }\n        annotations: { summary: down }\n`;
      writeFileSync(join(c, 'alerts/planted-a.rules.yaml'), rule('PlantedA'));
      writeFileSync(join(c, 'alerts/planted-b.rules.yaml'), rule('PlantedB'));
      writeFileSync(join(c, 'dashboards/planted.json'), JSON.stringify({ title: 'Planted', panels: [] }));
    });
    const { ok, checks, rendered } = await validateDeploy({ chartDir: chart, valueSets: production(chart) });
    expect(failed(checks)).toEqual([]);
    expect(ok).toBe(true);
    const objects = rendered.get('production') ?? [];
    const rules = objects.filter((m) => m.kind === 'PrometheusRule') as {
      spec?: { groups?: { name: string }[] };
    }[];
    expect(rules.map((r) => r.spec?.groups?.map((g) => g.name))).toEqual([['PlantedA', 'PlantedB']]);
    const dashboards = objects.filter(
      (m) => m.kind === 'ConfigMap' && m.metadata?.labels?.grafana_dashboard === '1',
    ) as { data?: Record<string, string> }[];
    expect(dashboards.map((d) => JSON.parse(d.data?.['planted.json'] ?? '{}') as unknown)).toEqual([
      { title: 'Planted', panels: [] },
    ]);
  });
});
