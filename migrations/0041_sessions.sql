-- Browser sessions (POST /api/auth/login): the cookie value is never stored, only its SHA-256.
-- `password_tag` is a hash of the user's password hash at login: a password change ends every session.
CREATE TABLE sessions (
  id_hash TEXT PRIMARY KEY,
  user_uid TEXT NOT NULL REFERENCES users(uid) ON DELETE CASCADE,
  password_tag TEXT NOT NULL,
  created INTEGER NOT NULL,
  last_seen INTEGER NOT NULL,
  expires INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_uid);
CREATE INDEX sessions_expires ON sessions(expires);
