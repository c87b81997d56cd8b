/**
 * The scheduler's safety net, run by the Worker's Cron Trigger (every minute) and by the
 * HOUSEKEEPING job:
 * - stale runs: RUNNING jobs whose heartbeat is older than `jobsRescheduleAfterMinutes` are marked
 *   FAILED and rescheduled (no job stays RUNNING forever);
 * - reconcile: D1 (the truth) against the job objects, through `job_schedule` (what each object last
 *   did): objects never synced, synced to an older version of their row, holding an alarm that is
 *   overdue (it did not fire), running without a heartbeat, or left over from a deleted job are synced
 *   again, so no job is without its alarm for longer than one pass;
 * - cleanup: finished run-once jobs after `jobsCleanupAfterMinutes`; run history of deleted jobs;
 *   the run history's retention (`jobsRunHistoryMaxDays`, `jobsRunHistoryPerJob`).
 * HOUSEKEEPING reaches these through its run context (`maintenanceFor`); the Worker's Cron Trigger
 * runs `scheduledMaintenance` and, beside it, the repairs of other modules (src/maintenance.ts).
 */
import type { Maintenance } from "../jobs/contract";
import { loadSettings, type Settings } from "../settings/settings";
import type { SyncOptions } from "./engine";
import { syncJobObject } from "./sync";
import { RUN_ONCE_SQL, resetStaleRuns, retentionStatement } from "./store";

/** An alarm this late, or a heartbeat this old, makes reconcile look at the object. */
export const RECONCILE_GRACE_MS = 60_000;
const MAX_SYNCS_PER_PASS = 2000;
const SYNC_CONCURRENCY = 50;

export const STALE_RUN_MESSAGE = "Job run was lost: no heartbeat";

async function syncAll(env: Env, uids: string[], opts?: SyncOptions): Promise<number> {
  let ok = 0;
  for (let i = 0; i < uids.length; i += SYNC_CONCURRENCY) {
    const results = await Promise.allSettled(uids.slice(i, i + SYNC_CONCURRENCY).map((uid) => syncJobObject(env, uid, opts)));
    ok += results.filter((r) => r.status === "fulfilled").length;
  }
  return ok;
}

/** Marks stale RUNNING jobs FAILED and re-arms their objects. Returns the reset UIDs. */
export async function resetStaleJobs(env: Env, now: number, settings?: Settings): Promise<string[]> {
  const s = settings ?? (await loadSettings(env.DB));
  const uids = await resetStaleRuns(env.DB, now, now - s.jobsRescheduleAfterMinutes * 60_000, STALE_RUN_MESSAGE);
  await syncAll(env, uids);
  return uids;
}

/** Finds job objects out of step with D1 and syncs them. Returns how many were synced. */
export async function reconcileJobObjects(env: Env, now: number): Promise<number> {
  const cutoff = now - RECONCILE_GRACE_MS;
  const [outOfStep, orphans] = await env.DB.batch<{ uid: string }>([
    env.DB.prepare(
      `SELECT c.uid AS uid FROM job_configurations c LEFT JOIN job_schedule s ON s.job_uid = c.uid
         WHERE (s.job_uid IS NULL AND c.enabled = 1)
            OR (s.job_uid IS NOT NULL AND (s.synced_version IS NOT c.version OR s.synced_last_updated IS NOT c.last_updated))
            OR (s.alarm_at IS NOT NULL AND s.alarm_at < ?1
                AND NOT (c.job_status = 'RUNNING' AND COALESCE(c.last_alive, 0) >= ?1))
            OR (c.job_status = 'RUNNING' AND COALESCE(c.last_alive, c.last_executed, 0) < ?1)
         LIMIT ?2`,
    ).bind(cutoff, MAX_SYNCS_PER_PASS),
    env.DB.prepare(
      `SELECT s.job_uid AS uid FROM job_schedule s LEFT JOIN job_configurations c ON c.uid = s.job_uid
         WHERE c.uid IS NULL LIMIT ?`,
    ).bind(MAX_SYNCS_PER_PASS),
  ]);
  const uids = [...outOfStep.results, ...orphans.results].map((r) => r.uid);
  // An occurrence these objects should have run by now starts as a RECOVERY run.
  return syncAll(env, uids, { recovery: true });
}

/** DHIS2's housekeeping step: SCHEDULED jobs that are not enabled show DISABLED. */
export async function markDisabledJobs(env: Env): Promise<number> {
  const r = await env.DB.prepare(
    `UPDATE job_configurations SET job_status = 'DISABLED' WHERE enabled = 0 AND job_status = 'SCHEDULED'`,
  ).run();
  return r.meta.changes ?? 0;
}

/**
 * Deletes finished run-once jobs (not system jobs) whose run ended more than `minutes` ago. As in
 * DHIS2 (`deleteFinishedJobs`) only jobs scheduled ONCE_ASAP qualify: a job that left a queue keeps
 * its CRON type without a cron and waits, disabled, for a new schedule; it is never deleted.
 */
export async function cleanupFinishedRunOnceJobs(env: Env, now: number, minutes: number): Promise<string[]> {
  const { results } = await env.DB.prepare(
    `DELETE FROM job_configurations
       WHERE system = 0 AND enabled = 0 AND job_status = 'DISABLED' AND ${RUN_ONCE_SQL}
         AND (scheduling_type IS NULL OR scheduling_type = 'ONCE_ASAP')
         AND last_finished IS NOT NULL AND last_finished < ?
       RETURNING uid`,
  )
    .bind(now - minutes * 60_000)
    .all<{ uid: string }>();
  const uids = results.map((r) => r.uid);
  await syncAll(env, uids);
  return uids;
}

/** Run history of jobs that no longer exist, once older than the cleanup period. */
export async function pruneRunHistory(env: Env, now: number, minutes: number): Promise<number> {
  const r = await env.DB.prepare(
    `DELETE FROM job_runs WHERE NOT EXISTS (SELECT 1 FROM job_configurations c WHERE c.uid = job_runs.job_uid)
         AND COALESCE(finished_at, started_at, scheduled_at) < ?`,
  )
    .bind(now - minutes * 60_000)
    .run();
  return r.meta.changes ?? 0;
}

/** Rows one retention pass deletes at most (the next pass goes on). */
export const RETENTION_BATCH = 5000;

/**
 * The run history's retention: runs that ended (or were skipped) more than `jobsRunHistoryMaxDays`
 * ago, and each job's runs beyond its newest `jobsRunHistoryPerJob` (a run's end trims its own job;
 * this catches a lowered setting). A run in progress is never deleted. Returns the rows deleted.
 */
export async function applyRunRetention(env: Env, now: number, settings: Settings): Promise<number> {
  const db = env.DB;
  const cutoff = now - settings.jobsRunHistoryMaxDays * 24 * 3600_000;
  const keep = Math.max(1, settings.jobsRunHistoryPerJob);
  const [aged, crowded] = await db.batch<{ job_uid: string }>([
    db
      .prepare(
        `DELETE FROM job_runs WHERE id IN (
           SELECT id FROM job_runs WHERE scheduled_at < ?1 AND status <> 'RUNNING' AND COALESCE(finished_at, started_at, scheduled_at) < ?1
           LIMIT ?2)`,
      )
      .bind(cutoff, RETENTION_BATCH),
    db.prepare(`SELECT job_uid FROM job_runs GROUP BY job_uid HAVING COUNT(*) > ? LIMIT 100`).bind(keep),
  ]);
  let deleted = aged.meta.changes ?? 0;
  if (crowded.results.length) {
    const trimmed = await db.batch(crowded.results.map((r) => retentionStatement(db, r.job_uid, keep)));
    for (const t of trimmed) deleted += t.meta.changes ?? 0;
  }
  return deleted;
}

/** The scheduler's part of the Worker's Cron Trigger: stale runs, then the job objects reconciled. */
export async function scheduledMaintenance(env: Env, now: number): Promise<{ stale: string[]; synced: number }> {
  const settings = await loadSettings(env.DB);
  const stale = await resetStaleJobs(env, now, settings);
  const synced = await reconcileJobObjects(env, now);
  return { stale, synced };
}

/** The maintenance work a run context offers its handler (HOUSEKEEPING). */
export function maintenanceFor(env: Env): Maintenance {
  return {
    resetStaleJobs: (now, settings) => resetStaleJobs(env, now, settings),
    markDisabledJobs: () => markDisabledJobs(env),
    cleanupFinishedRunOnceJobs: (now, minutes) => cleanupFinishedRunOnceJobs(env, now, minutes),
    reconcileJobObjects: (now) => reconcileJobObjects(env, now),
    pruneRunHistory: (now, minutes) => pruneRunHistory(env, now, minutes),
    applyRunRetention: (now, settings) => applyRunRetention(env, now, settings),
  };
}
