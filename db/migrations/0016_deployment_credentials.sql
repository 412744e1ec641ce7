-- Upstream credentials (issue 11 §1): the API key the gateway sends to a deployment's upstream as
-- `Authorization: Bearer …`. One row per key: the 'current' one is sent; after a rotation the one
-- before stays as 'previous' until grace_until, and the gateway tries it once when the upstream
-- refuses the current one (docs/gateway.md). The key is wrapped by the master key
-- (runtime/envelope.ts, context 'deployment-upstream-key:<deployment_id>'; runtime/wrapped-columns.ts
-- lists the column for the re-wrap); the API answers only its last four characters. Platform-wide
-- like the rest of the registry: no org_id, no RLS.
CREATE TABLE deployment_credentials (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
  deployment_id uuid NOT NULL REFERENCES model_deployments (id) ON DELETE CASCADE,
  slot text NOT NULL,
  wrapped_key text NOT NULL,
  last_four text NOT NULL,
  created_at timestamp with time zone DEFAULT now() NOT NULL,
  grace_until timestamp with time zone,
  CONSTRAINT deployment_credentials_slot_key UNIQUE (deployment_id, slot),
  CONSTRAINT deployment_credentials_slot_known CHECK (slot IN ('current', 'previous')),
  CONSTRAINT deployment_credentials_grace_on_previous CHECK ((slot = 'previous') = (grace_until IS NOT NULL)),
  CONSTRAINT deployment_credentials_last_four_length CHECK (length(last_four) = 4)
);
--> statement-breakpoint
-- A key change reaches every replica like any registry change: through the registry revision.
CREATE TRIGGER deployment_credentials_bump_revision
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON deployment_credentials
  FOR EACH STATEMENT EXECUTE FUNCTION model_registry_bump_revision();
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON deployment_credentials TO vlinders_app;
