/**
 * `/api/scheduling` (DHIS2's SchedulingController, 2.41+; mounted at /api), the runs per job type:
 * - `GET /scheduling/running/types` — the types with a job running now (array, any user);
 * - `GET /scheduling/running` and `/scheduling/completed` — `{TYPE: [ProcessInfo]}` of the run in
 *   progress / the most recent completed run of each type (runs the caller may not read left out);
 * - `GET /scheduling/running/{type}` and `/scheduling/completed/{type}` — that run's progress tree
 *   `{sequence, errors}`, or 200 with an empty body when there is none;
 * - `POST /scheduling/cancel/{type}` — cooperative cancel of the type's running job, 204.
 *
 * `{type}` is case-insensitive; an unknown one is DHIS2's 400 `No enum constant …JobType.<TYPE>`.
 * Which run and who may see or cancel it: overview.ts and access.ts.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { currentUser } from "../users/auth";
import { serverTimeZone } from "../http/dates";
import { errorResponses, jsonContent } from "../http/openapi";
import { NO_STORE } from "../http/respond";
import { createRouter, SECURED } from "../http/router";
import { ApiError, forbidden } from "../http/webmessage";
import { getJobType } from "../jobs/registry";
import { mayCancelRun, readsAllRunLogs } from "./access";
import { lastCompletedJobs, lastRunningJobs, mayRead, type OverviewJob, processInfoByType, runningTypes, withProgress } from "./overview";
import { progressJson } from "./progress";
import { ProgressDateSchema, ProgressSchema, ProgressStatusSchema } from "./progress-schema";
import { jobObject } from "./sync";

export const schedulingOverviewRoutes = createRouter();

const TAGS = ["scheduling"];
const JSON_HEADERS = { "Content-Type": "application/json;charset=UTF-8", "Cache-Control": NO_STORE };

const ProcessInfoSchema = z
  .object({
    jobId: z.string(),
    status: ProgressStatusSchema,
    description: z.string(),
    startedTime: ProgressDateSchema.optional(),
    completedTime: ProgressDateSchema.optional(),
    cancelledTime: ProgressDateSchema.optional(),
    summary: z.string().optional(),
    error: z.string().optional().openapi({ description: "Only for superusers and F_JOB_LOG_READ" }),
    stages: z.array(z.string()).openapi({ description: "One line per stage: its description, `[items/total]` when it has several items" }),
  })
  .openapi("SchedulingProcessInfo");

const ByTypeSchema = z.record(z.string(), z.array(ProcessInfoSchema)).openapi({ example: { ANALYTICS_TABLE: [] } });

const typeParam = z.object({
  type: z.string().openapi({ param: { name: "type", in: "path" }, description: "Job type (case-insensitive)", example: "ANALYTICS_TABLE" }),
});

/** DHIS2's `JobType.valueOf(type.toUpperCase())`: the canonical name, else its IllegalArgumentException (400, no error code). */
function jobTypeOf(raw: string): string {
  const upper = raw.toUpperCase();
  const type = getJobType(upper);
  if (!type) throw new ApiError(400, `No enum constant org.hisp.dhis.scheduling.JobType.${upper}`);
  return type.jobType;
}

const typesRoute = createRoute({
  method: "get",
  path: "/scheduling/running/types",
  summary: "Job types with a job running now",
  tags: TAGS,
  security: SECURED,
  responses: { 200: jsonContent(z.array(z.string()), "Job types, in DHIS2's enum order"), ...errorResponses(401) },
});

schedulingOverviewRoutes.openapi(typesRoute, async (c) => c.json(await runningTypes(c.env.DB), 200, JSON_HEADERS));

function overviewRoute(kind: "running" | "completed") {
  return createRoute({
    method: "get",
    path: `/scheduling/${kind}`,
    summary:
      kind === "running"
        ? "The run in progress of each job type, as one ProcessInfo per type"
        : "The most recent completed run of each job type, as one ProcessInfo per type",
    description: "Runs the caller may not read (superuser, F_JOB_LOG_READ, the job's executing user or the run's starter) are left out.",
    tags: TAGS,
    security: SECURED,
    responses: { 200: jsonContent(ByTypeSchema, "`{TYPE: [ProcessInfo]}`"), ...errorResponses(401) },
  });
}

function detailRoute(kind: "running" | "completed") {
  return createRoute({
    method: "get",
    path: `/scheduling/${kind}/{type}`,
    summary: kind === "running" ? "Progress tree of the type's running job" : "Progress tree of the type's most recent completed run",
    description: "200 with an empty body (no content type) when there is no such run.",
    tags: TAGS,
    security: SECURED,
    request: { params: typeParam },
    responses: {
      200: {
        description: "`{sequence, errors}` (errors only for superusers and F_JOB_LOG_READ); an empty body when there is no such run",
        content: {
          "application/json": { schema: ProgressSchema },
          "*/*": { schema: z.string().max(0).openapi({ description: "Empty body, no content type: no such run" }) },
        },
      },
      ...errorResponses(400, 401, 403),
    },
  });
}

const jobsOf = (kind: "running" | "completed") => (kind === "running" ? lastRunningJobs : lastCompletedJobs);
const noAccess = (job: OverviewJob) => forbidden(`User has no access to JobConfiguration:${job.uid}`);

for (const kind of ["running", "completed"] as const) {
  schedulingOverviewRoutes.openapi(overviewRoute(kind), async (c) => {
    const views = await withProgress(c.env, await jobsOf(kind)(c.env.DB));
    return c.json(processInfoByType(currentUser(c), views, serverTimeZone(c.env)), 200, JSON_HEADERS);
  });

  schedulingOverviewRoutes.openapi(detailRoute(kind), async (c) => {
    const user = currentUser(c);
    const type = jobTypeOf(c.req.valid("param").type);
    const [view] = await withProgress(c.env, await jobsOf(kind)(c.env.DB, type));
    if (!view) return c.body(null, 200, { "Cache-Control": NO_STORE });
    if (!mayRead(user, view)) throw noAccess(view.job);
    // The tree /jobConfigurations/{id}/progress answers, typed by its schema (progress-schema.ts).
    return c.json(progressJson(view.process, serverTimeZone(c.env), readsAllRunLogs(user)), 200, JSON_HEADERS);
  });
}

const cancelRoute = createRoute({
  method: "post",
  path: "/scheduling/cancel/{type}",
  summary: "Cancel the type's running job (cooperative: it stops at its next check, STOPPED)",
  description:
    "204 also when nothing of the type runs. Allowed for superusers, F_PERFORM_MAINTENANCE and the run's executing user or starter.",
  tags: TAGS,
  security: SECURED,
  request: { params: typeParam },
  responses: { 204: { description: "Cancel requested (or nothing to cancel)" }, ...errorResponses(400, 401, 403) },
});

schedulingOverviewRoutes.openapi(cancelRoute, async (c) => {
  const user = currentUser(c);
  const type = jobTypeOf(c.req.valid("param").type);
  const [job] = await lastRunningJobs(c.env.DB, type);
  if (job) {
    if (!(await mayCancelRun(c.env.DB, user, job))) throw noAccess(job);
    await jobObject(c.env, job.uid).cancel(job.uid, user.uid);
  }
  return c.body(null, 204);
});
