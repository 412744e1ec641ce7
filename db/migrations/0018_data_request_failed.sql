-- A data-subject request whose workflow could not be started is recorded as failed (with when), so
-- the person sees it and asks again, instead of a request left pending with nothing behind it.
ALTER TABLE data_requests DROP CONSTRAINT data_requests_status_known;
--> statement-breakpoint
ALTER TABLE data_requests ADD CONSTRAINT data_requests_status_known
  CHECK (status IN ('pending', 'running', 'completed', 'expired', 'failed'));
--> statement-breakpoint
ALTER TABLE data_requests DROP CONSTRAINT data_requests_finished_when_done;
--> statement-breakpoint
ALTER TABLE data_requests ADD CONSTRAINT data_requests_finished_when_done
  CHECK ((status IN ('completed', 'expired', 'failed')) = (finished_at IS NOT NULL));
