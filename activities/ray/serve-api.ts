// The Ray Serve REST API on a cluster's dashboard (`/api/serve/applications/`). A PUT is the whole
// desired state: an application left out is deleted, so only the cluster's one writer
// (`serve-cluster/<cluster>`) calls `apply`.
import { request } from 'undici';
import type { ServeApplication, ServeConfig } from '../../core/serving.js';

export type ServeApplicationStatus =
  'NOT_STARTED' | 'DEPLOYING' | 'DEPLOY_FAILED' | 'RUNNING' | 'UNHEALTHY' | 'DELETING';

export interface ServeApplicationState {
  name: string;
  status: ServeApplicationStatus;
  /** Ray's message: for DEPLOY_FAILED, the traceback. */
  message: string;
  routePrefix: string | null;
  /** Replicas per deployment of the application, as Serve reports them running. */
  runningReplicas: Record<string, number>;
  /** The application's config as it was last deployed (null for one Serve did not get from a config). */
  config: ServeApplication | null;
}

interface ServeDetails {
  applications: Record<
    string,
    {
      status: ServeApplicationStatus;
      message?: string;
      route_prefix?: string | null;
      deployed_app_config?: ServeApplication | null;
      deployments?: Record<string, { replicas?: { state: string }[] }>;
    }
  >;
}

export class ServeApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ServeApiError';
  }
}

export class ServeApi {
  /** @param dashboardUrl the cluster's dashboard, for example http://127.0.0.1:8265 */
  constructor(
    private readonly dashboardUrl: string,
    // Generous: the first PUT on a cluster starts Serve itself (its controller and proxy).
    private readonly timeoutMs = 60_000,
  ) {}

  /** The applications Serve runs now, by name. */
  async applications(): Promise<Map<string, ServeApplicationState>> {
    const details = (await this.call('GET')) as ServeDetails;
    const states = new Map<string, ServeApplicationState>();
    for (const [name, app] of Object.entries(details.applications ?? {})) {
      const runningReplicas: Record<string, number> = {};
      for (const [deployment, d] of Object.entries(app.deployments ?? {})) {
        runningReplicas[deployment] = (d.replicas ?? []).filter((r) => r.state === 'RUNNING').length;
      }
      states.set(name, {
        name,
        status: app.status,
        message: app.message ?? '',
        routePrefix: app.route_prefix ?? null,
        runningReplicas,
        config: app.deployed_app_config ?? null,
      });
    }
    return states;
  }

  /** Makes `config` the cluster's whole desired state. */
  async apply(config: ServeConfig): Promise<void> {
    await this.call('PUT', config);
  }

  private async call(method: 'GET' | 'PUT', body?: unknown): Promise<unknown> {
    const res = await request(new URL('/api/serve/applications/', this.dashboardUrl), {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      headersTimeout: this.timeoutMs,
      bodyTimeout: this.timeoutMs,
    });
    const text = await res.body.text();
    if (res.statusCode >= 400) {
      throw new ServeApiError(
        `Serve API ${method} answered ${res.statusCode}: ${text.length > 1000 ? `…${text.slice(-1000)}` : text}`,
        res.statusCode,
      );
    }
    return text ? JSON.parse(text) : null;
  }
}
