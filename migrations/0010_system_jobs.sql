-- DHIS2's default system jobs (JobType.Defaults): fixed UIDs, names and schedules. They cannot be
-- created, changed or deleted through the API. SYSTEM_VERSION_UPDATE_CHECK runs at a random second
-- and minute between 3 and 5 am, chosen once here (DHIS2 chooses at class load).
INSERT OR IGNORE INTO job_configurations
  (uid, name, job_type, scheduling_type, cron_expression, delay, enabled, job_status, last_executed_status, system, version, created, last_updated)
VALUES
  ('DHIS2rocks1', 'Housekeeping', 'HOUSEKEEPING', 'FIXED_DELAY', NULL, 20, 1, 'SCHEDULED', 'NOT_STARTED', 1, 1, CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000),
  ('D2datatrim8', 'Data value trim', 'DATA_VALUE_TRIM', 'CRON', '0 0 1 ? * *', NULL, 1, 'SCHEDULED', 'NOT_STARTED', 1, 1, CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000),
  ('YvAwAmrqAtN', 'Dataset notification', 'DATA_SET_NOTIFICATION', 'CRON', '0 0 2 ? * *', NULL, 1, 'SCHEDULED', 'NOT_STARTED', 1, 1, CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000),
  ('sHMedQF7VYa', 'Credentials expiry alert', 'CREDENTIALS_EXPIRY_ALERT', 'CRON', '0 0 2 ? * *', NULL, 1, 'SCHEDULED', 'NOT_STARTED', 1, 1, CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000),
  ('BFa3jDsbtdO', 'Data statistics', 'DATA_STATISTICS', 'CRON', '0 0 2 ? * *', NULL, 1, 'SCHEDULED', 'NOT_STARTED', 1, 1, CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000),
  ('pd6O228pqr0', 'File resource clean up', 'FILE_RESOURCE_CLEANUP', 'CRON', '0 0 2 ? * *', NULL, 1, 'SCHEDULED', 'NOT_STARTED', 1, 1, CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000),
  ('fUWM1At1TUx', 'User account expiry alert', 'ACCOUNT_EXPIRY_ALERT', 'CRON', '0 0 2 ? * *', NULL, 1, 'SCHEDULED', 'NOT_STARTED', 1, 1, CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000),
  ('Js3vHn2AVuG', 'Validation result notification', 'VALIDATION_RESULTS_NOTIFICATION', 'CRON', '0 0 7 ? * *', NULL, 1, 'SCHEDULED', 'NOT_STARTED', 1, 1, CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000),
  ('uwWCT2BMmlq', 'Remove expired or used reserved values', 'REMOVE_USED_OR_EXPIRED_RESERVED_VALUES', 'CRON', '0 0 2 ? * *', NULL, 1, 'SCHEDULED', 'NOT_STARTED', 1, 1, CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000),
  ('vt21671bgno', 'System version update check notification', 'SYSTEM_VERSION_UPDATE_CHECK', 'CRON',
     (abs(random()) % 60) || ' ' || (abs(random()) % 60) || ' ' || (3 + abs(random()) % 3) || ' ? * *',
     NULL, 1, 'SCHEDULED', 'NOT_STARTED', 1, 1, CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000);

-- List queries order by these and filter on them.
CREATE INDEX IF NOT EXISTS job_configurations_created ON job_configurations(created);
CREATE INDEX IF NOT EXISTS job_configurations_last_updated ON job_configurations(last_updated);
CREATE INDEX IF NOT EXISTS job_configurations_type_cron ON job_configurations(job_type, cron_expression);
