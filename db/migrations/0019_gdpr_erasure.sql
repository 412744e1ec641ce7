-- GDPR erasure (issue 12): an erasure is a data request of its own kind, with a grace period in
-- which it can be cancelled and a reason when a legal hold blocks it. Legal holds are the
-- operators' (a tenant reads its own). The tombstone says, per store, what an erasure did, with a
-- hash of the subject and no personal data; it outlives the rows it describes.
--
-- The rows themselves are erased by two SECURITY DEFINER functions, one per scope, so the app role
-- gains no DELETE right on the tables: each function acts only on the org of the transaction
-- (app_org_id(), set by withTenant) and returns how many rows it changed per table.
ALTER TABLE data_requests DROP CONSTRAINT data_requests_kind_known;
--> statement-breakpoint
ALTER TABLE data_requests ADD CONSTRAINT data_requests_kind_known CHECK (kind IN ('export', 'erasure'));
--> statement-breakpoint
ALTER TABLE data_requests DROP CONSTRAINT data_requests_status_known;
--> statement-breakpoint
ALTER TABLE data_requests ADD CONSTRAINT data_requests_status_known
  CHECK (status IN ('pending', 'running', 'completed', 'expired', 'failed', 'cancelled', 'blocked'));
--> statement-breakpoint
ALTER TABLE data_requests DROP CONSTRAINT data_requests_finished_when_done;
--> statement-breakpoint
ALTER TABLE data_requests ADD CONSTRAINT data_requests_finished_when_done
  CHECK ((status IN ('completed', 'expired', 'failed', 'cancelled', 'blocked')) = (finished_at IS NOT NULL));
--> statement-breakpoint
-- An erasure starts when its grace period ends (until then it can be cancelled).
ALTER TABLE data_requests ADD COLUMN grace_ends_at timestamp with time zone;
--> statement-breakpoint
ALTER TABLE data_requests ADD COLUMN blocked_reason text;
--> statement-breakpoint
CREATE TABLE legal_holds (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  -- The person the hold is about; null holds the whole organization.
  subject_user_id uuid REFERENCES users (id) ON DELETE CASCADE,
  reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
  placed_by uuid REFERENCES users (id) ON DELETE SET NULL,
  placed_at timestamp with time zone DEFAULT now() NOT NULL,
  released_at timestamp with time zone
);
--> statement-breakpoint
CREATE INDEX legal_holds_org_idx ON legal_holds (org_id) WHERE released_at IS NULL;
--> statement-breakpoint
ALTER TABLE legal_holds ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE legal_holds FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY legal_holds_tenant ON legal_holds
  USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON legal_holds TO vlinders_app;
--> statement-breakpoint
CREATE TABLE erasure_tombstones (
  request_id uuid PRIMARY KEY,
  -- No foreign keys: the tombstone is kept whatever happens to the rows it describes.
  org_id uuid NOT NULL,
  scope text NOT NULL CHECK (scope IN ('person', 'organization')),
  -- SHA-256 of the subject's id (core/data-requests.ts erasureSubject): proves which subject was
  -- erased to whoever already knows the id, and names no one to anyone else.
  subject_sha256 text NOT NULL CHECK (subject_sha256 ~ '^[0-9a-f]{64}$'),
  -- Per store: what was done ('erased', 'anonymised', 'kept', 'none') and how much.
  stores jsonb NOT NULL,
  erased_at timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE erasure_tombstones ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE erasure_tombstones FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY erasure_tombstones_tenant ON erasure_tombstones
  USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());
--> statement-breakpoint
GRANT SELECT, INSERT ON erasure_tombstones TO vlinders_app;
--> statement-breakpoint
-- The organization's rows: what names or describes people and the org is deleted; the org row is
-- anonymised; what tax law keeps (billing accounts and reports, usage rollups and events, whose key
-- and team ids no longer point at anything) and the append-only audit log stay.
CREATE FUNCTION erase_organization_rows(p_org uuid) RETURNS jsonb
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  counts jsonb := '{}'::jsonb;
  n bigint;
BEGIN
  IF p_org IS NULL OR p_org IS DISTINCT FROM app_org_id() THEN
    RAISE EXCEPTION 'erase_organization_rows: % is not the org of this transaction', p_org;
  END IF;
  DELETE FROM sso_logins WHERE org_id = p_org;
  DELETE FROM sso_identities WHERE org_id = p_org;
  GET DIAGNOSTICS n = ROW_COUNT; counts := counts || jsonb_build_object('sso_identities', n);
  DELETE FROM sso_connections WHERE org_id = p_org;
  DELETE FROM oauth_clients WHERE org_id = p_org;
  GET DIAGNOSTICS n = ROW_COUNT; counts := counts || jsonb_build_object('oauth_clients', n);
  -- The tokens and grants of its OAuth clients (client ids are vlc_<org id without dashes>_…).
  DELETE FROM oidc_payloads WHERE payload ->> 'clientId' LIKE 'vlc\_' || replace(p_org::text, '-', '') || '\_%';
  GET DIAGNOSTICS n = ROW_COUNT; counts := counts || jsonb_build_object('oauth_tokens', n);
  DELETE FROM api_keys WHERE org_id = p_org;
  GET DIAGNOSTICS n = ROW_COUNT; counts := counts || jsonb_build_object('api_keys', n);
  DELETE FROM team_members WHERE org_id = p_org;
  DELETE FROM teams WHERE org_id = p_org;
  GET DIAGNOSTICS n = ROW_COUNT; counts := counts || jsonb_build_object('teams', n);
  DELETE FROM invitations WHERE org_id = p_org;
  GET DIAGNOSTICS n = ROW_COUNT; counts := counts || jsonb_build_object('invitations', n);
  DELETE FROM memberships WHERE org_id = p_org;
  GET DIAGNOSTICS n = ROW_COUNT; counts := counts || jsonb_build_object('memberships', n);
  DELETE FROM outbox WHERE org_id = p_org;
  GET DIAGNOSTICS n = ROW_COUNT; counts := counts || jsonb_build_object('outbox', n);
  DELETE FROM quota_notices WHERE org_id = p_org;
  DELETE FROM legal_holds WHERE org_id = p_org AND released_at IS NOT NULL;
  UPDATE data_requests SET subject_user_id = NULL, requested_by = NULL WHERE org_id = p_org;
  UPDATE organizations
     SET name = 'Erased organization', slug = 'erased-' || id::text, settings = '{}'::jsonb,
         status = 'erased'
   WHERE id = p_org;
  GET DIAGNOSTICS n = ROW_COUNT; counts := counts || jsonb_build_object('organizations', n);
  RETURN counts;
END
$$;
--> statement-breakpoint
-- A person's rows in this organization: memberships, team memberships, SSO identities and the
-- invitations sent to them are deleted; the keys they created are revoked and renamed (they are the
-- org's); requests about them lose the link. Their account (users row, refresh tokens, sign-in
-- sessions) is anonymised only when no other organization has them as a member: it is theirs there
-- too. Ids stay where other rows point at them, and name no one once the account is anonymised.
CREATE FUNCTION erase_person_rows(p_org uuid, p_user uuid) RETURNS jsonb
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  counts jsonb := '{}'::jsonb;
  n bigint;
  v_email text;
BEGIN
  IF p_org IS NULL OR p_org IS DISTINCT FROM app_org_id() THEN
    RAISE EXCEPTION 'erase_person_rows: % is not the org of this transaction', p_org;
  END IF;
  SELECT email INTO v_email FROM users WHERE id = p_user;
  DELETE FROM team_members WHERE org_id = p_org AND user_id = p_user;
  GET DIAGNOSTICS n = ROW_COUNT; counts := counts || jsonb_build_object('team_members', n);
  DELETE FROM memberships WHERE org_id = p_org AND user_id = p_user;
  GET DIAGNOSTICS n = ROW_COUNT; counts := counts || jsonb_build_object('memberships', n);
  DELETE FROM sso_identities WHERE org_id = p_org AND user_id = p_user;
  GET DIAGNOSTICS n = ROW_COUNT; counts := counts || jsonb_build_object('sso_identities', n);
  DELETE FROM invitations WHERE org_id = p_org AND lower(email) = lower(v_email);
  GET DIAGNOSTICS n = ROW_COUNT; counts := counts || jsonb_build_object('invitations', n);
  DELETE FROM outbox WHERE org_id = p_org AND strpos(lower(payload::text), lower(v_email)) > 0;
  GET DIAGNOSTICS n = ROW_COUNT; counts := counts || jsonb_build_object('outbox', n);
  UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()), name = 'key of an erased member'
   WHERE org_id = p_org AND created_by = p_user
     AND (revoked_at IS NULL OR name <> 'key of an erased member');
  GET DIAGNOSTICS n = ROW_COUNT; counts := counts || jsonb_build_object('api_keys', n);
  DELETE FROM legal_holds WHERE org_id = p_org AND subject_user_id = p_user AND released_at IS NOT NULL;
  UPDATE data_requests SET subject_user_id = NULL WHERE org_id = p_org AND subject_user_id = p_user;
  UPDATE data_requests SET requested_by = NULL WHERE org_id = p_org AND requested_by = p_user;
  -- (An account anonymised before, by an earlier erasure, is left as it is.)
  IF v_email IS NOT NULL AND v_email <> 'erased-' || p_user::text || '@erased.invalid'
     AND NOT EXISTS (SELECT 1 FROM memberships WHERE user_id = p_user) THEN
    DELETE FROM refresh_tokens WHERE user_id = p_user;
    DELETE FROM oidc_payloads WHERE payload ->> 'accountId' = p_user::text;
    UPDATE users
       SET email = 'erased-' || id::text || '@erased.invalid', display_name = 'Erased user',
           password_hash = '!erased', platform_role = NULL
     WHERE id = p_user;
    counts := counts || jsonb_build_object('account', 1);
  ELSE
    counts := counts || jsonb_build_object('account', 0);
  END IF;
  RETURN counts;
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION erase_organization_rows(uuid), erase_person_rows(uuid, uuid) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION erase_organization_rows(uuid), erase_person_rows(uuid, uuid) TO vlinders_app;
