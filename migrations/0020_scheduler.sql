-- Scheduler (issue #4): run history and the alarm bookkeeping the reconcile pass reads.

-- One row per run (or skipped occurrence) of a job. (job_uid, scheduled_at) is the idempotency key:
-- an occurrence is claimed by inserting its row in the same transaction that starts the run, so a
-- duplicated or retried alarm can never start it twice.
CREATE TABLE job_runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  job_uid TEXT NOT NULL,
  job_type TEXT NOT NULL,
  -- CRON | FIXED_DELAY | ONCE_ASAP | MANUAL (execute)
  trigger TEXT NOT NULL,
  -- the occurrence (epoch ms); for MANUAL the instant execute was called
  scheduled_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  -- RUNNING | COMPLETED | FAILED | STOPPED | SKIPPED
  status TEXT NOT NULL,
  error_codes TEXT,
  error TEXT,
  -- the user the run executes as (null: the system) and the user who triggered it (execute)
  executed_by TEXT,
  triggered_by TEXT,
  UNIQUE (job_uid, scheduled_at)
);
CREATE INDEX job_runs_job ON job_runs(job_uid, id);
CREATE INDEX job_runs_status ON job_runs(status, job_uid);

-- What each job's Durable Object last did with its alarm. The reconcile pass compares it with
-- job_configurations to find objects that are out of step (never synced, changed since, alarm overdue).
CREATE TABLE job_schedule (
  job_uid TEXT PRIMARY KEY,
  -- job_configurations.version and last_updated the object last read
  synced_version INTEGER,
  synced_last_updated INTEGER,
  -- the armed alarm (epoch ms), null when the object holds no alarm
  alarm_at INTEGER,
  synced_at INTEGER NOT NULL
);
CREATE INDEX job_schedule_alarm ON job_schedule(alarm_at);
