/**
 * Worker entry: the HTTP API, the Cron Trigger safety net, the per-job Durable Object class, and what
 * plugs into the scheduler: the run listeners that receive run lifecycle events and the start guards
 * (src/scheduling/hooks.ts). Registered at module load, before any job object exists.
 * The `queue` handler consumes the alert queue and its dead-letter queue (src/alerts/deliver.ts).
 */
import { consumeAlerts, isAlertQueue } from "./alerts/deliver";
import { alertListener, repairAlerts } from "./alerts/listener";
import { app } from "./app";
import { clock } from "./http/clock";
import { logEvent } from "./http/log";
import { cronMaintenance } from "./maintenance";
import { queueContinuation, queueHeadGuard } from "./queues/hooks";
import { registerRunListeners, registerStartGuards } from "./scheduling/hooks";
import { cleanupTasks } from "./tasks/cleanup";

export { JobObject } from "./scheduling/job-object";

registerRunListeners([queueContinuation, alertListener]);
registerStartGuards([queueHeadGuard]);

export default {
  fetch: app.fetch,
  async scheduled(_controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
    // The scheduler's safety net: stale runs reset, job objects reconciled with D1, queue runs repaired.
    const now = clock.now();
    ctx.waitUntil(
      cronMaintenance(env, now).then(
        () => undefined,
        (e) => console.error("scheduler maintenance failed", e),
      ),
    );
    // Task notification retention (age and jobs per type): it lists the KV keys, so once a minute.
    ctx.waitUntil(
      cleanupTasks(env, now).then(
        () => undefined,
        (e) => console.error("task notification cleanup failed", e),
      ),
    );
    // Alert deliveries whose enqueue was interrupted go on the queue again; old ones are purged.
    ctx.waitUntil(
      repairAlerts(env, now).then(
        () => undefined,
        (e) => logEvent("error", "alert.repair_failed", { error: e }),
      ),
    );
  },
  async queue(batch: MessageBatch, env: Env, _ctx: ExecutionContext): Promise<void> {
    if (isAlertQueue(batch.queue)) return consumeAlerts(batch, env, () => clock.now());
    // A queue this Worker does not know: leave its messages to the platform's retries, loudly.
    logEvent("error", "queue.unknown", { queue: batch.queue, messages: batch.messages.length });
    batch.retryAll();
  },
} satisfies ExportedHandler<Env>;
