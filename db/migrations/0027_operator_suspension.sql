-- A platform operator's suspension of a tenant, written with the entitlements by the tenant's
-- subscription workflow (which owns it: operatorSuspend / operatorResume updates). The account's
-- status stays the billing status; organizations.subscription_status is what the gateway enforces
-- (suspended while this is set). Kept here so a lifecycle restarted from the account keeps it.
ALTER TABLE billing_accounts ADD COLUMN operator_suspended_at timestamp with time zone;
--> statement-breakpoint
ALTER TABLE billing_accounts ADD COLUMN operator_suspended_by uuid;
--> statement-breakpoint
ALTER TABLE billing_accounts ADD COLUMN operator_suspension_reason text;
--> statement-breakpoint
ALTER TABLE billing_accounts ADD CONSTRAINT billing_accounts_operator_suspension_whole CHECK (
  (operator_suspended_at IS NULL) = (operator_suspended_by IS NULL)
  AND (operator_suspended_at IS NULL) = (operator_suspension_reason IS NULL)
);
