// The serving layer's shapes, shared by the Serve REST client (activities/ray), the cluster's
// writer workflow and whoever asks it for changes (rollouts, the capacity loop).

/** One Ray Serve application: for Vlinders, one model version under its own route prefix. */
export interface ServeApplication {
  name: string;
  route_prefix: string;
  import_path: string;
  runtime_env?: Record<string, unknown>;
  args?: Record<string, unknown>;
  deployments?: Record<string, unknown>[];
}

/** Ray Serve's declarative config: what `PUT /api/serve/applications/` takes, the whole state. */
export interface ServeConfig {
  proxy_location?: string;
  http_options?: { host?: string; port?: number };
  applications: ServeApplication[];
}

/** Replicas of a Serve application's deployments: a fixed count, or autoscaling bounds. */
export interface ReplicaSetting {
  /** The Serve application's name. */
  application: string;
  minReplicas: number;
  maxReplicas: number;
}

/** Why a replica setting cannot be applied, or null when it can. */
export function replicaSettingRejection(
  setting: ReplicaSetting,
  applications: ServeApplication[],
): string | null {
  const { application, minReplicas, maxReplicas } = setting;
  if (!applications.some((app) => app.name === application)) return `no application named '${application}'`;
  if (![minReplicas, maxReplicas].every(Number.isInteger)) return 'replicas must be whole numbers';
  if (minReplicas < 0) return 'minReplicas must be 0 or more';
  if (maxReplicas < 1) return 'maxReplicas must be 1 or more';
  if (minReplicas > maxReplicas) return 'minReplicas must not exceed maxReplicas';
  return null;
}

/**
 * The application with its replicas bounded by `setting`: on a Ray Serve LLM application, each
 * model's `deployment_config.autoscaling_config`; on others, each listed deployment's. Other
 * autoscaling settings (targets, delays) are kept; a fixed `num_replicas` gives way to the bounds.
 */
export function withReplicas(app: ServeApplication, setting: ReplicaSetting): ServeApplication {
  const bound = (deployment: Record<string, unknown>) => {
    const { num_replicas: _fixed, ...rest } = deployment;
    const autoscaling = (rest.autoscaling_config ?? {}) as Record<string, unknown>;
    return {
      ...rest,
      autoscaling_config: {
        ...autoscaling,
        min_replicas: setting.minReplicas,
        max_replicas: setting.maxReplicas,
      },
    };
  };
  const llmConfigs = app.args?.llm_configs;
  if (Array.isArray(llmConfigs)) {
    const configs = llmConfigs as Record<string, unknown>[];
    return {
      ...app,
      args: {
        ...app.args,
        llm_configs: configs.map((llm) => ({
          ...llm,
          deployment_config: bound((llm.deployment_config ?? {}) as Record<string, unknown>),
        })),
      },
    };
  }
  return { ...app, deployments: (app.deployments ?? []).map(bound) };
}

/** Why an application cannot join the cluster's desired state, or null when it can. */
export function serveApplicationRejection(app: ServeApplication, current: ServeApplication[]): string | null {
  if (!app || typeof app !== 'object') return 'an application is an object';
  for (const field of ['name', 'route_prefix', 'import_path'] as const) {
    if (typeof app[field] !== 'string' || app[field] === '') return `the application needs '${field}'`;
  }
  if (!app.route_prefix.startsWith('/')) return "'route_prefix' starts with '/'";
  const clash = current.find((other) => other.name !== app.name && other.route_prefix === app.route_prefix);
  if (clash) return `route prefix '${app.route_prefix}' is taken by '${clash.name}'`;
  return null;
}
