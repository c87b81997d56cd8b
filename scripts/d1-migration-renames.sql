-- Repairs a D1 database migrated before commit c324e6b renamed two migrations that had already been
-- applied (0070_executor_event_nonce.sql -> 0051_…, 0080_token_attributes.sql -> 0002_…): its
-- d1_migrations table records the old names, so `wrangler d1 migrations apply` would run those two
-- again under their new names. Idempotent; `npm run deploy` runs it before applying migrations.
-- The table is created as wrangler creates it, so this also runs on a database never migrated.
CREATE TABLE IF NOT EXISTS d1_migrations(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT UNIQUE,
  applied_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL
);
DELETE FROM d1_migrations WHERE name = '0070_executor_event_nonce.sql'
  AND EXISTS (SELECT 1 FROM d1_migrations WHERE name = '0051_executor_event_nonce.sql');
UPDATE d1_migrations SET name = '0051_executor_event_nonce.sql' WHERE name = '0070_executor_event_nonce.sql';
DELETE FROM d1_migrations WHERE name = '0080_token_attributes.sql'
  AND EXISTS (SELECT 1 FROM d1_migrations WHERE name = '0002_token_attributes.sql');
UPDATE d1_migrations SET name = '0002_token_attributes.sql' WHERE name = '0080_token_attributes.sql';
