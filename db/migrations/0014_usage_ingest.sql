-- The trusted usage ingest path: one statement stores a batch of usage events of many orgs and adds
-- the rows actually inserted to the hourly rollups (docs/metering.md). Row-level security binds one
-- org per statement, so the app role cannot do this itself; usage_ingest() runs as vlinders_ingest,
-- a role no login is a member of, whose policies allow it to write (and, for RETURNING and the
-- rollup upsert, to see) every org's usage rows. The function only inserts what it is given and
-- returns a count, so nothing read through it reaches the caller. Tenant policies are unchanged.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'vlinders_ingest') THEN
    CREATE ROLE vlinders_ingest NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
  END IF;
END
$$;
--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO vlinders_ingest;
--> statement-breakpoint
GRANT SELECT, INSERT ON usage_events TO vlinders_ingest;
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON usage_hourly TO vlinders_ingest;
--> statement-breakpoint
-- SELECT because INSERT … RETURNING checks the new rows against SELECT policies, and ON CONFLICT DO
-- UPDATE checks the existing rollup row against them.
CREATE POLICY usage_events_ingest_insert ON usage_events FOR INSERT TO vlinders_ingest WITH CHECK (true);
--> statement-breakpoint
CREATE POLICY usage_events_ingest_select ON usage_events FOR SELECT TO vlinders_ingest USING (true);
--> statement-breakpoint
CREATE POLICY usage_hourly_ingest_insert ON usage_hourly FOR INSERT TO vlinders_ingest WITH CHECK (true);
--> statement-breakpoint
CREATE POLICY usage_hourly_ingest_select ON usage_hourly FOR SELECT TO vlinders_ingest USING (true);
--> statement-breakpoint
CREATE POLICY usage_hourly_ingest_update ON usage_hourly FOR UPDATE TO vlinders_ingest
  USING (true) WITH CHECK (true);
--> statement-breakpoint
-- One array per column, an element per event, in this order: id, occurred_at, org_id, team_id,
-- key_id, model, deployment_id, prompt_tokens, completion_tokens, cached_tokens, estimated,
-- time_to_first_token_ms, duration_ms, status, streamed, cancelled, request_id. Returns how many
-- events were new. Parameters are positional so that no name shadows a column in the body.
-- The rollup rows are upserted in key order, so concurrent ingesters lock shared buckets in the same
-- order and do not deadlock.
CREATE FUNCTION usage_ingest(uuid[], timestamptz[], uuid[], uuid[], uuid[], text[], text[], integer[],
    integer[], integer[], boolean[], integer[], integer[], integer[], boolean[], boolean[], text[])
  RETURNS integer
  LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
  WITH inserted AS (
    INSERT INTO public.usage_events (id, occurred_at, org_id, team_id, key_id, model, deployment_id,
      prompt_tokens, completion_tokens, cached_tokens, estimated, time_to_first_token_ms, duration_ms,
      status, streamed, cancelled, request_id)
    SELECT * FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
    ON CONFLICT DO NOTHING
    RETURNING org_id, occurred_at, team_id, key_id, model, prompt_tokens, completion_tokens,
      cached_tokens, estimated, status, cancelled
  ),
  rolled_up AS (
    INSERT INTO public.usage_hourly AS h (org_id, hour, team_id, key_id, model, requests, errors,
      cancelled, prompt_tokens, completion_tokens, cached_tokens, estimated)
    SELECT org_id, date_trunc('hour', occurred_at, 'UTC'), team_id, key_id, model, count(*),
      count(*) FILTER (WHERE status >= 400), count(*) FILTER (WHERE cancelled), sum(prompt_tokens),
      sum(completion_tokens), sum(cached_tokens), count(*) FILTER (WHERE estimated)
    FROM inserted
    GROUP BY 1, 2, 3, 4, 5
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (org_id, hour, team_id, key_id, model) DO UPDATE SET
      requests = h.requests + excluded.requests,
      errors = h.errors + excluded.errors,
      cancelled = h.cancelled + excluded.cancelled,
      prompt_tokens = h.prompt_tokens + excluded.prompt_tokens,
      completion_tokens = h.completion_tokens + excluded.completion_tokens,
      cached_tokens = h.cached_tokens + excluded.cached_tokens,
      estimated = h.estimated + excluded.estimated
  )
  SELECT count(*)::integer FROM inserted
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION usage_ingest(uuid[], timestamptz[], uuid[], uuid[], uuid[], text[], text[],
    integer[], integer[], integer[], boolean[], integer[], integer[], integer[], boolean[], boolean[],
    text[]) FROM PUBLIC;
--> statement-breakpoint
-- The API (usage written without Redis) and the usage-ingest worker both connect as members of
-- vlinders_app. The app role could already write any org's usage by binding that org first; what
-- it gains is one statement for many orgs, not a way to read them.
GRANT EXECUTE ON FUNCTION usage_ingest(uuid[], timestamptz[], uuid[], uuid[], uuid[], text[], text[],
    integer[], integer[], integer[], boolean[], integer[], integer[], integer[], boolean[], boolean[],
    text[]) TO vlinders_app;
--> statement-breakpoint
-- Last, once the grants above are in place (after the change only the new owner may change them):
-- only a superuser or a member of the new owner may hand the function over, and the new owner
-- needs CREATE on the schema at that moment: granted for the change and taken back, so that a
-- migrator that is not a superuser can run this too. Neither grant outlives the migration.
GRANT CREATE ON SCHEMA public TO vlinders_ingest;
--> statement-breakpoint
GRANT vlinders_ingest TO CURRENT_USER;
--> statement-breakpoint
ALTER FUNCTION usage_ingest(uuid[], timestamptz[], uuid[], uuid[], uuid[], text[], text[], integer[],
    integer[], integer[], boolean[], integer[], integer[], integer[], boolean[], boolean[], text[])
  OWNER TO vlinders_ingest;
--> statement-breakpoint
REVOKE vlinders_ingest FROM CURRENT_USER;
--> statement-breakpoint
REVOKE CREATE ON SCHEMA public FROM vlinders_ingest;
