/**
 * The scheduler's D1 statements: the run-state columns of `job_configurations` (D1 is the source of
 * truth), the run history (`job_runs`) and the alarm bookkeeping (`job_schedule`). Every state
 * change is one conditional statement or one batch (a transaction), so two runs can never both win.
 */
import type { JobRow } from "../jobconfigs/store";
import { SETTINGS_ROWS_SQL, settingsFromRows, type Settings } from "../settings/settings";
import type { RunItemErrors } from "./progress";

/** The scheduler reads whole `job_configurations` rows (`SELECT *`); one row type for the table. */
export type { JobRow } from "../jobconfigs/store";

export interface RunRow {
  id: number;
  job_uid: string;
  job_type: string;
  trigger: string;
  scheduled_at: number;
  started_at: number | null;
  finished_at: number | null;
  status: string;
  error_codes: string | null;
  error: string | null;
  executed_by: string | null;
  triggered_by: string | null;
  /** Since migration 0063 (null on older rows). */
  queue_name: string | null;
  message: string | null;
  item_error_codes: string | null;
  item_errors: string | null;
  item_error_count: number;
}

/** Error code recorded when a run is lost (its object died, or its heartbeat went stale). */
export const RUN_LOST_ERROR_CODE = "E7012";

/** SQL: the row is a pure run-once job (no usable cron, no positive delay, not in a queue). */
export const RUN_ONCE_SQL = `((cron_expression IS NULL OR trim(cron_expression) = '' OR trim(cron_expression) = '* * * * * ?')
  AND (delay IS NULL OR delay <= 0) AND queue_name IS NULL)`;

/** Status after a run ends (or is reset): DISABLED for disabled and run-once jobs, else SCHEDULED. */
const AFTER_RUN_SET = `job_status = CASE WHEN enabled = 1 AND NOT ${RUN_ONCE_SQL} THEN 'SCHEDULED' ELSE 'DISABLED' END,
  enabled = CASE WHEN ${RUN_ONCE_SQL} THEN 0 ELSE enabled END`;

/** The job's row and the settings, in one round trip. */
export async function readJobAndSettings(db: D1Database, uid: string): Promise<{ row: JobRow | null; settings: Settings }> {
  const [jobs, settings] = await db.batch([
    db.prepare(`SELECT * FROM job_configurations WHERE uid = ?`).bind(uid),
    db.prepare(SETTINGS_ROWS_SQL),
  ]);
  return {
    row: ((jobs.results as JobRow[])[0] ?? null) as JobRow | null,
    settings: settingsFromRows(settings.results as { key: string; value: string }[]),
  };
}

export async function readJob(db: D1Database, uid: string): Promise<JobRow | null> {
  return db.prepare(`SELECT * FROM job_configurations WHERE uid = ?`).bind(uid).first<JobRow>();
}

export interface StartInput {
  uid: string;
  jobType: string;
  now: number;
  /** Runs of other jobs of this type may overlap (skip DHIS2's one-RUNNING-per-type rule). */
  independent: boolean;
  trigger: string;
  scheduledAt: number;
  executedBy: string | null;
  triggeredBy: string | null;
  /** Start only if the row is still the version the caller decided on (its cached copy). */
  guard?: { version: number; lastUpdated: number };
}

export type StartResult = { outcome: "started"; runRowId: number } | { outcome: "duplicate" } | { outcome: "blocked" };

/**
 * Fair share of a job type (DHIS2's types run one job at a time): a job whose last run ended less
 * than FAIR_SHARE_MS ago does not start while another job of its type waits, i.e. is enabled, idle
 * and due (its alarm, kept in `job_schedule`, is at most FAIR_SHARE_MS away and not older than
 * FAIR_SHARE_STALE_MS). It retries like a busy type, so the jobs of a type take turns and one that
 * fires every second cannot starve the rest.
 */
export const FAIR_SHARE_MS = 4_000;
export const FAIR_SHARE_STALE_MS = 60_000;

/**
 * DHIS2's `tryStart` plus the occurrence claim, in one transaction:
 * - the job becomes RUNNING only if it is enabled, not RUNNING, and (for DHIS2's types) no other job
 *   of its type is RUNNING, nor waiting for its turn (FAIR_SHARE_MS);
 * - the run's history row is inserted only when that happened; its UNIQUE (job, occurrence) key
 *   makes a second start of the same occurrence fail, which rolls the whole batch back.
 */
export async function tryStartRun(db: D1Database, p: StartInput): Promise<StartResult> {
  try {
    const [update, insert] = await db.batch([
      db
        .prepare(
          `UPDATE job_configurations SET job_status = 'RUNNING', last_executed = ?1, last_alive = ?1, error_codes = NULL
           WHERE uid = ?2 AND enabled = 1 AND job_status <> 'RUNNING'
             AND (?4 IS NULL OR (version = ?4 AND last_updated = ?5))
             AND (?3 = 1 OR NOT EXISTS (SELECT 1 FROM job_configurations o
                    WHERE o.job_type = job_configurations.job_type AND o.job_status = 'RUNNING' AND o.uid <> ?2))
             AND (?3 = 1 OR last_finished IS NULL OR last_finished < ?1 - ?6 OR NOT EXISTS (
                    SELECT 1 FROM job_configurations w JOIN job_schedule s ON s.job_uid = w.uid
                    WHERE w.job_type = job_configurations.job_type AND w.uid <> ?2 AND w.enabled = 1 AND w.job_status <> 'RUNNING'
                      AND s.alarm_at <= ?1 + ?6 AND s.alarm_at >= ?1 - ?7))`,
        )
        .bind(
          p.now,
          p.uid,
          p.independent ? 1 : 0,
          p.guard?.version ?? null,
          p.guard?.lastUpdated ?? null,
          FAIR_SHARE_MS,
          FAIR_SHARE_STALE_MS,
        ),
      db
        .prepare(
          `INSERT INTO job_runs (job_uid, job_type, trigger, scheduled_at, started_at, status, executed_by, triggered_by, queue_name)
           SELECT uid, job_type, ?1, ?2, ?3, 'RUNNING', ?4, ?5, queue_name FROM job_configurations
           WHERE uid = ?6 AND job_status = 'RUNNING' AND last_executed = ?3`,
        )
        .bind(p.trigger, p.scheduledAt, p.now, p.executedBy, p.triggeredBy, p.uid),
    ]);
    if (!update.meta.changes) return { outcome: "blocked" };
    return { outcome: "started", runRowId: Number(insert.meta.last_row_id) };
  } catch (e) {
    if (/UNIQUE constraint failed/i.test(String(e instanceof Error ? e.message : e))) return { outcome: "duplicate" };
    throw e;
  }
}

/** Whether the occurrence already has a history row (it ran, runs, or was skipped). */
export async function occurrenceClaimed(db: D1Database, uid: string, scheduledAt: number): Promise<boolean> {
  const row = await db.prepare(`SELECT 1 AS x FROM job_runs WHERE job_uid = ? AND scheduled_at = ?`).bind(uid, scheduledAt).first();
  return row !== null;
}

export async function heartbeat(db: D1Database, uid: string, startedAt: number, now: number): Promise<void> {
  await db
    .prepare(`UPDATE job_configurations SET last_alive = ? WHERE uid = ? AND job_status = 'RUNNING' AND last_executed = ?`)
    .bind(now, uid, startedAt)
    .run();
}

export interface FinishInput {
  uid: string;
  startedAt: number;
  runRowId: number;
  now: number;
  status: "COMPLETED" | "FAILED" | "STOPPED";
  errorCodes: string | null;
  error: string | null;
  /** The run's final message (run history). */
  message: string;
  /** The run's item errors (`addError`), if it reported any. */
  items: RunItemErrors | null;
  keepRuns: number;
}

/**
 * DHIS2's `tryFinish` (only from this run's RUNNING state) + the history row + retention, and the
 * settings (read in the same round trip), plus any `extra` statements (the alarm bookkeeping).
 */
export async function finishRun(
  db: D1Database,
  p: FinishInput,
  extra: D1PreparedStatement[] = [],
): Promise<{ row: JobRow | null; settings: Settings }> {
  const [update, , , settings] = await db.batch([
    db
      .prepare(
        `UPDATE job_configurations SET ${AFTER_RUN_SET},
           last_executed_status = ?1, last_finished = ?2, last_alive = NULL, error_codes = ?3
         WHERE uid = ?4 AND job_status = 'RUNNING' AND last_executed = ?5
         RETURNING *`,
      )
      .bind(p.status, p.now, p.errorCodes, p.uid, p.startedAt),
    db
      .prepare(
        `UPDATE job_runs SET status = ?, finished_at = ?, error_codes = ?, error = ?, message = ?,
           item_error_codes = ?, item_errors = ?, item_error_count = ?
         WHERE id = ? AND status = 'RUNNING'`,
      )
      .bind(
        p.status,
        p.now,
        p.errorCodes,
        p.error,
        p.message,
        p.items?.codes ?? null,
        p.items?.json ?? null,
        p.items?.count ?? 0,
        p.runRowId,
      ),
    retentionStatement(db, p.uid, p.keepRuns),
    db.prepare(SETTINGS_ROWS_SQL),
    ...extra,
  ]);
  return {
    row: ((update.results as JobRow[])[0] ?? null) as JobRow | null,
    settings: settingsFromRows(settings.results as { key: string; value: string }[]),
  };
}

export function retentionStatement(db: D1Database, uid: string, keep: number): D1PreparedStatement {
  return db
    .prepare(
      `DELETE FROM job_runs WHERE job_uid = ?1 AND id < (
         SELECT MIN(id) FROM (SELECT id FROM job_runs WHERE job_uid = ?1 ORDER BY id DESC LIMIT ?2))`,
    )
    .bind(uid, Math.max(1, keep));
}

/**
 * A run that is known to be dead (its object restarted, or its heartbeat is stale): FAILED, and the
 * job back to SCHEDULED (DISABLED for run-once jobs). Only applies while that run is still RUNNING.
 * `items`: the item errors the run reported before it died (its object kept them).
 */
export async function failLostRun(
  db: D1Database,
  uid: string,
  startedAt: number,
  now: number,
  message: string,
  items: RunItemErrors | null = null,
): Promise<boolean> {
  const [update] = await db.batch([
    db
      .prepare(
        `UPDATE job_configurations SET ${AFTER_RUN_SET},
           last_executed_status = 'FAILED', last_finished = ?1, last_alive = NULL, error_codes = ?2
         WHERE uid = ?3 AND job_status = 'RUNNING' AND last_executed = ?4`,
      )
      .bind(now, RUN_LOST_ERROR_CODE, uid, startedAt),
    db
      .prepare(
        `UPDATE job_runs SET status = 'FAILED', finished_at = ?1, error_codes = ?2, error = ?3, message = ?3,
           item_error_codes = ?6, item_errors = ?7, item_error_count = ?8
         WHERE job_uid = ?4 AND status = 'RUNNING' AND started_at = ?5`,
      )
      .bind(now, RUN_LOST_ERROR_CODE, message, uid, startedAt, items?.codes ?? null, items?.json ?? null, items?.count ?? 0),
  ]);
  return (update.meta.changes ?? 0) > 0;
}

/** Resets every RUNNING job whose heartbeat is older than `cutoff`; returns their UIDs. */
export async function resetStaleRuns(db: D1Database, now: number, cutoff: number, message: string): Promise<string[]> {
  const stale = await db
    .prepare(
      `SELECT uid, last_executed FROM job_configurations
       WHERE job_status = 'RUNNING' AND COALESCE(last_alive, last_executed, 0) < ?`,
    )
    .bind(cutoff)
    .all<{ uid: string; last_executed: number | null }>();
  const reset: string[] = [];
  for (const row of stale.results) {
    if (await failLostRun(db, row.uid, row.last_executed ?? 0, now, message)) reset.push(row.uid);
  }
  return reset;
}

/** Occurrences older than the window: recorded once, never run. */
export async function recordSkipped(
  db: D1Database,
  p: {
    uid: string;
    jobType: string;
    scheduledAt: number;
    count: number;
    first: number;
    now: number;
    keepRuns: number;
    executedBy: string | null;
    queue: string | null;
  },
  message: string,
): Promise<void> {
  await db.batch([
    db
      .prepare(
        `INSERT OR IGNORE INTO job_runs (job_uid, job_type, trigger, scheduled_at, started_at, finished_at, status, error, message, executed_by, queue_name)
         VALUES (?1, ?2, 'CRON', ?3, NULL, ?4, 'SKIPPED', ?5, ?5, ?6, ?7)`,
      )
      .bind(p.uid, p.jobType, p.scheduledAt, p.now, message, p.executedBy, p.queue),
    retentionStatement(db, p.uid, p.keepRuns),
  ]);
}

export interface ScheduleMark {
  version: number | null;
  lastUpdated: number | null;
  alarmAt: number | null;
}

export function scheduleMarkStatement(db: D1Database, uid: string, mark: ScheduleMark, now: number): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO job_schedule (job_uid, synced_version, synced_last_updated, alarm_at, synced_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(job_uid) DO UPDATE SET synced_version = excluded.synced_version,
         synced_last_updated = excluded.synced_last_updated, alarm_at = excluded.alarm_at, synced_at = excluded.synced_at`,
    )
    .bind(uid, mark.version, mark.lastUpdated, mark.alarmAt, now);
}

export async function deleteScheduleMark(db: D1Database, uid: string): Promise<void> {
  await db.prepare(`DELETE FROM job_schedule WHERE job_uid = ?`).bind(uid).run();
}

/**
 * Jobs of a type waiting for it to free up (DHIS2's types run one at a time): their alarm is due by
 * `dueBy` (a blocked run retries within BUSY_RETRY_MS). Oldest-created first, as DHIS2 orders them.
 */
export async function waitingJobsOfType(db: D1Database, jobType: string, exceptUid: string, dueBy: number, limit = 1): Promise<string[]> {
  const { results } = await db
    .prepare(
      `SELECT c.uid AS uid FROM job_configurations c JOIN job_schedule s ON s.job_uid = c.uid
       WHERE c.job_type = ? AND c.uid <> ? AND c.enabled = 1 AND c.job_status <> 'RUNNING' AND s.alarm_at <= ?
       ORDER BY c.created, c.uid LIMIT ?`,
    )
    .bind(jobType, exceptUid, dueBy, limit)
    .all<{ uid: string }>();
  return results.map((r) => r.uid);
}

export async function latestRuns(db: D1Database, uid: string, limit: number): Promise<RunRow[]> {
  const { results } = await db.prepare(`SELECT * FROM job_runs WHERE job_uid = ? ORDER BY id DESC LIMIT ?`).bind(uid, limit).all<RunRow>();
  return results;
}
