// A model with a version serving and a new one registered, written straight into a test database,
// the gateway's usage events for them, and a stand-in for a Ray Serve cluster that records what the
// rollout asks of it (the real cluster and its writer are exercised in test/serving/).
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import type { ClusterRef, ServeCluster } from '../../activities/rollout/index.js';
import type { ServeApplication } from '../../core/serving.js';

/** Answers `/<app>/v1/models` with the model `<app>`, as a Ray Serve LLM application does. */
export async function startModelsEndpoint(): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const match = /^\/([^/]+)\/v1\/models$/.exec(req.url ?? '');
    res.writeHead(match ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(match ? { object: 'list', data: [{ id: match[1], object: 'model' }] } : {}));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A cluster whose applications run as soon as they are put, except those told to fail. */
export class RecordingServeCluster implements ServeCluster {
  readonly calls: string[] = [];
  readonly applications = new Map<string, ServeApplication>();
  readonly failing = new Set<string>();

  async putApplication(cluster: ClusterRef, application: ServeApplication): Promise<void> {
    this.calls.push(`put ${cluster.name}/${application.name}`);
    this.applications.set(application.name, application);
  }

  async removeApplication(cluster: ClusterRef, application: string): Promise<void> {
    this.calls.push(`remove ${cluster.name}/${application}`);
    this.applications.delete(application);
  }

  async applicationStatus(_dashboardUrl: string, application: string) {
    if (!this.applications.has(application)) return { status: 'NOT_FOUND', message: '' };
    if (this.failing.has(application))
      return { status: 'DEPLOY_FAILED', message: 'Traceback: the model could not be loaded' };
    return { status: 'RUNNING', message: '' };
  }
}

export interface SeededModel {
  modelId: string;
  name: string;
  clusterId: string;
  currentId: string;
  newId: string;
}

const application = (name: string): ServeApplication => ({
  name,
  route_prefix: `/${name}`,
  import_path: 'ray.serve.llm:build_openai_app',
  args: { llm_configs: [] },
});

/** A model whose v1 (application `<name>-v1`) serves everything and whose v2 is registered. */
export async function seedModel(admin: pg.Pool, proxyUrl: string): Promise<SeededModel> {
  const name = `chat-${randomUUID().slice(0, 8)}`;
  const cluster = await admin.query<{ id: string }>(
    `INSERT INTO serving_clusters (name, proxy_url, dashboard_url) VALUES ($1, $2, 'http://127.0.0.1:1')
     RETURNING id`,
    [`c-${name}`, proxyUrl],
  );
  const clusterId = cluster.rows[0]!.id;
  const model = await admin.query<{ id: string }>(
    `INSERT INTO models (name, context_length, input_price_per_million, output_price_per_million)
     VALUES ($1, 2048, 0.1, 0.2) RETURNING id`,
    [name],
  );
  const modelId = model.rows[0]!.id;
  const version = async (v: string, stage: string, weight: number, state: string) => {
    const app = application(`${name}-${v}`);
    const { rows } = await admin.query<{ id: string }>(
      `INSERT INTO model_deployments (model_id, version, upstream_model, urls, weight, state, stage,
         cluster_id, serve_application, replicas)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1) RETURNING id`,
      [modelId, v, app.name, [`${proxyUrl}${app.route_prefix}`], weight, state, stage, clusterId, app],
    );
    return rows[0]!.id;
  };
  return {
    modelId,
    name,
    clusterId,
    currentId: await version('v1', 'serving', 1000, 'active'),
    newId: await version('v2', 'registered', 0, 'disabled'),
  };
}

/**
 * Gateway usage events for a deployment, dated `minutesAhead` from now: ahead of every step the
 * rollout begins (time-skipping moves the workflow's clock, not the database's), so each step's
 * window sees them.
 */
export async function addRequests(
  admin: pg.Pool,
  deploymentId: string,
  requests: { count: number; errors?: number; ttftMs?: number },
  minutesAhead = 60,
): Promise<void> {
  const at = new Date(Date.now() + minutesAhead * 60_000);
  const month = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
  await admin.query('INSERT INTO usage_event_months (month) VALUES ($1) ON CONFLICT DO NOTHING', [month]);
  for (let i = 0; i < requests.count; i++) {
    await admin.query(
      `INSERT INTO usage_events (id, occurred_at, org_id, key_id, model, deployment_id, prompt_tokens,
         completion_tokens, cached_tokens, estimated, time_to_first_token_ms, duration_ms, status,
         streamed, cancelled, request_id)
       VALUES ($1, $2, $3, $4, 'm', $5, 10, 10, 0, false, $6, 100, $7, true, false, $8)`,
      [
        randomUUID(),
        at,
        randomUUID(),
        randomUUID(),
        deploymentId,
        requests.ttftMs ?? 50,
        i < (requests.errors ?? 0) ? 502 : 200,
        `req-${i}`,
      ],
    );
  }
}

export interface VersionRow {
  stage: string;
  state: string;
  weight: number;
  failure_reason: string | null;
}

export async function versionRow(admin: pg.Pool, id: string): Promise<VersionRow> {
  const { rows } = await admin.query<VersionRow>(
    'SELECT stage, state, weight, failure_reason FROM model_deployments WHERE id = $1',
    [id],
  );
  return rows[0]!;
}
