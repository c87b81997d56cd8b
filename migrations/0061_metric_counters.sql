-- Counters behind /api/metrics that no other table holds (authentication failures, throttled
-- requests, …): one row per (metric name, label set), incremented by the isolates that saw the events.
--   labels  the label set as canonical JSON (keys sorted), '{}' for none
CREATE TABLE metric_counters (
  name TEXT NOT NULL,
  labels TEXT NOT NULL,
  value INTEGER NOT NULL DEFAULT 0,
  updated INTEGER NOT NULL,
  PRIMARY KEY (name, labels)
);
