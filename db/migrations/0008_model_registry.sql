-- The model registry (issue 4 §2): the public models clients name, and their deployments — the
-- Ray Serve/vLLM applications that serve them, split by weight. Platform-wide (no org_id, no RLS):
-- operators manage it through /api/admin/models, and every API replica keeps it in memory
-- (api/gateway/registry.ts). Upstream URLs are set here only, never taken from a client request.
CREATE TABLE models (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
  name text NOT NULL,
  context_length integer NOT NULL,
  input_price_per_million numeric(12, 6) NOT NULL,
  output_price_per_million numeric(12, 6) NOT NULL,
  status text NOT NULL DEFAULT 'active',
  fallback_model text,
  created_at timestamp with time zone DEFAULT now() NOT NULL,
  updated_at timestamp with time zone DEFAULT now() NOT NULL,
  CONSTRAINT models_name_key UNIQUE (name),
  CONSTRAINT models_name_format CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$'),
  CONSTRAINT models_context_length_positive CHECK (context_length > 0),
  CONSTRAINT models_prices_not_negative CHECK (input_price_per_million >= 0 AND output_price_per_million >= 0),
  CONSTRAINT models_status_known CHECK (status IN ('active', 'disabled')),
  CONSTRAINT models_fallback_not_self CHECK (fallback_model <> name),
  -- A model that others fall back to cannot be deleted from under them.
  CONSTRAINT models_fallback_model_fkey FOREIGN KEY (fallback_model) REFERENCES models (name)
);
--> statement-breakpoint
CREATE TABLE model_deployments (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
  model_id uuid NOT NULL REFERENCES models (id) ON DELETE CASCADE,
  version text NOT NULL,
  upstream_model text NOT NULL,
  urls text[] NOT NULL,
  weight integer NOT NULL,
  state text NOT NULL DEFAULT 'active',
  created_at timestamp with time zone DEFAULT now() NOT NULL,
  updated_at timestamp with time zone DEFAULT now() NOT NULL,
  CONSTRAINT model_deployments_model_version_key UNIQUE (model_id, version),
  CONSTRAINT model_deployments_version_format CHECK (version ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
  CONSTRAINT model_deployments_upstream_model_length CHECK (length(upstream_model) BETWEEN 1 AND 256),
  CONSTRAINT model_deployments_urls_present CHECK (
    cardinality(urls) BETWEEN 1 AND 64 AND array_position(urls, NULL) IS NULL),
  CONSTRAINT model_deployments_weight_range CHECK (weight BETWEEN 0 AND 1000),
  CONSTRAINT model_deployments_state_known CHECK (state IN ('active', 'draining', 'disabled'))
);
--> statement-breakpoint
-- One number every replica polls (every second) to learn that the registry changed. A row updated
-- in the changing transaction, not a sequence: nextval is visible before the change commits, so a
-- replica could see the new number, reload the old rows, and never reload again.
CREATE TABLE model_registry_revision (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  revision bigint NOT NULL
);
--> statement-breakpoint
INSERT INTO model_registry_revision (singleton, revision) VALUES (true, 1);
--> statement-breakpoint
CREATE FUNCTION model_registry_bump_revision() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  UPDATE public.model_registry_revision SET revision = revision + 1;
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER models_bump_revision AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON models
  FOR EACH STATEMENT EXECUTE FUNCTION model_registry_bump_revision();
--> statement-breakpoint
CREATE TRIGGER model_deployments_bump_revision AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON model_deployments
  FOR EACH STATEMENT EXECUTE FUNCTION model_registry_bump_revision();
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON models, model_deployments TO vlinders_app;
--> statement-breakpoint
-- The trigger runs with the changing role's rights, so the app role bumps the revision itself.
GRANT SELECT, UPDATE ON model_registry_revision TO vlinders_app;
