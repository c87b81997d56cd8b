-- Per-user settings (GET/POST/DELETE /api/userSettings): one row per user and key, the value as JSON.
CREATE TABLE user_settings (
  user_uid TEXT NOT NULL REFERENCES users(uid) ON DELETE CASCADE,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (user_uid, key)
);
