/**
 * HOUSEKEEPING (system job `DHIS2rocks1`, every 20 s): resets stale runs, shows disabled jobs as
 * DISABLED, deletes finished run-once jobs after `jobsCleanupAfterMinutes`, reconciles the job
 * objects with D1, prunes the run history of deleted jobs and applies the run history's retention
 * (`jobsRunHistoryMaxDays`, `jobsRunHistoryPerJob`): the scheduler's maintenance work,
 * which the run context provides (`ctx.maintenance`).
 */
import { loadSettings } from "../../settings/settings";
import type { JobHandler } from "../contract";

export const housekeepingHandler: JobHandler = async (ctx) => {
  const { env, progress, maintenance } = ctx;
  const settings = await loadSettings(env.DB);

  progress.startingStage("Reset stale running jobs");
  const stale = await maintenance.resetStaleJobs(ctx.now(), settings);
  progress.completedStage(`${stale.length} stale job(s) reset`);
  ctx.throwIfCancelled();

  progress.startingStage("Mark disabled jobs");
  const disabled = await maintenance.markDisabledJobs();
  progress.completedStage(`${disabled} job(s) marked DISABLED`);
  ctx.throwIfCancelled();

  progress.startingStage("Remove finished run-once jobs");
  const removed = await maintenance.cleanupFinishedRunOnceJobs(ctx.now(), settings.jobsCleanupAfterMinutes);
  progress.completedStage(`${removed.length} job(s) removed`);
  ctx.throwIfCancelled();

  progress.startingStage("Reconcile job schedules");
  const synced = await maintenance.reconcileJobObjects(ctx.now());
  progress.completedStage(`${synced} job object(s) synced`);
  ctx.throwIfCancelled();

  progress.startingStage("Prune run history");
  const pruned = await maintenance.pruneRunHistory(ctx.now(), settings.jobsCleanupAfterMinutes);
  const expired = await maintenance.applyRunRetention(ctx.now(), settings);
  progress.completedStage(`${pruned} run(s) of deleted jobs pruned, ${expired} run(s) past the retention deleted`);

  return {
    message: "Housekeeping completed",
    summary: { staleReset: stale.length, disabled, removed: removed.length, synced, pruned, expired },
  };
};
