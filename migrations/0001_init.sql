-- Users, roles, personal access tokens and system settings.
CREATE TABLE users (
  uid TEXT PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  first_name TEXT NOT NULL DEFAULT '',
  surname TEXT NOT NULL DEFAULT '',
  email TEXT,
  password_hash TEXT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0,
  authorities TEXT NOT NULL DEFAULT '[]',
  failed_logins INTEGER NOT NULL DEFAULT 0,
  locked_until INTEGER,
  last_login INTEGER,
  password_last_updated INTEGER,
  account_expiry INTEGER,
  created INTEGER NOT NULL,
  last_updated INTEGER NOT NULL
);

CREATE TABLE user_roles (
  uid TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  authorities TEXT NOT NULL DEFAULT '[]',
  created INTEGER NOT NULL,
  last_updated INTEGER NOT NULL
);

CREATE TABLE user_role_members (
  user_uid TEXT NOT NULL REFERENCES users(uid) ON DELETE CASCADE,
  role_uid TEXT NOT NULL REFERENCES user_roles(uid) ON DELETE CASCADE,
  PRIMARY KEY (user_uid, role_uid)
);

CREATE TABLE api_tokens (
  uid TEXT PRIMARY KEY,
  key_hash TEXT NOT NULL UNIQUE,
  owner_uid TEXT NOT NULL REFERENCES users(uid) ON DELETE CASCADE,
  name TEXT,
  expire INTEGER,
  created INTEGER NOT NULL,
  last_used INTEGER
);
CREATE INDEX api_tokens_owner ON api_tokens(owner_uid);

CREATE TABLE system_settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

-- Fixed role granting every authority; the bootstrap admin is a member.
INSERT INTO user_roles (uid, name, authorities, created, last_updated)
VALUES ('yrB6vc5Ip3r', 'Superuser', '["ALL"]', 0, 0);

-- Job configurations: D1 is the source of truth; each job's Durable Object mirrors its schedule.
CREATE TABLE job_configurations (
  uid TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  code TEXT,
  job_type TEXT NOT NULL,
  scheduling_type TEXT,
  cron_expression TEXT,
  delay INTEGER,
  job_parameters TEXT,
  enabled INTEGER NOT NULL DEFAULT 1,
  job_status TEXT NOT NULL,
  last_executed_status TEXT NOT NULL DEFAULT 'NOT_STARTED',
  last_executed INTEGER,
  last_finished INTEGER,
  last_alive INTEGER,
  error_codes TEXT,
  executed_by TEXT,
  queue_name TEXT,
  queue_position INTEGER,
  system INTEGER NOT NULL DEFAULT 0,
  version INTEGER NOT NULL DEFAULT 1,
  created INTEGER NOT NULL,
  last_updated INTEGER NOT NULL,
  created_by TEXT,
  last_updated_by TEXT
);
CREATE INDEX job_configurations_type_status ON job_configurations(job_type, job_status);
CREATE INDEX job_configurations_name_nocase ON job_configurations(name COLLATE NOCASE, uid);
CREATE INDEX job_configurations_queue ON job_configurations(queue_name, queue_position);
