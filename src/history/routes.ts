/**
 * Run history (beyond DHIS2; mounted at /api):
 * - `GET /jobConfigurations/{id}/runs` — one job's runs;
 * - `GET /scheduler/runs` — every job's runs (also of deleted jobs, until retention removes them).
 *
 * Filters `status`, `trigger`, `type` (the second route), `since`/`until` (the scheduled instant,
 * inclusive); paged in SQL (`page`, `pageSize`, DHIS2's `pager`); newest first. Each run: its id,
 * scheduled instant, trigger (MANUAL with the user, QUEUE with the queue), start, end, duration,
 * start lateness, status, error codes, message. The rows are the engine's own (`job_runs`, see
 * docs/ARCHITECTURE.md "Run history"). Who reads which run: as for a job's progress
 * (src/scheduling/access.ts): superusers and F_JOB_LOG_READ every run; anyone else the runs that ran
 * as them or that they started, and the runs of jobs that run as them.
 */
import { createRoute, type z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { formatDate, serverTimeZone } from "../http/dates";
import { errorResponses, jsonContent } from "../http/openapi";
import { buildPager } from "../http/pager";
import { apiUrl } from "../http/respond";
import { type AppEnv, createRouter, SECURED } from "../http/router";
import { forbidden, notFoundObject } from "../http/webmessage";
import { errorCodeList } from "../scheduling/engine-events";
import { readsAllRunLogs } from "../scheduling/access";
import { readJob } from "../scheduling/store";
import { currentUser } from "../users/auth";
import { JobIdParam, JobRunsQuery, JSON_HEADERS, queryInstant, RunPageSchema, type RunSchema, RunsQuery } from "./schemas";
import { hasOwnRun, type HistoryRow, listRuns, type RunFilter } from "./store";

export const runHistoryRoutes = createRouter();

type Run = z.infer<typeof RunSchema>;

/** A history row as the API shows it (dates in the server zone, absent members omitted). */
export function runJson(r: HistoryRow, tz: string): Run {
  const run: Run = {
    id: `${r.job_uid}-${r.scheduled_at}`,
    jobId: r.job_uid,
    jobType: r.job_type,
    scheduled: formatDate(r.scheduled_at, tz) ?? "",
    trigger: r.trigger as Run["trigger"],
    status: r.status as Run["status"],
    errorCodes: errorCodeList(r.error_codes),
  };
  if (r.job_name != null) run.jobName = r.job_name;
  if (r.trigger === "MANUAL" && r.triggered_by) run.triggeredBy = r.triggered_by;
  if (r.queue_name != null) run.queue = r.queue_name;
  if (r.executed_by) run.executedBy = r.executed_by;
  if (r.started_at != null) {
    run.started = formatDate(r.started_at, tz);
    run.latenessMs = r.started_at - r.scheduled_at;
  }
  if (r.finished_at != null) run.finished = formatDate(r.finished_at, tz);
  if (r.started_at != null && r.finished_at != null) run.durationMs = r.finished_at - r.started_at;
  const message = r.message ?? r.error;
  if (message) run.message = message;
  if (r.item_error_count > 0) run.itemErrors = r.item_error_count;
  return run;
}

async function page(
  c: Context<AppEnv>,
  path: string,
  filter: RunFilter,
  q: { since?: string; until?: string; page: number; pageSize: number },
) {
  const user = currentUser(c);
  const tz = serverTimeZone(c.env);
  const { total, rows } = await listRuns(
    c.env.DB,
    { ...filter, since: queryInstant(q.since, tz), until: queryInstant(q.until, tz) },
    { uid: user.uid, readsAll: readsAllRunLogs(user) },
    { page: q.page, pageSize: q.pageSize },
  );
  const pager = buildPager(new URL(c.req.url), apiUrl(c, path), q.page, q.pageSize, total);
  return { pager, runs: rows.map((r) => runJson(r, tz)) };
}

const DESCRIPTION =
  "Newest first (scheduled instant). `status`, `trigger` and `type` take several values (repeated, or separated by commas); " +
  "`since`/`until` bound the scheduled instant (inclusive). Superusers and F_JOB_LOG_READ see every run; anyone else the " +
  "runs that ran as them or that they started, and the runs of jobs that run as them. Retention: `jobsRunHistoryMaxDays` " +
  "and `jobsRunHistoryPerJob` (system settings), applied by HOUSEKEEPING.";

const jobRunsRoute = createRoute({
  method: "get",
  path: "/jobConfigurations/{id}/runs",
  operationId: "getJobConfigurationRuns",
  summary: "Run history of a job",
  description: `${DESCRIPTION} 404 for an unknown job; 403 for a user who may read none of its runs.`,
  tags: ["jobConfigurations"],
  security: SECURED,
  request: { params: JobIdParam, query: JobRunsQuery },
  responses: { 200: jsonContent(RunPageSchema, "A page of runs with DHIS2's pager"), ...errorResponses(400, 401, 403, 404) },
});

runHistoryRoutes.openapi(jobRunsRoute, async (c) => {
  const { id } = c.req.valid("param");
  const q = c.req.valid("query");
  const user = currentUser(c);
  const job = await readJob(c.env.DB, id);
  if (!job) throw notFoundObject("JobConfiguration", id);
  if (!readsAllRunLogs(user) && job.executed_by !== user.uid && !(await hasOwnRun(c.env.DB, id, user.uid))) {
    throw forbidden(`User has no access to JobConfiguration:${id}`);
  }
  const body = await page(c, `/jobConfigurations/${id}/runs`, { job: id, status: q.status, trigger: q.trigger }, q);
  return c.json(body, 200, JSON_HEADERS);
});

const runsRoute = createRoute({
  method: "get",
  path: "/scheduler/runs",
  operationId: "getSchedulerRuns",
  summary: "Run history of every job",
  description: `${DESCRIPTION} Runs of deleted jobs stay until the retention (or the deleted jobs' cleanup) removes them.`,
  tags: ["scheduler"],
  security: SECURED,
  request: { query: RunsQuery },
  responses: { 200: jsonContent(RunPageSchema, "A page of runs with DHIS2's pager"), ...errorResponses(400, 401) },
});

runHistoryRoutes.openapi(runsRoute, async (c) => {
  const q = c.req.valid("query");
  const body = await page(c, "/scheduler/runs", { status: q.status, trigger: q.trigger, type: q.type }, q);
  return c.json(body, 200, JSON_HEADERS);
});
