/**
 * The Worker's Cron Trigger maintenance (every minute), composed at the entry side: the scheduler's
 * safety net (stale runs reset, job objects reconciled with D1), then the queue runs a crash
 * interrupted continued, requested again or failed. The scheduler does not know queues; this module
 * puts the two side by side.
 */
import { reconcileQueueRuns, type ReconcileReport } from "./queues/runs";
import { scheduledMaintenance } from "./scheduling/reconcile";

export interface CronMaintenanceReport {
  stale: string[];
  synced: number;
  queues: ReconcileReport;
}

export async function cronMaintenance(env: Env, now: number): Promise<CronMaintenanceReport> {
  const scheduler = await scheduledMaintenance(env, now);
  const queues = await reconcileQueueRuns(env, now);
  return { ...scheduler, queues };
}
