-- API keys: tenant-owned, RLS enabled and forced, written by hand like 0001_rls.sql.
GRANT SELECT, INSERT, UPDATE ON api_keys TO vlinders_app;
--> statement-breakpoint
ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY api_keys_tenant ON api_keys USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());
--> statement-breakpoint
-- Verification happens before the tenant is known: the verifier binds the presented key's prefix
-- with set_config('app.api_key_prefix', $1, true) and may then read that one row (never write).
CREATE POLICY api_keys_lookup_by_prefix ON api_keys FOR SELECT
  USING (prefix = nullif(current_setting('app.api_key_prefix', true), ''));
