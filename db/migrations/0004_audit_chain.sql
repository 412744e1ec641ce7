-- Tamper-evident audit log: a SHA-256 hash chain per org (platform rows, org_id null, form their
-- own chain), computed by the database so concurrent writers still form one unbroken chain, and
-- an append-only guard that refuses UPDATE, DELETE and TRUNCATE for every role.
--
-- hash = sha256(prev_hash || utf8(canonical row)); the first row of a chain has prev_hash = 32 zero
-- bytes. The canonical row is defined once more, in TypeScript, by core/audit-chain.ts (the
-- verifier recomputes with it); both definitions must stay byte-identical:
--   ["vlinders.audit.v1",<id>,<org_id>,<actor_id>,<action>,<target_type>,<target_id>,<ip>,<details>,<created_at>]
-- with no whitespace; every text value a JSON string (null when absent), id a JSON number, ip the
-- inet's text, details canonical JSON (object keys sorted by code point, no whitespace, numbers as
-- plain decimals without trailing zeros), created_at 'YYYY-MM-DDTHH:MM:SS.ffffffZ' in UTC.
--
-- prev_hash and hash are not declared in db/schema/audit.ts on purpose: no writer can set them;
-- the trigger always does.
ALTER TABLE audit_log ADD COLUMN prev_hash bytea;
--> statement-breakpoint
ALTER TABLE audit_log ADD COLUMN hash bytea;
--> statement-breakpoint
CREATE INDEX audit_log_chain_idx ON audit_log (org_id, id);
--> statement-breakpoint
-- The head (last id and hash) of every chain, written only by the trigger. It also lets the
-- verifier notice rows cut off the end of a chain. Tenants may read their own head.
CREATE TABLE audit_chain_heads (
  org_id uuid,
  last_id bigint NOT NULL,
  last_hash bytea NOT NULL,
  CONSTRAINT audit_chain_heads_org_unique UNIQUE NULLS NOT DISTINCT (org_id)
);
--> statement-breakpoint
GRANT SELECT ON audit_chain_heads TO vlinders_app;
--> statement-breakpoint
ALTER TABLE audit_chain_heads ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE audit_chain_heads FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY audit_chain_heads_read_own ON audit_chain_heads FOR SELECT USING (org_id = app_org_id());
--> statement-breakpoint
CREATE FUNCTION audit_canonical_json(v jsonb) RETURNS text
  LANGUAGE plpgsql IMMUTABLE STRICT SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  out text;
BEGIN
  CASE jsonb_typeof(v)
    WHEN 'object' THEN
      SELECT '{' || coalesce(string_agg(to_jsonb(e.key)::text || ':' || public.audit_canonical_json(e.value), ','
                                        ORDER BY e.key COLLATE "C"), '') || '}'
        INTO out FROM jsonb_each(v) AS e;
    WHEN 'array' THEN
      SELECT '[' || coalesce(string_agg(public.audit_canonical_json(e.value), ',' ORDER BY e.ord), '') || ']'
        INTO out FROM jsonb_array_elements(v) WITH ORDINALITY AS e(value, ord);
    WHEN 'number' THEN
      out := trim_scale((v #>> '{}')::numeric)::text;
    ELSE
      out := v::text;
  END CASE;
  RETURN out;
END
$$;
--> statement-breakpoint
CREATE FUNCTION audit_canonical_row(
  p_id bigint, p_org_id uuid, p_actor_id uuid, p_action text, p_target_type text, p_target_id text,
  p_ip inet, p_details jsonb, p_created_at timestamptz
) RETURNS text
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
  SELECT '["vlinders.audit.v1",' || p_id::text
    || ',' || coalesce(to_jsonb(p_org_id::text)::text, 'null')
    || ',' || coalesce(to_jsonb(p_actor_id::text)::text, 'null')
    || ',' || coalesce(to_jsonb(p_action)::text, 'null')
    || ',' || coalesce(to_jsonb(p_target_type)::text, 'null')
    || ',' || coalesce(to_jsonb(p_target_id)::text, 'null')
    || ',' || coalesce(to_jsonb(p_ip::text)::text, 'null')
    || ',' || coalesce(public.audit_canonical_json(p_details), 'null')
    || ',' || to_jsonb(to_char(p_created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text
    || ']'
$$;
--> statement-breakpoint
-- Existing rows, hashed per chain in id order (before the guards below exist).
DO $$
DECLARE
  r record;
  prev bytea;
  h bytea;
BEGIN
  FOR r IN SELECT * FROM audit_log ORDER BY id LOOP
    SELECT last_hash INTO prev FROM audit_chain_heads WHERE org_id IS NOT DISTINCT FROM r.org_id;
    prev := coalesce(prev, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
    h := sha256(prev || convert_to(public.audit_canonical_row(r.id, r.org_id, r.actor_id, r.action,
      r.target_type, r.target_id, r.ip, r.details, r.created_at), 'UTF8'));
    UPDATE audit_log SET prev_hash = prev, hash = h WHERE id = r.id;
    UPDATE audit_chain_heads SET last_id = r.id, last_hash = h WHERE org_id IS NOT DISTINCT FROM r.org_id;
    IF NOT FOUND THEN
      INSERT INTO audit_chain_heads (org_id, last_id, last_hash) VALUES (r.org_id, r.id, h);
    END IF;
  END LOOP;
END
$$;
--> statement-breakpoint
ALTER TABLE audit_log ALTER COLUMN prev_hash SET NOT NULL;
--> statement-breakpoint
ALTER TABLE audit_log ALTER COLUMN hash SET NOT NULL;
--> statement-breakpoint
-- ALLOW-LISTED SECURITY DEFINER EXCEPTION (the only one): links each new row into its chain.
-- It must read and move the chain head whatever the writer's tenant scope (platform rows are
-- written from any scope, and the app role cannot see other chains), so it runs as the owner with
-- a fixed search_path. It takes a transaction-scoped advisory lock on the chain, so concurrent
-- writers of one chain queue up, and assigns the id after the lock: ids within a chain follow
-- chain order. An insert that ON CONFLICT DO NOTHING will skip (idempotency key already recorded)
-- leaves the head alone. Rows that fail later (RLS check, constraints) roll the head back with them.
CREATE FUNCTION audit_log_chain() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  prev bytea;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended('vlinders.audit_chain:' || coalesce(NEW.org_id::text, 'platform'), 0));
  IF NEW.idempotency_key IS NOT NULL
     AND EXISTS (SELECT 1 FROM public.audit_log WHERE idempotency_key = NEW.idempotency_key) THEN
    -- Never stored: the unique idempotency key makes the insert skip (ON CONFLICT) or fail.
    NEW.prev_hash := '\x'::bytea;
    NEW.hash := '\x'::bytea;
    RETURN NEW;
  END IF;
  NEW.id := nextval('public.audit_log_id_seq');
  SELECT last_hash INTO prev FROM public.audit_chain_heads WHERE org_id IS NOT DISTINCT FROM NEW.org_id;
  NEW.prev_hash := coalesce(prev, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
  NEW.hash := sha256(NEW.prev_hash || convert_to(public.audit_canonical_row(NEW.id, NEW.org_id, NEW.actor_id,
    NEW.action, NEW.target_type, NEW.target_id, NEW.ip, NEW.details, NEW.created_at), 'UTF8'));
  IF prev IS NULL THEN
    INSERT INTO public.audit_chain_heads (org_id, last_id, last_hash) VALUES (NEW.org_id, NEW.id, NEW.hash);
  ELSE
    UPDATE public.audit_chain_heads SET last_id = NEW.id, last_hash = NEW.hash
      WHERE org_id IS NOT DISTINCT FROM NEW.org_id;
  END IF;
  RETURN NEW;
END
$$;
--> statement-breakpoint
REVOKE ALL ON FUNCTION audit_log_chain() FROM PUBLIC;
--> statement-breakpoint
CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_chain();
--> statement-breakpoint
CREATE FUNCTION audit_log_refuse_change() RETURNS trigger
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
--> statement-breakpoint
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
--> statement-breakpoint
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
--> statement-breakpoint
-- The chain heads change only through the chain trigger.
CREATE TRIGGER audit_chain_heads_no_truncate BEFORE TRUNCATE ON audit_chain_heads
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
