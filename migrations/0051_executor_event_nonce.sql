-- Executor callbacks are delivered at least once: an executor that got no answer sends a callback
-- again (re-signed) with the same nonce, and the scheduler keeps one event per (run, nonce).
ALTER TABLE executor_events ADD COLUMN nonce TEXT;
CREATE UNIQUE INDEX executor_events_nonce ON executor_events(run_id, nonce) WHERE nonce IS NOT NULL;
