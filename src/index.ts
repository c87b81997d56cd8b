/** Worker entry: the HTTP API, the Cron Trigger safety net, and the per-job Durable Object class. */
import { app } from "./app";
import type { Env } from "./env";

export { JobObject } from "./scheduling/job-object";

export default {
  fetch: app.fetch,
  async scheduled(_controller: ScheduledController, _env: Env, _ctx: ExecutionContext): Promise<void> {},
} satisfies ExportedHandler<Env>;
