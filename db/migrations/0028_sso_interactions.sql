-- Single sign-on into the built-in authorization server (api/identity/oidc/interaction-routes.ts):
-- the login page names an org by its slug, the sign-in through the org's identity provider carries
-- the interaction's uid in its server-side row, and the callback hands the browser back to the
-- interaction with a one-time ticket (the interaction's cookie is scoped to its own path).
ALTER TABLE sso_logins ADD COLUMN interaction_uid text;
--> statement-breakpoint
CREATE TABLE "sso_interaction_tickets" (
	"ticket_hash" text PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL REFERENCES "organizations"("id") ON DELETE cascade,
	"interaction_uid" text NOT NULL,
	"user_id" uuid NOT NULL REFERENCES "users"("id") ON DELETE cascade,
	"expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "sso_interaction_tickets_org_idx" ON "sso_interaction_tickets" USING btree ("org_id");
--> statement-breakpoint
CREATE INDEX "sso_interaction_tickets_user_idx" ON "sso_interaction_tickets" USING btree ("user_id");
--> statement-breakpoint
GRANT SELECT, INSERT, DELETE ON sso_interaction_tickets TO vlinders_app;
--> statement-breakpoint
ALTER TABLE sso_interaction_tickets ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE sso_interaction_tickets FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY sso_interaction_tickets_tenant ON sso_interaction_tickets
  USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());
--> statement-breakpoint
-- The interaction page knows only the ticket: binding its hash with
-- set_config('app.sso_ticket_hash', $1, true) shows that one row, to learn its org (the row is then
-- deleted inside the org's scope), as sso_logins_lookup_by_state does for the callback.
CREATE POLICY sso_interaction_tickets_lookup_by_hash ON sso_interaction_tickets FOR SELECT
  USING (ticket_hash = nullif(current_setting('app.sso_ticket_hash', true), ''));
--> statement-breakpoint
-- The login page knows only the slug a person typed: binding it with
-- set_config('app.org_slug', $1, true) shows that one organization (read-only), to start its sign-in.
CREATE POLICY organizations_lookup_by_slug ON organizations FOR SELECT
  USING (slug = nullif(current_setting('app.org_slug', true), ''));
