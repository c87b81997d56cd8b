-- Security hardening (issue 14).
--
-- Failed sign-ins per (username, client address): the lockout applies to the address that failed, so
-- an anonymous client cannot keep a user out (src/users/lockout.ts). Unknown usernames are counted
-- too, so a lock does not reveal which usernames exist. users.failed_logins / users.locked_until now
-- hold the summary over all addresses.
--   source        the client address (CF-Connecting-IP, IPv6 by its /64), 'unknown' without one
--   failures      failures since the last success, lock end or quiet LOCKOUT_MS
--   locked_until  epoch ms until which this address is locked out of this username
CREATE TABLE login_failures (
  username TEXT NOT NULL,
  source TEXT NOT NULL,
  failures INTEGER NOT NULL,
  locked_until INTEGER,
  last_failure INTEGER NOT NULL,
  PRIMARY KEY (username, source)
);
CREATE INDEX login_failures_last ON login_failures (last_failure);

-- A token created with token authentication names its parent: it keeps the parent's restrictions,
-- never outlives it, and is revoked with it.
ALTER TABLE api_tokens ADD COLUMN parent_uid TEXT;
CREATE INDEX api_tokens_parent ON api_tokens (parent_uid);

-- What a job's cron means (src/scheduling/cron.ts cronMeaning), and the expression it was computed
-- from: the same-cron check (E7000) compares meanings, so `* * * * * *`, `*/1 * * * * *` and
-- `0-59 * * * * *` are the same schedule. A row whose cron_expression was written without it (or by
-- older code) is compared by its text.
ALTER TABLE job_configurations ADD COLUMN cron_meaning TEXT;
ALTER TABLE job_configurations ADD COLUMN cron_meaning_of TEXT;
CREATE INDEX job_configurations_type_meaning ON job_configurations (job_type, cron_meaning);
-- Jobs per user (system setting jobsMaxPerUser) count the rows a user created.
CREATE INDEX job_configurations_created_by ON job_configurations (created_by);
