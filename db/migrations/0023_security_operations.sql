-- Operations that need to see across tenants without bypassing row-level security (issue 14 §4, §5).
--
-- The re-wrap after a master-key rotation (npm run secrets:rewrap, runtime/rewrap.ts) runs as
-- vlinders_rewrap: a role that no login is born a member of (an operator grants it to the login
-- they run the command with) and that bypasses nothing. It may read each wrapped column of
-- runtime/wrapped-columns.ts with the columns that identify the row and bind its associated data,
-- and update the wrapped column only: no other column, no insert or delete, no other table (usage,
-- users' password hashes, refresh tokens). Its policies let it, and only it, see every tenant's rows
-- of the wrapped tables; the app role's tenant policies are unchanged.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vlinders_rewrap') THEN
    CREATE ROLE vlinders_rewrap NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
END
$$;
--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO vlinders_rewrap;
--> statement-breakpoint
GRANT SELECT (org_id, wrapped_key), UPDATE (wrapped_key) ON tenant_data_keys TO vlinders_rewrap;
--> statement-breakpoint
GRANT SELECT (kid, wrapped_private_jwk), UPDATE (wrapped_private_jwk) ON signing_keys TO vlinders_rewrap;
--> statement-breakpoint
GRANT SELECT (name, wrapped_value), UPDATE (wrapped_value) ON platform_secrets TO vlinders_rewrap;
--> statement-breakpoint
GRANT SELECT (client_id, wrapped_secret), UPDATE (wrapped_secret) ON oauth_clients TO vlinders_rewrap;
--> statement-breakpoint
GRANT SELECT (id, org_id, client_secret_wrapped), UPDATE (client_secret_wrapped) ON sso_connections TO vlinders_rewrap;
--> statement-breakpoint
GRANT SELECT (id, state_hash, code_verifier_wrapped), UPDATE (code_verifier_wrapped) ON sso_logins TO vlinders_rewrap;
--> statement-breakpoint
GRANT SELECT (id, deployment_id, wrapped_key), UPDATE (wrapped_key) ON deployment_credentials TO vlinders_rewrap;
--> statement-breakpoint
-- A change to deployment_credentials bumps the registry revision (its trigger runs with the
-- changing role's rights), so replicas reload the re-wrapped key like any registry change.
GRANT SELECT (revision), UPDATE (revision) ON model_registry_revision TO vlinders_rewrap;
--> statement-breakpoint
-- The run's platform audit entry (org_id null: audit_log_append allows nothing else without a scope;
-- the table is append-only and the chain trigger sets id and hashes). Every column, as drizzle's
-- insert names them all.
GRANT INSERT ON audit_log TO vlinders_rewrap;
--> statement-breakpoint
GRANT USAGE ON SEQUENCE audit_log_id_seq TO vlinders_rewrap;
--> statement-breakpoint
CREATE POLICY tenant_data_keys_rewrap_read ON tenant_data_keys FOR SELECT TO vlinders_rewrap USING (true);
--> statement-breakpoint
CREATE POLICY tenant_data_keys_rewrap ON tenant_data_keys FOR UPDATE TO vlinders_rewrap USING (true) WITH CHECK (true);
--> statement-breakpoint
CREATE POLICY oauth_clients_rewrap_read ON oauth_clients FOR SELECT TO vlinders_rewrap USING (true);
--> statement-breakpoint
CREATE POLICY oauth_clients_rewrap ON oauth_clients FOR UPDATE TO vlinders_rewrap USING (true) WITH CHECK (true);
--> statement-breakpoint
CREATE POLICY sso_connections_rewrap_read ON sso_connections FOR SELECT TO vlinders_rewrap USING (true);
--> statement-breakpoint
CREATE POLICY sso_connections_rewrap ON sso_connections FOR UPDATE TO vlinders_rewrap USING (true) WITH CHECK (true);
--> statement-breakpoint
CREATE POLICY sso_logins_rewrap_read ON sso_logins FOR SELECT TO vlinders_rewrap USING (true);
--> statement-breakpoint
CREATE POLICY sso_logins_rewrap ON sso_logins FOR UPDATE TO vlinders_rewrap USING (true) WITH CHECK (true);
--> statement-breakpoint
-- The daily verification of every org's audit chain (workflows/audit-verification.ts) lists the
-- orgs that have a chain: with set_config('app.audit_verification', 'on', true) a transaction may
-- read every org's chain head (an id and a hash, nothing of the entries), read-only. Each chain is
-- then read and verified in its own org's scope, under the tenant policies.
CREATE POLICY audit_chain_heads_verification ON audit_chain_heads FOR SELECT
  USING (current_setting('app.audit_verification', true) = 'on');
