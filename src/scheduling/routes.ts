/**
 * Job control routes (mounted at /api):
 * - `POST /jobConfigurations/{id}/execute` — start now (through the job's object, not at a tick);
 * - `POST /jobConfigurations/{id}/enable` and `/disable` — 204, idempotent;
 * - `POST /jobConfigurations/{id}/cancel` — cooperative cancel, 204;
 * - `POST /jobConfigurations/{id}/revert` — force a stuck RUNNING job back (FAILED), 204;
 * - `GET /jobConfigurations/{id}/progress` — the progress tree of the current or last run;
 * - `GET /jobConfigurations/due`, `/stale` and `POST /jobConfigurations/clean` — DHIS2's (beta)
 *   maintenance views: jobs due soon, runs without heartbeat (JobEntry lists), and the deletion of
 *   finished run-once jobs (entries.ts).
 */
import { WebMessageSchema } from "../http/openapi";
import { createRoute, type RouteConfig, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { currentUser, requireAuthority } from "../users/auth";
import { clock } from "../http/clock";
import { badRequest } from "../http/webmessage";
import { queryBool, queryInt, uidParam } from "../http/params";
import { NO_STORE } from "../http/respond";
import { createRouter, SECURED, type AppEnv } from "../http/router";
import { conflict, forbidden, notFoundObject } from "../http/webmessage";
import { isSystemJobType } from "../jobs/registry";
import { hasAuthority } from "../users/store";
import { progressJson } from "./progress";
import { ProgressSchema } from "./progress-schema";
import { hasUsableSchedule } from "./schedule";
import { dueJobs, JobEntrySchema, jobEntryJson, staleJobs } from "./entries";
import { cleanupFinishedRunOnceJobs } from "./reconcile";
import { failLostRun, readJob, type JobRow } from "./store";
import { jobObject, syncJobObject } from "./sync";
import { serverTimeZone } from "../http/dates";
import { isExecutingUser, mayCancelRun, requireSchedulingAdmin } from "./access";

export const schedulingRoutes = createRouter();

const SECURITY = SECURED;
const MAINTENANCE = "F_PERFORM_MAINTENANCE";
const JOB_KLASS = "org.hisp.dhis.scheduling.JobConfiguration";
/** `/revert` only applies when the heartbeat is older than this. */
export const REVERT_MIN_SILENCE_MS = 60_000;

const params = z.object({ id: uidParam() });

const webMessageContent = { "application/json": { schema: WebMessageSchema } };

function errorResponses(codes: number[]) {
  const text: Record<number, string> = {
    400: "Invalid UID (WebMessage)",
    401: "Missing or bad credentials",
    403: "Missing authority (WebMessage)",
    404: "No job with this UID (WebMessage, E1005)",
    409: "The job's state does not allow it (WebMessage)",
  };
  return Object.fromEntries(codes.map((c) => [c, { description: text[c], content: webMessageContent }]));
}

function action<R extends RouteConfig["responses"]>(path: string, summary: string, responses: R) {
  return createRoute({
    method: "post",
    path: `/jobConfigurations/{id}/${path}`,
    summary,
    tags: ["jobConfigurations"],
    security: SECURITY,
    request: { params },
    responses,
  });
}

const executeRoute = action("execute", "Start the job now; it then returns to its schedule", {
  200: {
    description: "Started (a bare ObjectReport, kept for compatibility)",
    content: {
      "application/json": {
        schema: z
          .object({ klass: z.string(), index: z.number(), errorReports: z.array(z.unknown()) })
          .openapi({ example: { klass: JOB_KLASS, index: 0, errorReports: [] } }),
      },
    },
  },
  ...errorResponses([400, 401, 403, 404, 409]),
});
const enableRoute = action("enable", "Enable the job (idempotent)", {
  204: { description: "Enabled" },
  ...errorResponses([400, 401, 403, 404, 409]),
});
const disableRoute = action("disable", "Disable the job (idempotent); a run in progress finishes", {
  204: { description: "Disabled" },
  ...errorResponses([400, 401, 403, 404, 409]),
});
const cancelRoute = action("cancel", "Cancel the running job (cooperative: it stops at its next check, STOPPED)", {
  204: { description: "Cancel requested (or nothing to cancel)" },
  ...errorResponses([400, 401, 403, 404]),
});
const revertRoute = action("revert", "Force a stuck RUNNING job back to its schedule; the run counts as FAILED", {
  204: { description: "Reverted" },
  ...errorResponses([400, 401, 403, 404, 409]),
});
const progressRoute = createRoute({
  method: "get",
  path: "/jobConfigurations/{id}/progress",
  summary: "Progress tree of the job's current or last run",
  tags: ["jobConfigurations"],
  security: SECURITY,
  request: { params },
  responses: {
    200: {
      description: "`{sequence:[process], errors:{}}`",
      content: { "application/json": { schema: ProgressSchema } },
    },
    ...errorResponses([400, 401, 403, 404]),
  },
});

const entryList = { "application/json": { schema: z.array(JobEntrySchema) } };

const dueRoute = createRoute({
  method: "get",
  path: "/jobConfigurations/due",
  summary: "Enabled jobs whose next start is at most `seconds` away (DHIS2 beta)",
  description:
    "Soonest first, as the job objects have armed them. Without `includeWaiting`, jobs that would wait for a RUNNING job of their type are left out.",
  tags: ["jobConfigurations"],
  security: SECURITY,
  request: { query: z.object({ seconds: queryInt(), includeWaiting: queryBool(false) }) },
  responses: { 200: { description: "JobEntry list", content: entryList }, ...errorResponses([400, 401]) },
});

const staleRoute = createRoute({
  method: "get",
  path: "/jobConfigurations/stale",
  summary: "RUNNING jobs without a heartbeat for more than `seconds` (DHIS2 beta)",
  tags: ["jobConfigurations"],
  security: SECURITY,
  request: { query: z.object({ seconds: queryInt() }) },
  responses: {
    200: { description: "JobEntry list, oldest heartbeat first", content: entryList },
    ...errorResponses([400, 401]),
  },
});

const cleanRoute = createRoute({
  method: "post",
  path: "/jobConfigurations/clean",
  summary: "Delete finished run-once jobs whose run ended more than `minutes` ago (DHIS2 beta)",
  description: "Requires ALL or F_PERFORM_MAINTENANCE. System jobs are never deleted.",
  tags: ["jobConfigurations"],
  security: SECURITY,
  request: { query: z.object({ minutes: queryInt() }) },
  responses: { 204: { description: "Done" }, ...errorResponses([400, 401, 403]) },
});

type Ctx = Context<AppEnv>;

/** A required int query parameter (Spring's wording when it is missing). */
function required(value: number | undefined, name: string): number {
  if (value === undefined) throw badRequest(`Required request parameter '${name}' for method parameter type int is not present`);
  return value;
}

const JSON_NO_STORE = { "Content-Type": "application/json;charset=UTF-8", "Cache-Control": NO_STORE };

function entries(c: Ctx, rows: JobRow[]) {
  const tz = serverTimeZone(c.env);
  return rows.map((r) => jobEntryJson(r, tz));
}

schedulingRoutes.openapi(dueRoute, async (c) => {
  const q = c.req.valid("query");
  const rows = await dueJobs(c.env.DB, clock.now(), required(q.seconds, "seconds"), q.includeWaiting === true);
  return c.json(entries(c, rows), 200, JSON_NO_STORE);
});

schedulingRoutes.openapi(staleRoute, async (c) => {
  const q = c.req.valid("query");
  return c.json(entries(c, await staleJobs(c.env.DB, clock.now(), required(q.seconds, "seconds"))), 200, JSON_NO_STORE);
});

schedulingRoutes.openapi(cleanRoute, async (c) => {
  const q = c.req.valid("query");
  requireAuthority(currentUser(c), [MAINTENANCE], `Access is denied, requires one Authority from [${MAINTENANCE}]`);
  await cleanupFinishedRunOnceJobs(c.env, clock.now(), required(q.minutes, "minutes"));
  return c.body(null, 204);
});

function requireWrite(c: Ctx): void {
  requireSchedulingAdmin(currentUser(c));
}

async function loadJob(c: Ctx, uid: string): Promise<JobRow> {
  const row = await readJob(c.env.DB, uid);
  if (!row) throw notFoundObject("JobConfiguration", uid);
  return row;
}

function isSystemJob(row: JobRow): boolean {
  return row.system === 1 || isSystemJobType(row.job_type);
}

schedulingRoutes.openapi(executeRoute, async (c) => {
  const { id } = c.req.valid("param");
  requireWrite(c);
  const user = currentUser(c);
  const result = await jobObject(c.env, id).executeNow(id, user.uid);
  switch (result) {
    case "not_found":
      throw notFoundObject("JobConfiguration", id);
    case "running":
      throw conflict("Job is already running.");
    case "disabled":
      throw conflict("Failed to transition job into ONCE_ASAP state.");
  }
  return c.json({ klass: JOB_KLASS, index: 0, errorReports: [] }, 200, JSON_NO_STORE);
});

async function setEnabled(c: Ctx, id: string, enabled: boolean): Promise<void> {
  requireWrite(c);
  const row = await loadJob(c, id);
  if (isSystemJob(row)) throw conflict(`Job ${id} is a system job that cannot be modified.`);
  // A queue member has no cron of its own: its queue's head schedules it. (A job that left its queue
  // lost its queue and its cron, so enabling it needs a schedule first, as in DHIS2.)
  if (
    enabled &&
    row.enabled !== 1 &&
    row.queue_name == null &&
    !hasUsableSchedule({ schedulingType: row.scheduling_type, cronExpression: row.cron_expression, delay: row.delay })
  ) {
    throw conflict("Job requires schedule setup before it can be enabled.");
  }
  if ((row.enabled === 1) !== enabled) {
    const now = clock.now();
    await c.env.DB.prepare(
      `UPDATE job_configurations SET enabled = ?1,
         job_status = CASE WHEN job_status = 'RUNNING' THEN 'RUNNING' WHEN ?1 = 1 THEN 'SCHEDULED' ELSE 'DISABLED' END,
         last_updated = ?2, last_updated_by = ?3
       WHERE uid = ?4`,
    )
      .bind(enabled ? 1 : 0, now, currentUser(c).uid, id)
      .run();
  }
  await syncJobObject(c.env, id);
}

schedulingRoutes.openapi(enableRoute, async (c) => {
  await setEnabled(c, c.req.valid("param").id, true);
  return c.body(null, 204);
});
schedulingRoutes.openapi(disableRoute, async (c) => {
  await setEnabled(c, c.req.valid("param").id, false);
  return c.body(null, 204);
});

schedulingRoutes.openapi(cancelRoute, async (c) => {
  const { id } = c.req.valid("param");
  const user = currentUser(c);
  const row = await loadJob(c, id);
  if (!(await mayCancelRun(c.env.DB, user, row))) throw forbidden(`User has no access to JobConfiguration:${id}`);
  await jobObject(c.env, id).cancel(id, user.uid);
  return c.body(null, 204);
});

schedulingRoutes.openapi(revertRoute, async (c) => {
  const { id } = c.req.valid("param");
  const user = currentUser(c);
  requireAuthority(user, [MAINTENANCE], `Access is denied, requires one Authority from [${MAINTENANCE}]`);
  const row = await loadJob(c, id);
  if (row.job_status !== "RUNNING") throw conflict("Job is not running");
  const now = clock.now();
  const alive = row.last_alive ?? row.last_executed ?? 0;
  if (now - alive <= REVERT_MIN_SILENCE_MS) throw conflict("Failed to transition job from RUNNING state");
  const ok = await failLostRun(c.env.DB, id, row.last_executed ?? 0, now, `Reverted by ${user.username}`);
  if (!ok) throw conflict("Failed to transition job from RUNNING state");
  await syncJobObject(c.env, id);
  return c.body(null, 204);
});

schedulingRoutes.openapi(progressRoute, async (c) => {
  const { id } = c.req.valid("param");
  const user = currentUser(c);
  const row = await loadJob(c, id);
  const mayReadLog = hasAuthority(user, "F_JOB_LOG_READ");
  if (!mayReadLog && !(await isExecutingUser(c.env.DB, row, user.uid))) {
    throw forbidden(`User has no access to JobConfiguration:${id}`);
  }
  const process = await jobObject(c.env, id).getProgress();
  return c.json(progressJson(process, serverTimeZone(c.env), mayReadLog), 200, JSON_NO_STORE);
});
