/**
 * Job errors (DHIS2 2.41+, JobConfigurationController; mounted at /api before the job configuration
 * routes, so `errors` is not taken for a job id):
 * - `GET /jobConfigurations/errors` — per job, the item errors of its last finished run, newest
 *   first; filters `user`, `from`, `to`, `code`, `object`, `type`, `includeInput` (JobRunErrorsParams:
 *   all filters must match, any value within a list); superusers and F_JOB_LOG_READ only;
 * - `GET /jobConfigurations/{id}/errors` — that entry for one job, `{}` when its last finished run
 *   reported none;
 * - `GET /jobConfigurations/{id}/progress/errors` — the errors of the current or last run, from its
 *   progress (the job's object), as a flat list.
 * The last two: superusers, F_JOB_LOG_READ and the executing user (the user the job runs as, or the
 * starter of its current run), else 403; an unknown job 404 first.
 *
 * Item errors come from the progress API (`addError(code, uid, type, args)`, src/jobs/contract.ts),
 * which in-worker handlers and executor callbacks use; a run keeps at most MAX_ITEM_ERRORS of them,
 * in its `job_runs` row (written by the run's end).
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { formatDate, serverTimeZone } from "../http/dates";
import { errorResponses, jsonContent } from "../http/openapi";
import { type AppEnv, createRouter, SECURED } from "../http/router";
import { forbidden, notFoundObject } from "../http/webmessage";
import type { JobItemError } from "../jobs/contract";
import { isExecutingUser, JOB_LOG_READ, readsAllRunLogs } from "../scheduling/access";
import { plainItemError } from "../scheduling/progress";
import { readJob, type JobRow } from "../scheduling/store";
import { jobObject } from "../scheduling/sync";
import { currentUser, requireAuthority } from "../users/auth";
import { ErrorsQuery, ItemErrorSchema, JobIdParam, JobRunErrorsSchema, JSON_HEADERS, queryInstant } from "./schemas";
import { type ErrorFilter, type ErrorRow, findJobRunErrors } from "./store";

export const jobErrorRoutes = createRouter();

type JobRunErrors = z.infer<typeof JobRunErrorsSchema>;

function parseJson(text: string | null): unknown {
  if (text == null) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** A stored run's errors (written by the engine: a JSON array of JobItemError). */
function storedErrors(text: string): JobItemError[] {
  const parsed = parseJson(text);
  return Array.isArray(parsed) ? (parsed as JobItemError[]) : [];
}

/** DHIS2's JobRunErrors entry: the errors flattened with their messages, `codes` the code namespace. */
function entry(r: ErrorRow, tz: string, includeInput: boolean): JobRunErrors {
  return {
    id: r.job_uid,
    type: r.job_type,
    user: r.executed_by ?? null,
    created: formatDate(r.created, tz) ?? "",
    executed: formatDate(r.started_at, tz) ?? "",
    finished: formatDate(r.finished_at, tz) ?? null,
    file: null,
    filesize: null,
    filetype: null,
    codes: r.job_type === "TRACKER_IMPORT_JOB" ? "ValidationCode" : "ErrorCode",
    errors: storedErrors(r.item_errors).map((e) => ({ ...plainItemError(e), message: e.message })),
    input: includeInput ? parseJson(r.job_parameters) : null,
  };
}

/** 404 for an unknown job, then 403 unless the user reads all run logs or is the executing user. */
async function readableJob(c: Context<AppEnv>, id: string): Promise<JobRow> {
  const user = currentUser(c);
  const job = await readJob(c.env.DB, id);
  if (!job) throw notFoundObject("JobConfiguration", id);
  if (!readsAllRunLogs(user) && !(await isExecutingUser(c.env.DB, job, user.uid))) {
    throw forbidden(`User has no access to JobConfiguration:${id}`);
  }
  return job;
}

const TAGS = ["jobConfigurations"];

const listRoute = createRoute({
  method: "get",
  path: "/jobConfigurations/errors",
  operationId: "getJobConfigurationsErrors",
  summary: "Item errors of the jobs' last finished runs (DHIS2 2.41+, beta)",
  description:
    "One entry per job whose last finished run reported item errors, newest start first. Every filter must match; " +
    "`code`, `object` and `type` take several values (repeated, or separated by commas), any of which may match. " +
    "Superusers and F_JOB_LOG_READ only.",
  tags: TAGS,
  security: SECURED,
  request: { query: ErrorsQuery },
  responses: { 200: jsonContent(z.array(JobRunErrorsSchema), "JobRunErrors list"), ...errorResponses(400, 401, 403) },
});

jobErrorRoutes.openapi(listRoute, async (c) => {
  requireAuthority(currentUser(c), [JOB_LOG_READ], `Access is denied, requires one Authority from [${JOB_LOG_READ}]`);
  const q = c.req.valid("query");
  const tz = serverTimeZone(c.env);
  const filter: ErrorFilter = {
    user: q.user,
    from: queryInstant(q.from, tz),
    to: queryInstant(q.to, tz),
    code: q.code,
    object: q.object,
    type: q.type,
  };
  const rows = await findJobRunErrors(c.env.DB, filter);
  return c.json(
    rows.map((r) => entry(r, tz, q.includeInput === true)),
    200,
    JSON_HEADERS,
  );
});

const jobRoute = createRoute({
  method: "get",
  path: "/jobConfigurations/{id}/errors",
  operationId: "getJobConfigurationErrors",
  summary: "Item errors of the job's last finished run (DHIS2 2.41+, beta)",
  description: "`{}` when that run reported none. Superusers, F_JOB_LOG_READ and the executing user.",
  tags: TAGS,
  security: SECURED,
  request: { params: JobIdParam },
  responses: {
    200: jsonContent(z.union([JobRunErrorsSchema, z.object({}).strict()]), "JobRunErrors, or `{}`"),
    ...errorResponses(400, 401, 403, 404),
  },
});

jobErrorRoutes.openapi(jobRoute, async (c) => {
  const { id } = c.req.valid("param");
  await readableJob(c, id);
  const tz = serverTimeZone(c.env);
  const [row] = await findJobRunErrors(c.env.DB, { job: id });
  return c.json(row ? entry(row, tz, false) : {}, 200, JSON_HEADERS);
});

const progressRoute = createRoute({
  method: "get",
  path: "/jobConfigurations/{id}/progress/errors",
  operationId: "getJobConfigurationProgressErrors",
  summary: "Item errors of the job's current or last run, from its progress (DHIS2 2.41+, beta)",
  description: "A flat list (`[]` when none). Superusers, F_JOB_LOG_READ and the executing user.",
  tags: TAGS,
  security: SECURED,
  request: { params: JobIdParam },
  responses: { 200: jsonContent(z.array(ItemErrorSchema), "JobProgress.Error list"), ...errorResponses(400, 401, 403, 404) },
});

jobErrorRoutes.openapi(progressRoute, async (c) => {
  const { id } = c.req.valid("param");
  await readableJob(c, id);
  const process = await jobObject(c.env, id).getProgress();
  return c.json((process?.errors ?? []).map(plainItemError), 200, JSON_HEADERS);
});
