-- Executor protocol (docs/EXECUTOR.md): runs handed to an external executor, the callbacks they
-- posted (drained in order by the run's handler), and the replay cache of request signatures.
CREATE TABLE executor_runs (
  run_id TEXT PRIMARY KEY,
  job_id TEXT NOT NULL,
  job_type TEXT NOT NULL,
  -- SHA-256 of the per-run callback token; the token itself is never stored.
  token_hash TEXT NOT NULL,
  -- STARTING | RUNNING | CANCELLING | FINISHED
  state TEXT NOT NULL,
  created INTEGER NOT NULL,
  last_heard INTEGER,
  finished INTEGER,
  -- Callbacks are refused after this instant (finished runs keep a short grace period).
  expires INTEGER NOT NULL
);
CREATE INDEX executor_runs_job ON executor_runs(job_id, created);
CREATE INDEX executor_runs_expires ON executor_runs(expires);

CREATE TABLE executor_events (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id TEXT NOT NULL REFERENCES executor_runs(run_id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  payload TEXT NOT NULL,
  received INTEGER NOT NULL
);
CREATE INDEX executor_events_run ON executor_events(run_id, id);

CREATE TABLE executor_replay (
  signature TEXT PRIMARY KEY,
  expires INTEGER NOT NULL
);
CREATE INDEX executor_replay_expires ON executor_replay(expires);
