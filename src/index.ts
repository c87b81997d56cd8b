/**
 * Worker entry: the HTTP API, the Cron Trigger safety net, the per-job Durable Object class, and what
 * plugs into the scheduler: the run listeners that receive run lifecycle events and the start guards
 * (src/scheduling/hooks.ts). Registered at module load, before any job object exists.
 *
 * Cold start: the HTTP app (its routes and their zod schemas, most of the startup CPU) is loaded by the
 * first request, not when the isolate starts: the bundler turns `import("./app")` into a lazy module
 * initialiser in the same bundle, so a Cron Trigger or a job's alarm never pays for it, and the
 * startup phase stays small (`npm run bench -- startup`).
 */
import { clock } from "./http/clock";
import { logEvent } from "./http/log";
import { cronMaintenance } from "./maintenance";
import { runAnalytics, runLog } from "./metrics/run-listeners";
import { queueContinuation, queueHeadGuard } from "./queues/hooks";
import { registerRunListeners, registerStartGuards } from "./scheduling/hooks";
import { cleanupTasks } from "./tasks/cleanup";

export { JobObject } from "./scheduling/job-object";

registerRunListeners([queueContinuation, runLog, runAnalytics]);
registerStartGuards([queueHeadGuard]);

/** The Cron Trigger's tasks: each runs even when the other fails. */
const CRON_TASKS = {
  // The scheduler's safety net (stale runs reset, job objects reconciled with D1), then queue runs repaired.
  maintenance: (env: Env, now: number) => cronMaintenance(env, now),
  // Task notification retention (age and jobs per type): it lists the KV keys, so once a minute.
  taskCleanup: (env: Env, now: number) => cleanupTasks(env, now),
} as const;

export default {
  async fetch(req: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    const { app } = await import("./app");
    return app.fetch(req, env, ctx);
  },
  /**
   * A failed task is logged (`cron_task_failed`, one JSON line) and fails the invocation, so it shows
   * as an error in the Cron Events and Workers Logs instead of being swallowed.
   */
  async scheduled(controller: ScheduledController, env: Env, _ctx: ExecutionContext): Promise<void> {
    const now = clock.now();
    const names = Object.keys(CRON_TASKS) as (keyof typeof CRON_TASKS)[];
    const results = await Promise.allSettled(names.map((name) => CRON_TASKS[name](env, now)));
    const failed: string[] = [];
    results.forEach((r, i) => {
      if (r.status === "fulfilled") return;
      failed.push(names[i]);
      logEvent("error", "cron_task_failed", { task: names[i], cron: controller.cron, error: r.reason });
    });
    if (failed.length > 0) throw new Error(`Cron Trigger failed: ${failed.join(", ")}`);
  },
} satisfies ExportedHandler<Env>;
