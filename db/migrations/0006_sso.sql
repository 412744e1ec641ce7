-- Single sign-on with an org's external OIDC identity provider, written by hand. Three tenant
-- tables, RLS enabled and forced: the connection (one per org), the external subjects linked to
-- platform users, and the one-time state of sign-ins in progress.
CREATE TABLE "sso_connections" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL REFERENCES "organizations"("id") ON DELETE cascade,
	"issuer" text NOT NULL,
	"client_id" text NOT NULL,
	"client_secret_wrapped" text NOT NULL,
	"allowed_domains" text[] NOT NULL,
	"role_mapping" jsonb NOT NULL,
	"audience" text,
	"metadata" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "sso_connections_domains_present" CHECK (cardinality("allowed_domains") > 0)
);
--> statement-breakpoint
CREATE UNIQUE INDEX "sso_connections_org_key" ON "sso_connections" USING btree ("org_id");
--> statement-breakpoint
-- A bearer token names its issuer and audience; at most one connection may accept that pair.
CREATE UNIQUE INDEX "sso_connections_issuer_audience_key" ON "sso_connections" USING btree ("issuer", (coalesce("audience", "client_id")));
--> statement-breakpoint
CREATE TABLE "sso_identities" (
	"connection_id" uuid NOT NULL REFERENCES "sso_connections"("id") ON DELETE cascade,
	"subject" text NOT NULL,
	"org_id" uuid NOT NULL REFERENCES "organizations"("id") ON DELETE cascade,
	"user_id" uuid NOT NULL REFERENCES "users"("id") ON DELETE cascade,
	"email" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_login_at" timestamp with time zone DEFAULT now() NOT NULL,
	PRIMARY KEY ("connection_id", "subject")
);
--> statement-breakpoint
CREATE INDEX "sso_identities_org_idx" ON "sso_identities" USING btree ("org_id");
--> statement-breakpoint
CREATE INDEX "sso_identities_user_idx" ON "sso_identities" USING btree ("user_id");
--> statement-breakpoint
CREATE TABLE "sso_logins" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"org_id" uuid NOT NULL REFERENCES "organizations"("id") ON DELETE cascade,
	"connection_id" uuid NOT NULL REFERENCES "sso_connections"("id") ON DELETE cascade,
	"state_hash" text NOT NULL,
	"nonce" text NOT NULL,
	"code_verifier_wrapped" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX "sso_logins_state_key" ON "sso_logins" USING btree ("state_hash");
--> statement-breakpoint
CREATE INDEX "sso_logins_org_idx" ON "sso_logins" USING btree ("org_id");
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON sso_connections, sso_identities TO vlinders_app;
--> statement-breakpoint
GRANT SELECT, INSERT, DELETE ON sso_logins TO vlinders_app;
--> statement-breakpoint
ALTER TABLE sso_connections ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE sso_connections FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY sso_connections_tenant ON sso_connections USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());
--> statement-breakpoint
-- A bearer token's issuer is known before its tenant: the verifier binds it with
-- set_config('app.sso_issuer', $1, true) and may then read the connections of that issuer (never write).
CREATE POLICY sso_connections_lookup_by_issuer ON sso_connections FOR SELECT
  USING (issuer = nullif(current_setting('app.sso_issuer', true), ''));
--> statement-breakpoint
ALTER TABLE sso_identities ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE sso_identities FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY sso_identities_tenant ON sso_identities USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());
--> statement-breakpoint
ALTER TABLE sso_logins ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE sso_logins FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY sso_logins_tenant ON sso_logins USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());
--> statement-breakpoint
-- The callback knows only the state: binding its hash with set_config('app.sso_state_hash', $1, true)
-- shows that one row, to learn its org (the row is then deleted inside the org's scope).
CREATE POLICY sso_logins_lookup_by_state ON sso_logins FOR SELECT
  USING (state_hash = nullif(current_setting('app.sso_state_hash', true), ''));
