-- The built-in OAuth 2.0 / OpenID Connect server (oidc-provider). Two tables:
--
-- oidc_payloads: what oidc-provider persists through its adapter (sessions, interactions, grants,
-- authorization codes, refresh tokens, …), one row per model and id. Not a tenant table: the
-- provider looks rows up by opaque ids before any org is known; only the app role reads it.
-- Expired rows are never answered and are deleted on the way.
--
-- oauth_clients: clients registered by an org's managers. Tenant-owned (RLS like 0001/0003); the
-- client_id carries the org id (vlc_<org uuid hex>_<random>), so the provider's lookup by client_id
-- runs inside that org's scope.
CREATE TABLE oidc_payloads (
  model text NOT NULL,
  id text NOT NULL,
  payload jsonb NOT NULL,
  grant_id text,
  user_code text,
  uid text,
  expires_at timestamp with time zone,
  consumed_at timestamp with time zone,
  PRIMARY KEY (model, id)
);
--> statement-breakpoint
CREATE INDEX oidc_payloads_grant_idx ON oidc_payloads (grant_id) WHERE grant_id IS NOT NULL;
--> statement-breakpoint
CREATE INDEX oidc_payloads_uid_idx ON oidc_payloads (uid) WHERE uid IS NOT NULL;
--> statement-breakpoint
CREATE INDEX oidc_payloads_user_code_idx ON oidc_payloads (user_code) WHERE user_code IS NOT NULL;
--> statement-breakpoint
CREATE INDEX oidc_payloads_expires_idx ON oidc_payloads (expires_at) WHERE expires_at IS NOT NULL;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON oidc_payloads TO vlinders_app;
--> statement-breakpoint
CREATE TABLE oauth_clients (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  client_id text NOT NULL,
  name text NOT NULL,
  wrapped_secret text NOT NULL,
  grant_types text[] NOT NULL,
  redirect_uris text[] NOT NULL DEFAULT '{}',
  scopes text[] NOT NULL,
  created_by uuid NOT NULL REFERENCES users (id),
  revoked_at timestamp with time zone,
  created_at timestamp with time zone DEFAULT now() NOT NULL,
  CONSTRAINT oauth_clients_grant_types_known CHECK (
    cardinality(grant_types) > 0
    AND grant_types <@ ARRAY['authorization_code','refresh_token','client_credentials']::text[]),
  CONSTRAINT oauth_clients_scopes_known CHECK (
    scopes <@ ARRAY['inference','models:read','usage:read','admin']::text[])
);
--> statement-breakpoint
CREATE UNIQUE INDEX oauth_clients_client_id_key ON oauth_clients (client_id);
--> statement-breakpoint
CREATE INDEX oauth_clients_org_idx ON oauth_clients (org_id);
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON oauth_clients TO vlinders_app;
--> statement-breakpoint
ALTER TABLE oauth_clients ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE oauth_clients FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY oauth_clients_tenant ON oauth_clients USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());
