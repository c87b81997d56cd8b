-- Failure alerts (issue 16, src/alerts/). Rules are their own resource (`/api/scheduler/alerts`), never
-- fields of a job configuration, so a PUT from the Scheduler app cannot drop them.
--   scope        ALL_JOBS | JOB_TYPES | JOBS (the types or jobs are rows of alert_rule_targets)
--   conditions   JSON {failed?, lost?, lateSeconds?, failuresInARow?, recovered?}
--   channel      WEBHOOK (url + secret, both write-only through the API) | EMAIL (address)
CREATE TABLE alert_rules (
  uid TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  enabled INTEGER NOT NULL DEFAULT 1,
  scope TEXT NOT NULL CHECK (scope IN ('ALL_JOBS', 'JOB_TYPES', 'JOBS')),
  conditions TEXT NOT NULL,
  channel_type TEXT NOT NULL CHECK (channel_type IN ('WEBHOOK', 'EMAIL')),
  webhook_url TEXT,
  webhook_secret TEXT,
  email_address TEXT,
  created INTEGER NOT NULL,
  last_updated INTEGER NOT NULL,
  created_by TEXT,
  last_updated_by TEXT
);

-- What a JOB_TYPES or JOBS rule covers: `type:<JOB_TYPE>` or `job:<uid>` (looked up per run event).
CREATE TABLE alert_rule_targets (
  rule_uid TEXT NOT NULL,
  target TEXT NOT NULL,
  PRIMARY KEY (rule_uid, target)
);
CREATE INDEX alert_rule_targets_target ON alert_rule_targets(target);

-- Per (rule, job): the episode the alert decision keeps. One alert per episode: it opens with the
-- first alert (failed, lost, late, K failures in a row) and closes at the next healthy run.
--   failures     failed runs in a row (reset by a COMPLETED run)
--   last_event   id of the last run event applied (events arrive in order: a repeat is skipped)
CREATE TABLE alert_episodes (
  rule_uid TEXT NOT NULL,
  job_uid TEXT NOT NULL,
  failures INTEGER NOT NULL DEFAULT 0,
  open INTEGER NOT NULL DEFAULT 0,
  opened_at INTEGER,
  opened_by TEXT,
  last_event TEXT NOT NULL,
  updated INTEGER NOT NULL,
  PRIMARY KEY (rule_uid, job_uid)
);

-- One row per alert to deliver; UNIQUE(rule, event) keeps an event delivered twice to one alert.
--   state   PENDING (stored, not yet on the queue), QUEUED, SENDING (lease_until), RETRYING,
--           DELIVERED, FAILED (refused for good, e.g. 404), DEAD_LETTER (retries exhausted),
--           DISCARDED (the rule was deleted or changed channel before delivery)
CREATE TABLE alert_deliveries (
  uid TEXT PRIMARY KEY,
  rule_uid TEXT NOT NULL,
  job_uid TEXT NOT NULL,
  event_id TEXT NOT NULL,
  alert TEXT NOT NULL,
  channel_type TEXT NOT NULL,
  payload TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  created INTEGER NOT NULL,
  updated INTEGER NOT NULL,
  last_attempt INTEGER,
  next_attempt INTEGER,
  delivered INTEGER,
  lease_until INTEGER,
  last_status INTEGER,
  last_error TEXT,
  UNIQUE (rule_uid, event_id)
);
CREATE INDEX alert_deliveries_rule ON alert_deliveries(rule_uid, created);
CREATE INDEX alert_deliveries_state ON alert_deliveries(state, updated);
