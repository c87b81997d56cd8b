/**
 * `/api/system/tasks…` and `/api/system/taskSummaries…`: task notifications and summaries of job runs.
 *
 * Consistency (see service.ts): a single task or summary (`…/{jobType}/{jobId}`) is read from the
 * job's Durable Object and is strongly consistent; listings are read from the KV copy and are
 * eventually consistent (a second behind the object for a run's start and end, up to 5 s for progress,
 * plus KV propagation).
 *
 * Readers: the user who started the run, superusers, F_PERFORM_MAINTENANCE and F_JOB_LOG_READ. Others
 * get 403 for a single task or summary; listings only contain what the caller may read.
 * Deleting: a single job's task by the same readers except F_JOB_LOG_READ-only users; bulk deletes need
 * F_PERFORM_MAINTENANCE (or superuser).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { currentUser } from "../users/auth";
import { clock } from "../http/clock";
import { enumParam, queryBool, queryInt, uidParam } from "../http/params";
import { NO_STORE, emptyResponse, jsonResponse, noStoreJson } from "../http/respond";
import { SECURED, createRouter } from "../http/router";
import { forbidden } from "../http/webmessage";
import {
  TASK_TYPES,
  clearJobTask,
  deletesAllTasks,
  jobTaskList,
  listSummaries,
  listTasks,
  mayRead,
  pruneTasks,
  readJobTask,
} from "./service";

export const taskRoutes = createRouter();

const SECURITY = SECURED;
const TAGS = ["system"];

const NotificationSchema = z
  .object({
    uid: z.string(),
    id: z.string(),
    level: z.enum(["DEBUG", "LOOP", "INFO", "WARN", "ERROR"]),
    category: z.string(),
    time: z.string().openapi({ example: "2026-11-29T08:00:00.000" }),
    message: z.string(),
    completed: z.boolean(),
    dataType: z.literal("PARAMETERS").optional(),
    data: z.unknown().optional(),
  })
  .openapi("Notification");
const NotificationList = z.array(NotificationSchema).openapi({ description: "Newest first" });
const JobNotifications = z
  .record(z.string(), NotificationList)
  .openapi({ description: "Job UID → notifications, most recently active job first" });
const Summary = z.unknown().openapi({ description: "The run's summary JSON (e.g. an ImportSummary)" });

const jobType = enumParam(TASK_TYPES).openapi({ param: { name: "jobType", in: "path" }, description: "Job type (case-insensitive)" });
const jobId = uidParam().openapi({ param: { name: "jobId", in: "path" }, description: "Job configuration UID" });
const gistQuery = z.object({
  gist: queryBool().openapi({ description: "Only the newest and oldest message per job (default: setting notifierGistOverview)" }),
});
const pruneQuery = z.object({
  maxAge: queryInt().openapi({ description: "Keep jobs active within this many days" }),
  maxCount: queryInt().openapi({ description: "Keep this many most recently active jobs per type (<= 0: none)" }),
});

const ERRORS = {
  400: { description: "Bad job type or job id (WebMessage)" },
  401: { description: "Missing or bad credentials (WebMessage)" },
} as const;
const FORBIDDEN = { 403: { description: "The caller may not read this task (WebMessage)" } } as const;

const noAccess = (id: string) => forbidden(`User has no access to JobConfiguration:${id}`);

// --- GET /system/tasks -----------------------------------------------------------------------------

taskRoutes.openapi(
  createRoute({
    method: "get",
    path: "/system/tasks",
    summary: "Notifications of every job type: {jobType: {jobId: [notifications]}}",
    description: "Every job type is present (`{}` when it has none). Eventually consistent (KV copy).",
    tags: TAGS,
    security: SECURITY,
    request: { query: gistQuery },
    responses: {
      200: {
        description: "Notifications by type and job",
        content: { "application/json": { schema: z.record(z.string(), JobNotifications) } },
      },
      ...ERRORS,
    },
  }),
  async (c) => {
    const { gist } = c.req.valid("query");
    return noStoreJson(await listTasks(c.env, currentUser(c), TASK_TYPES, gist, clock.now()));
  },
);

// --- GET /system/tasks/{jobType} ------------------------------------------------------------------

taskRoutes.openapi(
  createRoute({
    method: "get",
    path: "/system/tasks/{jobType}",
    summary: "Notifications of one job type: {jobId: [notifications]}, most recently active first",
    description: "Eventually consistent (KV copy).",
    tags: TAGS,
    security: SECURITY,
    request: { params: z.object({ jobType }), query: gistQuery },
    responses: {
      200: { description: "Notifications by job", content: { "application/json": { schema: JobNotifications } } },
      ...ERRORS,
    },
  }),
  async (c) => {
    const { jobType } = c.req.valid("param");
    const { gist } = c.req.valid("query");
    const all = await listTasks(c.env, currentUser(c), [jobType], gist, clock.now());
    return noStoreJson(all[jobType] ?? {});
  },
);

// --- GET /system/tasks/{jobType}/{jobId} -----------------------------------------------------------

taskRoutes.openapi(
  createRoute({
    method: "get",
    path: "/system/tasks/{jobType}/{jobId}",
    summary: "All notifications of one job's latest run, newest first ([] when unknown)",
    description:
      "Strongly consistent (read from the job's Durable Object): a poll right after execute sees the run. " +
      "A newest message that is not completed while the job no longer runs is returned alone, as completed.",
    tags: TAGS,
    security: SECURITY,
    request: { params: z.object({ jobType, jobId }) },
    responses: {
      200: { description: "Notifications, newest first", content: { "application/json": { schema: NotificationList } } },
      ...ERRORS,
      ...FORBIDDEN,
    },
  }),
  async (c) => {
    const { jobType, jobId } = c.req.valid("param");
    const user = currentUser(c);
    const now = clock.now();
    const view = await readJobTask(c.env, jobType, jobId, now);
    if (view.snapshot && !mayRead(user, view.owner)) throw noAccess(jobId);
    const headers: Record<string, string> = { "Cache-Control": NO_STORE };
    // Instrumentation for bench/tasks.bench.mjs: the run's KV writes so far and the ms between its
    // first and last write (readers only).
    if (view.snapshot) {
      headers["X-Task-KV-Writes"] = String(view.snapshot.kvWrites.run);
      headers["X-Task-KV-Span"] = String(view.snapshot.kvWrites.runSpanMs);
    }
    return jsonResponse(jobTaskList(view, now), 200, headers);
  },
);

// --- GET /system/taskSummaries/{jobType} -----------------------------------------------------------

taskRoutes.openapi(
  createRoute({
    method: "get",
    path: "/system/taskSummaries/{jobType}",
    summary: "Summaries of one job type: {jobId: summary}, most recently set first",
    description: "Eventually consistent (KV copy).",
    tags: TAGS,
    security: SECURITY,
    request: { params: z.object({ jobType }) },
    responses: {
      200: { description: "Summaries by job", content: { "application/json": { schema: z.record(z.string(), Summary) } } },
      ...ERRORS,
    },
  }),
  async (c) => {
    const { jobType } = c.req.valid("param");
    return noStoreJson(await listSummaries(c.env, currentUser(c), jobType, clock.now()));
  },
);

// --- GET /system/taskSummaries/{jobType}/{jobId} ---------------------------------------------------

taskRoutes.openapi(
  createRoute({
    method: "get",
    path: "/system/taskSummaries/{jobType}/{jobId}",
    summary: "The summary of one job's latest run; 200 with an empty body when there is none",
    description: "Strongly consistent (read from the job's Durable Object). No summary: empty body, no JSON content type.",
    tags: TAGS,
    security: SECURITY,
    request: { params: z.object({ jobType, jobId }) },
    responses: {
      200: { description: "The summary JSON, or an empty body", content: { "application/json": { schema: Summary } } },
      ...ERRORS,
      ...FORBIDDEN,
    },
  }),
  async (c) => {
    const { jobType, jobId } = c.req.valid("param");
    const user = currentUser(c);
    const view = await readJobTask(c.env, jobType, jobId, clock.now());
    if (view.snapshot && !mayRead(user, view.owner)) throw noAccess(jobId);
    const summary = view.snapshot?.summary;
    if (summary === undefined) return emptyResponse(200, { "Cache-Control": NO_STORE });
    return noStoreJson(summary);
  },
);

// --- DELETE ---------------------------------------------------------------------------------------

const DELETED = { 204: { description: "Deleted" } } as const;

taskRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/system/tasks",
    summary: "Delete notifications and summaries of every type (all, or by maxAge/maxCount)",
    description:
      "Without parameters everything goes. `maxAge` drops jobs idle for longer than that many days, `maxCount` keeps that many " +
      "most recently active jobs per type (<= 0: none). The job objects are cleared at once; listings follow after KV propagation.",
    tags: TAGS,
    security: SECURITY,
    request: { query: pruneQuery },
    responses: { ...DELETED, ...ERRORS, 403: { description: "Needs F_PERFORM_MAINTENANCE" } },
  }),
  async (c) => {
    const { maxAge, maxCount } = c.req.valid("query");
    if (!deletesAllTasks(currentUser(c))) throw forbidden("You need the authority F_PERFORM_MAINTENANCE to delete task notifications");
    await pruneTasks(c.env, { maxAgeDays: maxAge, maxCount, now: clock.now() });
    return emptyResponse(204);
  },
);

taskRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/system/tasks/{jobType}",
    summary: "Delete notifications and summaries of one type (all, or by maxAge/maxCount)",
    description: "As `DELETE /system/tasks`, for one job type.",
    tags: TAGS,
    security: SECURITY,
    request: { params: z.object({ jobType }), query: pruneQuery },
    responses: { ...DELETED, ...ERRORS, 403: { description: "Needs F_PERFORM_MAINTENANCE" } },
  }),
  async (c) => {
    const { jobType } = c.req.valid("param");
    const { maxAge, maxCount } = c.req.valid("query");
    if (!deletesAllTasks(currentUser(c))) throw forbidden("You need the authority F_PERFORM_MAINTENANCE to delete task notifications");
    await pruneTasks(c.env, { jobType, maxAgeDays: maxAge, maxCount, now: clock.now() });
    return emptyResponse(204);
  },
);

taskRoutes.openapi(
  createRoute({
    method: "delete",
    path: "/system/tasks/{jobType}/{jobId}",
    summary: "Delete one job's notifications and summary",
    description: "Allowed to the user who started the run, superusers and F_PERFORM_MAINTENANCE. Unknown jobs: 204.",
    tags: TAGS,
    security: SECURITY,
    request: { params: z.object({ jobType, jobId }) },
    responses: { ...DELETED, ...ERRORS, ...FORBIDDEN },
  }),
  async (c) => {
    const { jobType, jobId } = c.req.valid("param");
    const user = currentUser(c);
    const view = await readJobTask(c.env, jobType, jobId, clock.now());
    if (view.snapshot) {
      const owner = view.owner !== undefined && view.owner === user.uid;
      if (!deletesAllTasks(user) && !owner) throw noAccess(jobId);
      await clearJobTask(c.env, jobType, jobId, view.snapshot);
    } else if (deletesAllTasks(user)) {
      // Nothing current: clear whatever is left (an aged-out run in the object, a KV copy).
      await clearJobTask(c.env, jobType, jobId);
    }
    return emptyResponse(204);
  },
);
