-- Metering: the usage ledger (one row per request, partitioned by month) and hourly rollups that
-- usage queries and billing read. Written by hand like 0001_rls.sql: partitions, policies, grants.
CREATE TABLE usage_events (
  id uuid NOT NULL,
  occurred_at timestamptz NOT NULL,
  org_id uuid NOT NULL,
  team_id uuid,
  key_id uuid NOT NULL,
  model text NOT NULL,
  deployment_id text,
  prompt_tokens integer NOT NULL,
  completion_tokens integer NOT NULL,
  cached_tokens integer NOT NULL,
  estimated boolean NOT NULL,
  time_to_first_token_ms integer,
  duration_ms integer NOT NULL,
  status integer NOT NULL,
  streamed boolean NOT NULL,
  cancelled boolean NOT NULL,
  ingested_at timestamptz NOT NULL DEFAULT now(),
  -- A partitioned table's unique key must include the partition key. occurred_at is fixed when the
  -- event is created, so a redelivered event has the same pair and ON CONFLICT DO NOTHING drops it.
  PRIMARY KEY (id, occurred_at)
) PARTITION BY RANGE (occurred_at);
--> statement-breakpoint
CREATE INDEX usage_events_org_idx ON usage_events (org_id, occurred_at);
--> statement-breakpoint
-- Creates the partition of the month that contains `month` (UTC) unless it exists; returns its name.
-- SECURITY DEFINER: only the table's owner may add partitions, and the ingester runs as the app role.
-- The advisory lock makes concurrent callers (several ingesters) wait instead of racing.
CREATE FUNCTION ensure_usage_events_partition(month timestamptz) RETURNS text
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp SET TimeZone = 'UTC'
AS $$
DECLARE
  starts timestamptz := date_trunc('month', month);
  ends timestamptz := date_trunc('month', month) + interval '1 month';
  name text := format('usage_events_%s', to_char(date_trunc('month', month), 'YYYY_MM'));
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('usage_events_partitions'));
  IF to_regclass(name) IS NULL THEN
    EXECUTE format('CREATE TABLE %I PARTITION OF usage_events FOR VALUES FROM (%L) TO (%L)', name, starts, ends);
  END IF;
  RETURN name;
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION ensure_usage_events_partition(timestamptz) FROM PUBLIC;
--> statement-breakpoint
GRANT EXECUTE ON FUNCTION ensure_usage_events_partition(timestamptz) TO vlinders_app;
--> statement-breakpoint
SELECT ensure_usage_events_partition(now());
--> statement-breakpoint
SELECT ensure_usage_events_partition(date_trunc('month', now()) + interval '32 days');
--> statement-breakpoint
CREATE TABLE usage_hourly (
  org_id uuid NOT NULL,
  hour timestamptz NOT NULL,
  team_id uuid,
  key_id uuid NOT NULL,
  model text NOT NULL,
  requests bigint NOT NULL,
  errors bigint NOT NULL,
  cancelled bigint NOT NULL,
  prompt_tokens bigint NOT NULL,
  completion_tokens bigint NOT NULL,
  cached_tokens bigint NOT NULL,
  estimated bigint NOT NULL,
  -- One row per bucket; a key without a team (NULL) is one bucket too, not one per event.
  CONSTRAINT usage_hourly_bucket UNIQUE NULLS NOT DISTINCT (org_id, hour, team_id, key_id, model)
);
--> statement-breakpoint
-- The ledger is append-only for the app; rollups grow by upsert.
GRANT SELECT, INSERT ON usage_events TO vlinders_app;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON usage_hourly TO vlinders_app;
--> statement-breakpoint
ALTER TABLE usage_events ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE usage_events FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY usage_events_tenant ON usage_events USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());
--> statement-breakpoint
ALTER TABLE usage_hourly ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE usage_hourly FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY usage_hourly_tenant ON usage_hourly USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());
