-- Key management: platform secrets stored wrapped by the master key (so rotating the master key
-- keeps them), and the signing-key lifecycle (published before it signs, retired after its tokens).
CREATE TABLE platform_secrets (
  name text PRIMARY KEY,
  wrapped_value text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
--> statement-breakpoint
-- Not a tenant table (no org_id): the app role reads them and creates them on first start; the
-- values never change (a master-key rotation re-wraps them with the schema owner's npm run secrets:rewrap).
GRANT SELECT, INSERT ON platform_secrets TO vlinders_app;
--> statement-breakpoint
ALTER TABLE signing_keys ADD COLUMN activates_at timestamptz;
--> statement-breakpoint
UPDATE signing_keys SET activates_at = created_at;
--> statement-breakpoint
ALTER TABLE signing_keys ALTER COLUMN activates_at SET NOT NULL, ALTER COLUMN activates_at SET DEFAULT now();
--> statement-breakpoint
ALTER TABLE signing_keys ADD COLUMN retire_after timestamptz;
