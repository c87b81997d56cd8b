/**
 * Task notification retention (DHIS2 2.42 settings `notifierMaxAgeDays`, default 7, and
 * `notifierMaxJobsPerType`, default 500). Called by the HOUSEKEEPING job or the Worker's cron.
 * KV keys also expire by themselves `notifierMaxAgeDays` after their last write.
 */
import { loadTaskSettings, pruneTasks } from "./service";

export interface TaskCleanupResult {
  /** Jobs whose notifications and summary were removed. */
  removed: number;
}

/**
 * Drops jobs whose last activity is older than `notifierMaxAgeDays` and keeps at most
 * `notifierMaxJobsPerType` most recently active jobs per type. Idempotent; bounded per call
 * (MAX_CLEARED_PER_CALL jobs, the rest on the next call).
 */
export async function cleanupTasks(env: Env, now: number): Promise<TaskCleanupResult> {
  const settings = await loadTaskSettings(env.DB);
  const removed = await pruneTasks(env, { maxAgeDays: settings.maxAgeDays, maxCount: settings.maxJobsPerType, now });
  return { removed };
}
