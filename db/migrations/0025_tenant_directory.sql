-- The operators' tenant directory (GET /api/admin/orgs) counts every tenant's members. Like the
-- organizations and rollups (0013_billing_run_reads.sql, 0021_gpu_allocations.sql), memberships are
-- readable, read-only, in a transaction of the billing run or the operators' reports
-- (set_config('app.billing_run', 'on', true)); writes still need the tenant's own scope.
CREATE POLICY memberships_billing_run ON memberships FOR SELECT
  USING (current_setting('app.billing_run', true) = 'on');
