-- Email verification and password reset (issue 14 §2). A user's address counts as theirs only once
-- they used a link mailed to it: email_verified_at is set by that link (or by a password reset, which
-- proves the same mailbox). Accounts that existed before this migration could already sign in, so
-- they count as verified from their creation; docs/security.md says what that leaves open.
ALTER TABLE users ADD COLUMN email_verified_at timestamp with time zone;
--> statement-breakpoint
UPDATE users SET email_verified_at = created_at;
--> statement-breakpoint
-- One-time tokens mailed to a user: verify the address, or reset the password. Stored as SHA-256
-- hashes, single-use (used_at), short-lived (expires_at). Global like users (no org, no RLS).
CREATE TABLE email_tokens (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  purpose text NOT NULL,
  token_hash text NOT NULL,
  expires_at timestamp with time zone NOT NULL,
  used_at timestamp with time zone,
  created_at timestamp with time zone NOT NULL DEFAULT now(),
  CONSTRAINT email_tokens_purpose_check CHECK (purpose IN ('verify_email', 'reset_password'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX email_tokens_hash_key ON email_tokens (token_hash);
--> statement-breakpoint
CREATE INDEX email_tokens_user_idx ON email_tokens (user_id);
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON email_tokens TO vlinders_app;
--> statement-breakpoint
-- Account mail (verification, reset) belongs to no org: such rows have no org_id and are seen only
-- outside a tenant scope, so no tenant transaction reads or writes another person's account mail.
ALTER TABLE outbox ALTER COLUMN org_id DROP NOT NULL;
--> statement-breakpoint
CREATE POLICY outbox_account_mail ON outbox
  USING (org_id IS NULL AND app_org_id() IS NULL)
  WITH CHECK (org_id IS NULL AND app_org_id() IS NULL);
