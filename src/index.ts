/** Worker entry: the HTTP API, the Cron Trigger safety net, and the per-job Durable Object class. */
import { app } from "./app";
import type { Env } from "./env";
import { clock } from "./http/clock";
import { scheduledMaintenance } from "./scheduling/reconcile";

export { JobObject } from "./scheduling/job-object";

export default {
  fetch: app.fetch,
  async scheduled(_controller: ScheduledController, env: Env, ctx: ExecutionContext): Promise<void> {
    // The scheduler's safety net: stale runs reset, job objects reconciled with D1.
    ctx.waitUntil(
      scheduledMaintenance(env, clock.now()).then(
        () => undefined,
        (e) => console.error("scheduler maintenance failed", e),
      ),
    );
  },
} satisfies ExportedHandler<Env>;
