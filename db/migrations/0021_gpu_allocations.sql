-- GPU allocation history (issue 13, cost analysis). The registry holds only each deployment's
-- current GPUs, so a trigger on model_deployments keeps one row per stretch of time in which a
-- deployment held a constant number of GPUs of one type: the open row (ended_at NULL) is what it
-- holds now. GPU-seconds over any period are exact sums over these rows (db/gpu-allocations.ts).
-- Platform-wide like the registry (no org_id, no RLS). Only the trigger writes it: its function runs
-- as the owner, and the app role may read the history but not rewrite it.
CREATE TABLE gpu_allocations (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- No foreign keys: the history outlives the deployments and models it describes.
  deployment_id uuid NOT NULL,
  model_id uuid NOT NULL,
  -- The model's public name at the time (what usage_hourly records tokens under).
  model_name text NOT NULL,
  version text NOT NULL,
  -- The pool: the GPU type the deployment runs on, priced by GPU_COST_PER_HOUR.
  gpu_type text NOT NULL,
  -- gpu_count × replicas.
  gpus integer NOT NULL,
  started_at timestamp with time zone NOT NULL,
  ended_at timestamp with time zone,
  CONSTRAINT gpu_allocations_gpus_positive CHECK (gpus > 0),
  CONSTRAINT gpu_allocations_ordered CHECK (ended_at IS NULL OR ended_at > started_at)
);
--> statement-breakpoint
CREATE UNIQUE INDEX gpu_allocations_open_key ON gpu_allocations (deployment_id) WHERE ended_at IS NULL;
--> statement-breakpoint
CREATE INDEX gpu_allocations_started_idx ON gpu_allocations (started_at);
--> statement-breakpoint
-- The GPUs a deployment holds. Its Serve application exists, and so holds its replicas' GPUs, from
-- the moment its rollout begins deploying it until the rollout unloads it (core/rollout.ts):
-- deploying (replicas start and load weights), canary, serving, and draining (in-flight requests
-- finish before the application is removed). Registered versions are not deployed yet; retired and
-- failed ones have been (or are being) removed. `state` is only the gateway's routing switch: an
-- operator disabling a serving version stops its traffic but leaves its application loaded, so it
-- does not end the allocation.
CREATE FUNCTION deployment_gpus_held(stage text, gpu_count integer, replicas integer) RETURNS integer
  LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
  SELECT CASE WHEN stage IN ('deploying', 'canary', 'serving', 'draining') THEN gpu_count * replicas ELSE 0 END
$$;
--> statement-breakpoint
-- Closes the deployment's open row and opens one for what it holds now. Changes in one transaction
-- share now(): a row opened earlier in the same transaction (or by one that began later but committed
-- first) is replaced rather than closed empty or before it began.
CREATE FUNCTION gpu_allocations_follow() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    DELETE FROM public.gpu_allocations
      WHERE deployment_id = OLD.id AND ended_at IS NULL AND started_at >= now();
    UPDATE public.gpu_allocations SET ended_at = now() WHERE deployment_id = OLD.id AND ended_at IS NULL;
  END IF;
  IF TG_OP <> 'DELETE' AND public.deployment_gpus_held(NEW.stage, NEW.gpu_count, NEW.replicas) > 0 THEN
    INSERT INTO public.gpu_allocations (deployment_id, model_id, model_name, version, gpu_type, gpus, started_at)
      SELECT NEW.id, NEW.model_id, m.name, NEW.version, NEW.gpu_type,
        public.deployment_gpus_held(NEW.stage, NEW.gpu_count, NEW.replicas), now()
      FROM public.models m WHERE m.id = NEW.model_id;
  END IF;
  RETURN NULL;
END $$;
--> statement-breakpoint
-- Only its triggers run it.
REVOKE ALL ON FUNCTION gpu_allocations_follow() FROM PUBLIC;
--> statement-breakpoint
CREATE TRIGGER model_deployments_gpu_allocations AFTER INSERT OR DELETE ON model_deployments
  FOR EACH ROW EXECUTE FUNCTION gpu_allocations_follow();
--> statement-breakpoint
-- An update matters only when what the deployment holds changes (a stage change from serving to
-- draining, or a new weight, does not split the row).
CREATE TRIGGER model_deployments_gpu_allocations_change AFTER UPDATE ON model_deployments
  FOR EACH ROW WHEN (
    deployment_gpus_held(OLD.stage, OLD.gpu_count, OLD.replicas)
      IS DISTINCT FROM deployment_gpus_held(NEW.stage, NEW.gpu_count, NEW.replicas)
    OR OLD.gpu_type IS DISTINCT FROM NEW.gpu_type)
  EXECUTE FUNCTION gpu_allocations_follow();
--> statement-breakpoint
-- What the deployments hold when this migration runs; earlier history is not known.
INSERT INTO gpu_allocations (deployment_id, model_id, model_name, version, gpu_type, gpus, started_at)
  SELECT d.id, d.model_id, m.name, d.version, d.gpu_type, deployment_gpus_held(d.stage, d.gpu_count, d.replicas), now()
  FROM model_deployments d JOIN models m ON m.id = d.model_id
  WHERE deployment_gpus_held(d.stage, d.gpu_count, d.replicas) > 0;
--> statement-breakpoint
GRANT SELECT ON gpu_allocations TO vlinders_app;
--> statement-breakpoint
-- The cost analysis names each tenant: like the rollups (0013_billing_run_reads.sql), organizations
-- are readable, read-only, in a transaction of the billing run or the operators' reports.
CREATE POLICY organizations_billing_run ON organizations FOR SELECT
  USING (current_setting('app.billing_run', true) = 'on');
