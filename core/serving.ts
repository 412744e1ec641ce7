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
