-- Lists filtered by type (`filter=jobType:eq:X`, the most common client filter) in the default
-- order (name, case-insensitive, then uid) read straight from this index instead of sorting.
CREATE INDEX IF NOT EXISTS job_configurations_type_name ON job_configurations(job_type, name COLLATE NOCASE, uid);
