-- Model versions and serving clusters (issue 11 §2). A version is a row of model_deployments: the
-- gateway already routes by its weight and state, so the rollout's traffic split IS the gateway's
-- weights. What this adds: the version's lifecycle stage (registered → deploying → canary →
-- serving → draining → retired, and failed), the Ray Serve cluster and application it runs as, and
-- what it needs (GPUs, memory, replicas). Rows made before this (URLs set by hand, the simulator)
-- are 'serving' with no cluster. Platform-wide like the rest of the registry: no org_id, no RLS.
CREATE TABLE serving_clusters (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
  name text NOT NULL,
  -- Where the gateway reaches the Serve proxy: a version's URL is this plus its route prefix.
  proxy_url text NOT NULL,
  -- The dashboard, where the Serve REST API answers (the cluster's writer PUTs there).
  dashboard_url text NOT NULL,
  created_at timestamp with time zone DEFAULT now() NOT NULL,
  updated_at timestamp with time zone DEFAULT now() NOT NULL,
  CONSTRAINT serving_clusters_name_key UNIQUE (name),
  CONSTRAINT serving_clusters_name_format CHECK (name ~ '^[a-z0-9][a-z0-9-]{0,62}$'),
  CONSTRAINT serving_clusters_urls_length CHECK (
    length(proxy_url) BETWEEN 1 AND 2048 AND length(dashboard_url) BETWEEN 1 AND 2048)
);
--> statement-breakpoint
ALTER TABLE model_deployments
  ADD COLUMN stage text NOT NULL DEFAULT 'serving',
  ADD COLUMN cluster_id uuid REFERENCES serving_clusters (id) ON DELETE RESTRICT,
  -- The Serve application (name, route_prefix, import_path, args…) the version runs as.
  ADD COLUMN serve_application jsonb,
  ADD COLUMN gpu_type text,
  ADD COLUMN gpu_count integer NOT NULL DEFAULT 0,
  ADD COLUMN memory_mib integer,
  ADD COLUMN replicas integer NOT NULL DEFAULT 1,
  -- Why the version failed (a gate, a deploy error, an operator's abort).
  ADD COLUMN failure_reason text,
  ADD CONSTRAINT model_deployments_stage_known CHECK (
    stage IN ('registered', 'deploying', 'canary', 'serving', 'draining', 'retired', 'failed')),
  -- A version that is not (or no longer) deployed takes no traffic, whatever its weight says.
  ADD CONSTRAINT model_deployments_stage_routes CHECK (
    stage IN ('canary', 'serving', 'draining') OR state <> 'active' OR weight = 0),
  ADD CONSTRAINT model_deployments_application_on_cluster CHECK (
    (cluster_id IS NULL) = (serve_application IS NULL)),
  ADD CONSTRAINT model_deployments_application_shape CHECK (
    serve_application IS NULL OR (jsonb_typeof(serve_application) = 'object'
      AND jsonb_typeof(serve_application -> 'name') = 'string'
      AND jsonb_typeof(serve_application -> 'route_prefix') = 'string'
      AND jsonb_typeof(serve_application -> 'import_path') = 'string')),
  ADD CONSTRAINT model_deployments_gpu_type_length CHECK (gpu_type IS NULL OR length(gpu_type) BETWEEN 1 AND 64),
  ADD CONSTRAINT model_deployments_gpu_count_range CHECK (gpu_count BETWEEN 0 AND 64),
  ADD CONSTRAINT model_deployments_gpus_typed CHECK (gpu_count = 0 OR gpu_type IS NOT NULL),
  ADD CONSTRAINT model_deployments_memory_positive CHECK (memory_mib IS NULL OR memory_mib > 0),
  ADD CONSTRAINT model_deployments_replicas_range CHECK (replicas BETWEEN 1 AND 1000),
  ADD CONSTRAINT model_deployments_failure_reason_length CHECK (
    failure_reason IS NULL OR length(failure_reason) <= 2000);
--> statement-breakpoint
-- One Serve application name and one route prefix per cluster: a PUT carries every application.
CREATE UNIQUE INDEX model_deployments_application_name_key
  ON model_deployments (cluster_id, (serve_application ->> 'name')) WHERE cluster_id IS NOT NULL;
--> statement-breakpoint
CREATE UNIQUE INDEX model_deployments_route_prefix_key
  ON model_deployments (cluster_id, (serve_application ->> 'route_prefix')) WHERE cluster_id IS NOT NULL;
--> statement-breakpoint
-- One rollout at a time per model: the rollout claims its version by moving it to 'deploying'.
CREATE UNIQUE INDEX model_deployments_one_rollout_key
  ON model_deployments (model_id) WHERE stage IN ('deploying', 'canary');
--> statement-breakpoint
CREATE TRIGGER serving_clusters_bump_revision AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON serving_clusters
  FOR EACH STATEMENT EXECUTE FUNCTION model_registry_bump_revision();
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON serving_clusters TO vlinders_app;
--> statement-breakpoint
-- The rollout's gates read a deployment's requests from the ledger by deployment and time.
CREATE INDEX usage_events_deployment_idx ON usage_events (deployment_id, occurred_at);
--> statement-breakpoint
-- The gateway's own health of a group of deployments, for the rollout's gates and drain: requests,
-- upstream errors (5xx; a client that left is not one), and the time to first token's p95, over
-- the events since a time, as one row. Events belong to every tenant and RLS binds one org per
-- statement, so this runs as vlinders_ingest (which may read every org's events,
-- 0014_usage_ingest.sql) and answers these aggregates only: no org, key, request or token count
-- reaches the caller.
CREATE FUNCTION deployment_health(text[], timestamptz)
  RETURNS TABLE (requests bigint, errors bigint, ttft_samples bigint, ttft_p95_ms double precision,
                 last_at timestamptz)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
  SELECT count(*), count(*) FILTER (WHERE e.status >= 500 AND NOT e.cancelled),
    count(e.time_to_first_token_ms),
    percentile_cont(0.95) WITHIN GROUP (ORDER BY e.time_to_first_token_ms),
    max(e.occurred_at)
  FROM public.usage_events e
  WHERE e.deployment_id = ANY ($1) AND e.occurred_at >= $2
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION deployment_health(text[], timestamptz) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION deployment_health(text[], timestamptz) TO vlinders_app;
--> statement-breakpoint
-- Handed to vlinders_ingest as usage_ingest() is (see 0014 for why the grants are taken back).
GRANT CREATE ON SCHEMA public TO vlinders_ingest;
--> statement-breakpoint
GRANT vlinders_ingest TO CURRENT_USER;
--> statement-breakpoint
ALTER FUNCTION deployment_health(text[], timestamptz) OWNER TO vlinders_ingest;
--> statement-breakpoint
REVOKE vlinders_ingest FROM CURRENT_USER;
--> statement-breakpoint
REVOKE CREATE ON SCHEMA public FROM vlinders_ingest;
