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
  -- The API request's x-request-id: what a client quotes to support, and what ties a ledger row to
  -- the answer a client received.
  request_id text NOT NULL,
  ingested_at timestamptz NOT NULL DEFAULT now(),
  -- A partitioned table's unique key must include the partition key. occurred_at is fixed when the
  -- event is created, so a redelivered event has the same pair and ON CONFLICT DO NOTHING drops it.
  PRIMARY KEY (id, occurred_at)
) PARTITION BY RANGE (occurred_at);
--> statement-breakpoint
CREATE INDEX usage_events_org_idx ON usage_events (org_id, occurred_at);
--> statement-breakpoint
-- The months the ledger has a partition for. The app inserts a month before writing events of it
-- (ON CONFLICT DO NOTHING); the trigger below creates the partition, with RLS enabled and forced
-- (no policy: a partition is read and written only through usage_events, whose policies apply).
-- Retention detaches or drops old partitions as the owner and deletes their rows here.
CREATE TABLE usage_event_months (
  month timestamptz PRIMARY KEY
);
--> statement-breakpoint
GRANT SELECT, INSERT ON usage_event_months TO vlinders_app;
--> statement-breakpoint
-- SECURITY DEFINER because only the table's owner may add partitions, and the ingester runs as the
-- app role; a trigger function, so nobody calls it directly (EXECUTE revoked), and it only ever
-- creates the partition of the month inserted.
CREATE FUNCTION usage_events_add_partition() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET TimeZone = 'UTC'
AS $$
DECLARE
  starts timestamptz := date_trunc('month', NEW.month);
  name text := format('usage_events_%s', to_char(date_trunc('month', NEW.month), 'YYYY_MM'));
BEGIN
  IF to_regclass(format('public.%I', name)) IS NULL THEN
    EXECUTE format('CREATE TABLE public.%I PARTITION OF public.usage_events FOR VALUES FROM (%L) TO (%L)',
      name, starts, starts + interval '1 month');
    EXECUTE format('ALTER TABLE public.%I ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', name);
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION usage_events_add_partition() FROM PUBLIC;
--> statement-breakpoint
CREATE TRIGGER usage_events_add_partition AFTER INSERT ON usage_event_months
  FOR EACH ROW EXECUTE FUNCTION usage_events_add_partition();
--> statement-breakpoint
-- This month and the next exist from the start.
INSERT INTO usage_event_months (month) VALUES
  (date_trunc('month', now(), 'UTC')),
  (date_trunc('month', date_trunc('month', now(), 'UTC') + interval '32 days', 'UTC'));
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
