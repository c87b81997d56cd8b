/**
 * DHIS2 2.42's maintenance views of the scheduler (beta in DHIS2; `GET /api/jobConfigurations/due`,
 * `/stale`, `POST /clean`): jobs as `JobEntry` records, the part of a job the scheduler works with.
 *
 * - due: what the job objects have armed (`job_schedule.alarm_at`, written by every arm), so the
 *   answer is the scheduler's own plan, not a second computation of it;
 * - stale: RUNNING jobs whose heartbeat is older than asked (the Cron Trigger resets those older than
 *   `jobsRescheduleAfterMinutes`).
 */
import { formatDate } from "../http/dates";
import { parseParameters } from "../jobconfigs/serialize";
import { JOB_COLUMNS } from "../jobconfigs/store";
import { hasIndependentRuns } from "../jobs/registry";
import { configFromRow, deriveSchedulingType } from "./schedule";
import type { JobRow } from "./store";

/** DHIS2's `JobEntry` JSON: id, type, schedulingType, name, status, then what is set (nulls omitted). */
export function jobEntryJson(row: JobRow, timeZone: string): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: row.uid,
    type: row.job_type,
    schedulingType: deriveSchedulingType(configFromRow(row)),
    name: row.name,
    status: row.job_status,
  };
  const optional: Record<string, unknown> = {
    executedBy: row.executed_by,
    cronExpression: row.cron_expression,
    delay: row.delay,
    lastExecuted: formatDate(row.last_executed, timeZone),
    lastFinished: formatDate(row.last_finished, timeZone),
    lastAlive: formatDate(row.last_alive, timeZone),
    queueName: row.queue_name,
    queuePosition: row.queue_position,
    parameters: parseParameters(row.job_parameters),
  };
  for (const [k, v] of Object.entries(optional)) if (v !== null && v !== undefined) out[k] = v;
  return out;
}

const JOB_COLUMNS_OF_C = JOB_COLUMNS.split(", ")
  .map((c) => `c.${c}`)
  .join(", ");

/**
 * Enabled jobs not running whose next start is at most `seconds` away, soonest first. Without
 * `includeWaiting`, a job that would have to wait for another RUNNING job of its DHIS2 type is left out.
 */
export async function dueJobs(db: D1Database, now: number, seconds: number, includeWaiting: boolean): Promise<JobRow[]> {
  const [due, running] = await db.batch<JobRow>([
    db
      .prepare(
        `SELECT ${JOB_COLUMNS_OF_C} FROM job_configurations c JOIN job_schedule s ON s.job_uid = c.uid
         WHERE c.enabled = 1 AND c.job_status <> 'RUNNING' AND s.alarm_at IS NOT NULL AND s.alarm_at <= ?
         ORDER BY s.alarm_at, c.created, c.uid`,
      )
      .bind(now + seconds * 1000),
    db.prepare(`SELECT DISTINCT job_type FROM job_configurations WHERE job_status = 'RUNNING'`),
  ]);
  if (includeWaiting) return due.results;
  const busy = new Set(running.results.map((r) => r.job_type));
  return due.results.filter((r) => hasIndependentRuns(r.job_type) || !busy.has(r.job_type));
}

/** RUNNING jobs whose last sign of life (heartbeat, else start) is more than `seconds` old, oldest first. */
export async function staleJobs(db: D1Database, now: number, seconds: number): Promise<JobRow[]> {
  const { results } = await db
    .prepare(
      `SELECT ${JOB_COLUMNS} FROM job_configurations WHERE job_status = 'RUNNING' AND COALESCE(last_alive, last_executed, 0) < ?
       ORDER BY COALESCE(last_alive, last_executed, 0), uid`,
    )
    .bind(now - seconds * 1000)
    .all<JobRow>();
  return results;
}
