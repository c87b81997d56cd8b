-- Run history and job errors (issues 16 and 13): what the engine's own rows need beyond 0020. The
-- start still inserts the row and the end still updates it, each in the transaction that records it.
--   queue_name        the queue the job was in when the run started (written by the start)
--   message           the run's final message (the handler's, "Job cancelled", the error, the skip)
--   item_error_codes  the distinct codes of the run's item errors, sorted, space-separated (DHIS2's
--                     errorCodes of the run); NULL when the run reported none
--   item_errors       those errors as a JSON array of {code, id, type, args, message}, at most 200
--   item_error_count  item errors reported (the kept ones, plus every report past the cap)
ALTER TABLE job_runs ADD COLUMN queue_name TEXT;
ALTER TABLE job_runs ADD COLUMN message TEXT;
ALTER TABLE job_runs ADD COLUMN item_error_codes TEXT;
ALTER TABLE job_runs ADD COLUMN item_errors TEXT;
ALTER TABLE job_runs ADD COLUMN item_error_count INTEGER NOT NULL DEFAULT 0;

-- GET /api/scheduler/runs: newest first across jobs, and the age retention.
CREATE INDEX job_runs_scheduled ON job_runs(scheduled_at);
-- GET /api/jobConfigurations/errors: only the runs that reported item errors, per job, newest last.
CREATE INDEX job_runs_item_errors ON job_runs(job_uid, id) WHERE item_error_codes IS NOT NULL;
