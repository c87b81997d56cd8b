-- Queue runs (issue #7). One row per (queue run, position): the primary key is the idempotency key
-- that lets a queue member start at most once per run, whatever retries or crashes happen.
--   run_id   `<queue name>@<start of the head's run, epoch ms>`
--   state    BASELINE (the head's run before it joined the queue: never continued),
--            TRIGGERED (the member should start), STARTED (its run began),
--            COMPLETED | FAILED | STOPPED (its run ended), SKIPPED (an earlier member failed)
--   token    random value of the request that created the row (tells a claim's winner)
CREATE TABLE queue_run_steps (
  run_id TEXT NOT NULL,
  position INTEGER NOT NULL,
  queue_name TEXT NOT NULL,
  job_uid TEXT NOT NULL,
  state TEXT NOT NULL,
  token TEXT,
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  PRIMARY KEY (run_id, position)
);
CREATE INDEX queue_run_steps_job ON queue_run_steps(job_uid, state);
CREATE INDEX queue_run_steps_state ON queue_run_steps(state, updated);
