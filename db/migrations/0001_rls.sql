-- Tenant isolation, written by hand. The API and workers run as members of vlinders_app, which
-- owns nothing and cannot bypass RLS; every tenant query runs after set_config('app.org_id', …, true).
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vlinders_app') THEN
    CREATE ROLE vlinders_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
END
$$;
--> statement-breakpoint
CREATE FUNCTION app_org_id() RETURNS uuid LANGUAGE sql STABLE
  AS $$ SELECT nullif(current_setting('app.org_id', true), '')::uuid $$;
--> statement-breakpoint
CREATE FUNCTION app_user_id() RETURNS uuid LANGUAGE sql STABLE
  AS $$ SELECT nullif(current_setting('app.user_id', true), '')::uuid $$;
--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO vlinders_app;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION app_org_id(), app_user_id() TO vlinders_app;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON users, refresh_tokens, signing_keys, organizations, memberships,
  teams, team_members, invitations, tenant_data_keys, outbox TO vlinders_app;
--> statement-breakpoint
GRANT SELECT, INSERT ON audit_log TO vlinders_app;
--> statement-breakpoint
GRANT USAGE ON SEQUENCE audit_log_id_seq TO vlinders_app;
--> statement-breakpoint
ALTER TABLE organizations ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE organizations FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
-- A user sees the orgs they belong to or created (to follow onboarding) even outside a tenant scope.
CREATE POLICY organizations_visible ON organizations FOR SELECT
  USING (id = app_org_id() OR created_by = app_user_id()
         OR id IN (SELECT m.org_id FROM memberships m WHERE m.user_id = app_user_id()));
--> statement-breakpoint
CREATE POLICY organizations_insert_own ON organizations FOR INSERT WITH CHECK (id = app_org_id());
--> statement-breakpoint
CREATE POLICY organizations_update_own ON organizations FOR UPDATE USING (id = app_org_id()) WITH CHECK (id = app_org_id());
--> statement-breakpoint
CREATE POLICY organizations_delete_own ON organizations FOR DELETE USING (id = app_org_id());
--> statement-breakpoint
ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE memberships FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
-- A user may list their own memberships across orgs; changes happen only inside the org's scope.
CREATE POLICY memberships_visible ON memberships FOR SELECT USING (org_id = app_org_id() OR user_id = app_user_id());
--> statement-breakpoint
CREATE POLICY memberships_insert_own ON memberships FOR INSERT WITH CHECK (org_id = app_org_id());
--> statement-breakpoint
CREATE POLICY memberships_update_own ON memberships FOR UPDATE USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());
--> statement-breakpoint
CREATE POLICY memberships_delete_own ON memberships FOR DELETE USING (org_id = app_org_id());
--> statement-breakpoint
ALTER TABLE teams ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE teams FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY teams_tenant ON teams USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());
--> statement-breakpoint
ALTER TABLE team_members ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE team_members FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY team_members_tenant ON team_members USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());
--> statement-breakpoint
ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE invitations FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY invitations_tenant ON invitations USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());
--> statement-breakpoint
ALTER TABLE tenant_data_keys ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE tenant_data_keys FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_data_keys_tenant ON tenant_data_keys USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());
--> statement-breakpoint
ALTER TABLE outbox ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE outbox FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY outbox_tenant ON outbox USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());
--> statement-breakpoint
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY audit_log_read_own ON audit_log FOR SELECT USING (org_id = app_org_id());
--> statement-breakpoint
-- Platform events (sign-up, login) carry no org and may be written from any scope.
CREATE POLICY audit_log_append ON audit_log FOR INSERT WITH CHECK (org_id IS NULL OR org_id = app_org_id());
