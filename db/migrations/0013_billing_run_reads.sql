-- The billing run's cross-tenant reads, read-only, like billing_accounts_billing_run in
-- 0011_billing.sql: with set_config('app.billing_run', 'on', true) a transaction may read every
-- tenant's rollups and billing reports. The run finishes by totalling the window's reports, and the
-- operators' reconciliation report (GET /api/admin/billing/reconciliation) compares rollups with
-- reports across tenants. Writes still need the tenant's own scope (withTenant).
CREATE POLICY usage_hourly_billing_run ON usage_hourly FOR SELECT
  USING (current_setting('app.billing_run', true) = 'on');
--> statement-breakpoint
CREATE POLICY billing_reports_billing_run ON billing_reports FOR SELECT
  USING (current_setting('app.billing_run', true) = 'on');
--> statement-breakpoint
-- The run totals a window's reports and the reconciliation reads windows across tenants.
CREATE INDEX billing_reports_window_idx ON billing_reports (window_start);
