/** D1 access for `job_configurations`: rows, inserts, updates and deletes, all with bound parameters. */
import { cronMeaning } from "../scheduling/cron";
import type { JobStatus } from "./schemas";

export interface JobRow {
  uid: string;
  name: string;
  code: string | null;
  job_type: string;
  scheduling_type: string | null;
  cron_expression: string | null;
  delay: number | null;
  job_parameters: string | null;
  enabled: number;
  job_status: JobStatus;
  last_executed_status: string;
  last_executed: number | null;
  last_finished: number | null;
  last_alive: number | null;
  error_codes: string | null;
  executed_by: string | null;
  queue_name: string | null;
  queue_position: number | null;
  system: number;
  version: number;
  created: number;
  last_updated: number;
  created_by: string | null;
  last_updated_by: string | null;
}

/** The columns the API reads (explicit, so other modules' added columns do not leak in). */
export const JOB_COLUMNS =
  "uid, name, code, job_type, scheduling_type, cron_expression, delay, job_parameters, enabled, job_status, " +
  "last_executed_status, last_executed, last_finished, last_alive, error_codes, executed_by, queue_name, " +
  "queue_position, system, version, created, last_updated, created_by, last_updated_by";

export function findJob(db: D1Database, uid: string): Promise<JobRow | null> {
  return db.prepare(`SELECT ${JOB_COLUMNS} FROM job_configurations WHERE uid = ?`).bind(uid).first<JobRow>();
}

/** The values a create or update writes. */
export interface JobWrite {
  uid: string;
  name: string;
  code: string | null;
  jobType: string;
  schedulingType: string;
  cronExpression: string | null;
  delay: number | null;
  jobParameters: string | null;
  executedBy: string | null;
}

/** `cronMeaning` of a stored cron (null without one). */
const meaningOf = (cron: string | null) => (cron === null ? null : cronMeaning(cron));

export function insertJob(
  db: D1Database,
  w: JobWrite,
  enabled: boolean,
  jobStatus: string,
  now: number,
  userUid: string,
): Promise<D1Result> {
  return db
    .prepare(
      `INSERT INTO job_configurations (uid, name, code, job_type, scheduling_type, cron_expression, cron_meaning, cron_meaning_of, delay,
         job_parameters, enabled, job_status, last_executed_status, executed_by, system, version, created, last_updated, created_by, last_updated_by)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'NOT_STARTED', ?, 0, 1, ?, ?, ?, ?)`,
    )
    .bind(
      w.uid,
      w.name,
      w.code,
      w.jobType,
      w.schedulingType,
      w.cronExpression,
      meaningOf(w.cronExpression),
      w.cronExpression,
      w.delay,
      w.jobParameters,
      enabled ? 1 : 0,
      jobStatus,
      w.executedBy,
      now,
      now,
      userUid,
      userUid,
    )
    .run();
}

/**
 * Full replace of the writable members. `enabled`, `job_type` and run state stay; a RUNNING job
 * keeps its status (the run owns it). Never touches system rows. Bumps `version`.
 */
export function updateJobStatement(
  db: D1Database,
  w: JobWrite,
  jobStatusIfIdle: string,
  now: number,
  userUid: string,
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE job_configurations SET name = ?, code = ?, scheduling_type = ?, cron_expression = ?, cron_meaning = ?, cron_meaning_of = ?,
         delay = ?, job_parameters = ?, executed_by = ?, job_status = CASE WHEN job_status = 'RUNNING' THEN job_status ELSE ? END,
         version = version + 1, last_updated = ?, last_updated_by = ?
       WHERE uid = ? AND system = 0`,
    )
    .bind(
      w.name,
      w.code,
      w.schedulingType,
      w.cronExpression,
      meaningOf(w.cronExpression),
      w.cronExpression,
      w.delay,
      w.jobParameters,
      w.executedBy,
      jobStatusIfIdle,
      now,
      userUid,
      w.uid,
    );
}

/** Enables or disables a job (PATCH); the status follows unless the job is running. */
export function setEnabledStatement(
  db: D1Database,
  uid: string,
  enabled: boolean,
  jobStatusIfIdle: string,
  now: number,
  userUid: string,
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE job_configurations SET enabled = ?, job_status = CASE WHEN job_status = 'RUNNING' THEN job_status ELSE ? END,
         version = version + 1, last_updated = ?, last_updated_by = ?
       WHERE uid = ? AND system = 0`,
    )
    .bind(enabled ? 1 : 0, jobStatusIfIdle, now, userUid, uid);
}

export function deleteJob(db: D1Database, uid: string): Promise<D1Result> {
  return db.prepare(`DELETE FROM job_configurations WHERE uid = ? AND system = 0`).bind(uid).run();
}

/**
 * Other jobs holding this name (E5003), this code, or this type with a cron of the same meaning
 * (E7000: `cronMeaning`, stored with the expression it was computed from, so a row whose cron another
 * writer changed is compared by its text); whether the uid is taken, and whether `executedBy` names an
 * existing user.
 */
export async function findConflicts(
  db: D1Database,
  uid: string,
  name: string | undefined,
  code: string | null,
  jobType: string | undefined,
  cron: string | null,
  executedBy: string | null,
): Promise<{ nameOwner?: string; codeOwner?: string; cronOwner?: string; uidTaken: boolean; executingUserExists: boolean }> {
  const stmts: D1PreparedStatement[] = [
    db.prepare(`SELECT uid FROM job_configurations WHERE name = ? AND uid <> ? LIMIT 1`).bind(name ?? null, uid),
    db.prepare(`SELECT uid FROM job_configurations WHERE code = ? AND uid <> ? LIMIT 1`).bind(code, uid),
    db
      .prepare(
        `SELECT uid FROM job_configurations WHERE job_type = ?1 AND uid <> ?3
           AND (cron_expression = ?2 OR (cron_meaning = ?4 AND cron_meaning_of = cron_expression)) LIMIT 1`,
      )
      .bind(jobType ?? null, cron, uid, meaningOf(cron)),
    db.prepare(`SELECT uid FROM job_configurations WHERE uid = ?`).bind(uid),
    db.prepare(`SELECT uid FROM users WHERE uid = ?`).bind(executedBy),
  ];
  const [byName, byCode, byCron, byUid, user] = await db.batch<{ uid: string }>(stmts);
  return {
    nameOwner: byName.results[0]?.uid,
    codeOwner: byCode.results[0]?.uid,
    cronOwner: byCron.results[0]?.uid,
    uidTaken: byUid.results.length > 0,
    executingUserExists: executedBy === null || user.results.length > 0,
  };
}

/** True for D1/SQLite UNIQUE constraint failures (a concurrent create won the name). */
export function isUniqueViolation(e: unknown, column?: string): boolean {
  const msg = e instanceof Error ? e.message : String(e);
  if (!/UNIQUE constraint failed/i.test(msg)) return false;
  return column ? msg.includes(`job_configurations.${column}`) : true;
}
