-- Limits on the inference path: the org's plan (core/plans.ts holds what each plan allows) and an
-- API key's own, lower per-minute limits (null: the plan's).
ALTER TABLE organizations ADD COLUMN plan text NOT NULL DEFAULT 'developer';
--> statement-breakpoint
ALTER TABLE organizations ADD CONSTRAINT organizations_plan_known
  CHECK (plan IN ('free', 'developer', 'team', 'enterprise'));
--> statement-breakpoint
ALTER TABLE api_keys ADD COLUMN requests_per_minute integer;
--> statement-breakpoint
ALTER TABLE api_keys ADD COLUMN tokens_per_minute integer;
--> statement-breakpoint
ALTER TABLE api_keys ADD CONSTRAINT api_keys_requests_per_minute_positive CHECK (requests_per_minute > 0);
--> statement-breakpoint
ALTER TABLE api_keys ADD CONSTRAINT api_keys_tokens_per_minute_positive CHECK (tokens_per_minute > 0);
