/**
 * One Workers Analytics Engine data point per run end (dataset binding `RUN_ANALYTICS` in
 * wrangler.jsonc), so runs can be charted in the dashboard and queried with the SQL API:
 *
 *   SELECT blob2 AS jobType, blob4 AS status, SUM(_sample_interval) AS runs,
 *          quantileWeighted(0.95)(double1, _sample_interval) / 1000 AS p95_seconds
 *   FROM hrhis4_runs WHERE timestamp > NOW() - INTERVAL '1' DAY GROUP BY jobType, status
 *
 * Columns (fixed: the SQL API reads them by position): index1 = job type (the sampling key);
 * blob1 job id, blob2 job type, blob3 trigger, blob4 status, blob5 run id, blob6 error codes;
 * double1 duration ms, double2 start lateness ms. Writing never blocks nor throws into the run: an
 * environment without the binding (a test calling the app with another env) writes nothing.
 */

/** A run that ended, as reported (the same fields as its `run_end` log line). */
export interface RunPoint {
  jobId: string;
  jobType: string;
  runId: string;
  /** CRON | FIXED_DELAY | ONCE_ASAP | MANUAL */
  trigger: string;
  /** COMPLETED | FAILED | STOPPED */
  status: string;
  errorCodes?: string;
  durationMs: number;
  latenessMs: number;
}

/** Analytics Engine's limit on the index (bytes); job types are far shorter. */
const MAX_INDEX_BYTES = 96;

export function runDataPoint(run: RunPoint): AnalyticsEngineDataPoint {
  return {
    indexes: [run.jobType.slice(0, MAX_INDEX_BYTES)],
    blobs: [run.jobId, run.jobType, run.trigger, run.status, run.runId, run.errorCodes ?? ""],
    doubles: [run.durationMs, run.latenessMs],
  };
}

/** Writes the run's data point; a missing binding or a refused write loses only that point. */
export function writeRunDataPoint(dataset: AnalyticsEngineDataset | undefined, run: RunPoint): boolean {
  if (!dataset) return false;
  try {
    dataset.writeDataPoint(runDataPoint(run));
    return true;
  } catch {
    return false;
  }
}
