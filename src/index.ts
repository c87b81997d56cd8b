/**
 * Worker entry: the HTTP API, the Cron Trigger safety net, the per-job Durable Object class, and what
 * plugs into the scheduler: the run listeners that receive run lifecycle events and the start guards
 * (src/scheduling/hooks.ts). Registered at module load, before any job object exists.
 */
import { app } from "./app";
import { clock } from "./http/clock";
import { cronMaintenance } from "./maintenance";
import { queueContinuation, queueHeadGuard } from "./queues/hooks";
import { registerRunListeners, registerStartGuards } from "./scheduling/hooks";
import { cleanupTasks } from "./tasks/cleanup";

export { JobObject } from "./scheduling/job-object";

registerRunListeners([queueContinuation]);
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
  },
} satisfies ExportedHandler<Env>;
