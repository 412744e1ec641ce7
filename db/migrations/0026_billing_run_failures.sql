-- A billing run records how many tenants it could not bill (their usage waits for the next run), so
-- the operators' list of runs (GET /api/admin/billing/runs) can show an incomplete one. Null: a run
-- recorded before this column, or not finished.
ALTER TABLE billing_runs ADD COLUMN failed_tenants integer;
