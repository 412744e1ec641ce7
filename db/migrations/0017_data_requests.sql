-- Data-subject requests (issue 12): a GDPR export of one person's data in an org, or of the whole
-- org. The row is what the workflow (`gdpr-export/<id>`) records its progress in, with the law's
-- deadline (30 days from the request) and when it finished, and where the archive lives until it
-- expires. Tenant-owned: RLS by org like every tenant table.
CREATE TABLE data_requests (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  kind text NOT NULL,
  -- The person whose data it is; null when the request is for the whole organization.
  subject_user_id uuid REFERENCES users (id) ON DELETE SET NULL,
  scope text NOT NULL,
  requested_by uuid REFERENCES users (id) ON DELETE SET NULL,
  status text DEFAULT 'pending' NOT NULL,
  requested_at timestamp with time zone DEFAULT now() NOT NULL,
  due_at timestamp with time zone NOT NULL,
  -- Set when the deadline passed before the request finished (the workflow's timer), kept after.
  overdue_at timestamp with time zone,
  finished_at timestamp with time zone,
  -- The export's archive: the folder of its parts under the tenant's objects, its manifest's hash.
  archive_prefix text,
  manifest_sha256 text,
  archive_expires_at timestamp with time zone,
  CONSTRAINT data_requests_kind_known CHECK (kind IN ('export')),
  CONSTRAINT data_requests_scope_known CHECK (scope IN ('person', 'organization')),
  CONSTRAINT data_requests_status_known CHECK (status IN ('pending', 'running', 'completed', 'expired')),
  CONSTRAINT data_requests_finished_when_done CHECK ((status IN ('completed', 'expired')) = (finished_at IS NOT NULL))
);
--> statement-breakpoint
CREATE INDEX data_requests_org_idx ON data_requests (org_id, requested_at);
--> statement-breakpoint
ALTER TABLE data_requests ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE data_requests FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY data_requests_tenant ON data_requests
  USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON data_requests TO vlinders_app;
