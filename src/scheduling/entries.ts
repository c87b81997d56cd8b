/**
 * DHIS2 2.42's maintenance views of the scheduler (beta in DHIS2; `GET /api/jobConfigurations/due`,
 * `/stale`, `POST /clean`): jobs as `JobEntry` records, the part of a job the scheduler works with.
 *
 * - due: what the job objects have armed (`job_schedule.alarm_at`, written by every arm), so the
 *   answer is the scheduler's own plan, not a second computation of it;
 * - stale: RUNNING jobs whose heartbeat is older than asked (the Cron Trigger resets those older than
 *   `jobsRescheduleAfterMinutes`).
 */
import { z } from "@hono/zod-openapi";
import { formatDate } from "../http/dates";
import { JobStatusSchema, SchedulingTypeSchema } from "../jobconfigs/schemas";
import { parseParameters } from "../jobconfigs/serialize";
import { JOB_COLUMNS } from "../jobconfigs/store";
import { hasIndependentRuns } from "../jobs/registry";
import { configFromRow, deriveSchedulingType } from "./schedule";
import type { JobRow } from "./store";

/** DHIS2's `JobEntry` JSON: id, type, schedulingType, name, status, then what is set (nulls omitted). */
export const JobEntrySchema = z
  .object({
    id: z.string(),
    type: z.string(),
    schedulingType: SchedulingTypeSchema,
    name: z.string(),
    status: JobStatusSchema,
    executedBy: z.string().optional(),
    cronExpression: z.string().optional(),
    delay: z.number().optional(),
    lastExecuted: z.string().optional(),
    lastFinished: z.string().optional(),
    lastAlive: z.string().optional(),
    queueName: z.string().optional(),
    queuePosition: z.number().optional(),
    parameters: z.unknown().optional(),
  })
  .openapi("JobEntry", { description: "DHIS2's JobEntry: the scheduling-relevant part of a job (dates in the server zone)" });

export type JobEntry = z.infer<typeof JobEntrySchema>;

export function jobEntryJson(row: JobRow, timeZone: string): JobEntry {
  const out: JobEntry = {
    id: row.uid,
    type: row.job_type,
    schedulingType: deriveSchedulingType(configFromRow(row)),
    name: row.name,
    status: row.job_status,
  };
  if (row.executed_by != null) out.executedBy = row.executed_by;
  if (row.cron_expression != null) out.cronExpression = row.cron_expression;
  if (row.delay != null) out.delay = row.delay;
  const lastExecuted = formatDate(row.last_executed, timeZone);
  if (lastExecuted != null) out.lastExecuted = lastExecuted;
  const lastFinished = formatDate(row.last_finished, timeZone);
  if (lastFinished != null) out.lastFinished = lastFinished;
  const lastAlive = formatDate(row.last_alive, timeZone);
  if (lastAlive != null) out.lastAlive = lastAlive;
  if (row.queue_name != null) out.queueName = row.queue_name;
  if (row.queue_position != null) out.queuePosition = row.queue_position;
  const parameters = parseParameters(row.job_parameters);
  if (parameters != null) out.parameters = parameters;
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
