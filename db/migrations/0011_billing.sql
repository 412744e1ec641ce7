-- Billing: the subscription's state on the org (what the gateway enforces), the tenant's Stripe
-- account, the Stripe webhook events already taken, the billing runs' reports and quota notices.
-- Written by hand like 0010_usage.sql: policies and grants.
ALTER TABLE organizations ADD COLUMN subscription_status text NOT NULL DEFAULT 'active';
--> statement-breakpoint
ALTER TABLE organizations ADD CONSTRAINT organizations_subscription_status_known
  CHECK (subscription_status IN ('trialing', 'active', 'past_due', 'suspended', 'canceled'));
--> statement-breakpoint
-- One row per tenant, written by the subscription workflow's activities. status_event_created is
-- the Stripe `created` of the newest event applied, so an older event arriving later changes nothing.
CREATE TABLE billing_accounts (
  org_id uuid PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
  stripe_customer_id text NOT NULL UNIQUE,
  stripe_subscription_id text UNIQUE,
  plan text NOT NULL CHECK (plan IN ('free', 'developer', 'team', 'enterprise')),
  seats integer NOT NULL CHECK (seats > 0),
  status text NOT NULL CHECK (status IN ('trialing', 'active', 'past_due', 'suspended', 'canceled')),
  trial_ends_at timestamptz,
  current_period_start timestamptz,
  current_period_end timestamptz,
  cancel_at_period_end boolean NOT NULL DEFAULT false,
  status_event_created timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON billing_accounts TO vlinders_app;
--> statement-breakpoint
ALTER TABLE billing_accounts ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE billing_accounts FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY billing_accounts_tenant ON billing_accounts
  USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());
--> statement-breakpoint
-- A Stripe webhook names a customer, not an org: the webhook route binds the customer id with
-- set_config('app.stripe_customer_id', $1, true) and may then read that one row (never write).
CREATE POLICY billing_accounts_lookup_by_customer ON billing_accounts FOR SELECT
  USING (stripe_customer_id = nullif(current_setting('app.stripe_customer_id', true), ''));
--> statement-breakpoint
-- The billing run lists the tenants to bill (org id and customer id only; it then enters each
-- tenant's scope for its usage): set_config('app.billing_run', 'on', true), read-only.
CREATE POLICY billing_accounts_billing_run ON billing_accounts FOR SELECT
  USING (current_setting('app.billing_run', true) = 'on');
--> statement-breakpoint
-- Every Stripe event id taken by POST /webhooks/stripe: a redelivery answers 200 and does nothing.
-- A platform table (no tenant data: the event itself goes to the workflow, encrypted).
CREATE TABLE stripe_webhook_events (
  id text PRIMARY KEY,
  type text NOT NULL,
  stripe_created timestamptz NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);
--> statement-breakpoint
GRANT SELECT, INSERT ON stripe_webhook_events TO vlinders_app;
--> statement-breakpoint
-- The billing cursor lives beside the rollup it counts: the tokens of each bucket already reported
-- to Stripe. A billing run reports (rollup - reported) for every bucket before the window's end and
-- sets reported = rollup in the same transaction, so each token is reported once, late ones included.
ALTER TABLE usage_hourly ADD COLUMN reported_prompt_tokens bigint NOT NULL DEFAULT 0;
--> statement-breakpoint
ALTER TABLE usage_hourly ADD COLUMN reported_completion_tokens bigint NOT NULL DEFAULT 0;
--> statement-breakpoint
-- What a billing run reported, per tenant, meter and window: the quantity (late_quantity of it
-- from buckets before the window, usage that arrived after their own window had closed), the meter
-- event's identifier (Stripe drops a second event with it) and whether Stripe has accepted it.
CREATE TABLE billing_reports (
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  window_start timestamptz NOT NULL,
  window_end timestamptz NOT NULL,
  meter text NOT NULL CHECK (meter IN ('inputTokens', 'outputTokens')),
  quantity bigint NOT NULL CHECK (quantity >= 0),
  late_quantity bigint NOT NULL CHECK (late_quantity >= 0 AND late_quantity <= quantity),
  identifier text NOT NULL UNIQUE,
  stripe_customer_id text NOT NULL,
  workflow_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  reported_at timestamptz,
  PRIMARY KEY (org_id, window_start, meter)
);
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON billing_reports TO vlinders_app;
--> statement-breakpoint
ALTER TABLE billing_reports ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE billing_reports FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY billing_reports_tenant ON billing_reports
  USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());
--> statement-breakpoint
-- One row per billing window run (platform level: counts only, no tenant data).
CREATE TABLE billing_runs (
  window_start timestamptz PRIMARY KEY,
  window_end timestamptz NOT NULL,
  workflow_id text NOT NULL,
  tenants integer NOT NULL DEFAULT 0,
  meter_events integer NOT NULL DEFAULT 0,
  late_tokens bigint NOT NULL DEFAULT 0,
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE ON billing_runs TO vlinders_app;
--> statement-breakpoint
-- Quota notices sent, at most one per org, billing period and threshold (80 and 100 % of the
-- plan's included tokens).
CREATE TABLE quota_notices (
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  period_start timestamptz NOT NULL,
  threshold integer NOT NULL CHECK (threshold IN (80, 100)),
  sent_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, period_start, threshold)
);
--> statement-breakpoint
GRANT SELECT, INSERT ON quota_notices TO vlinders_app;
--> statement-breakpoint
ALTER TABLE quota_notices ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE quota_notices FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY quota_notices_tenant ON quota_notices
  USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());
