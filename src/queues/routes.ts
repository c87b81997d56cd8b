/**
 * `/api/scheduler` (jobs and queues overview for the Scheduler app), `/api/scheduler/queueable` and
 * `/api/scheduler/queues[/{name}]` (DHIS2's JobSchedulerController, 2.40+).
 *
 * Reads need an authenticated user; writes need `F_SCHEDULING_ADMIN` (or `ALL`). Status codes:
 * POST 201, PUT 204, DELETE 204, all without a body.
 */
import { createRoute, type RouteConfig, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { currentUser } from "../users/auth";
import { readJsonBody } from "../http/body";
import { clock } from "../http/clock";
import { applyFields, parseFields } from "../http/fields";
import { repeatableQuery } from "../http/params";
import { jsonResponse, untypedResponse } from "../http/respond";
import { type AppEnv, createRouter, SECURED } from "../http/router";
import { badRequest } from "../http/webmessage";
import { WebMessageSchema } from "../http/openapi";
import { queueableEntries, schedulerEntries } from "./entries";
import { createQueue, deleteQueue, getQueue, type QueueInput, type QueueWriter, updateQueue } from "./service";
import { loadAllJobs, loadQueueNames } from "./store";
import { serverTimeZone } from "../http/dates";
import { requireSchedulingAdmin } from "../scheduling/access";

export const queueRoutes = createRouter();

const SECURITY = SECURED;
const TAGS = ["scheduler"];

/** The WebMessage without an import report (the queue routes never send one). */
const SchedulerWebMessageSchema = WebMessageSchema.omit({ response: true }).openapi("SchedulerWebMessage");

/** DHIS2's JSON content type, kept on typed answers (`c.json` would send `application/json`). */
const JSON_UTF8 = { "Content-Type": "application/json;charset=UTF-8" };

const wm = (description: string) => ({ description, content: { "application/json": { schema: SchedulerWebMessageSchema } } });

const SchedulerEntryJobSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    type: z.string().openapi({ description: "Job type" }),
    cronExpression: z.string().optional(),
    delay: z.number().int().optional(),
    nextExecutionTime: z.string().optional().openapi({ example: "2026-01-01T03:00:00.000" }),
    status: z.string(),
  })
  .openapi("SchedulerEntryJob");

const SchedulerEntrySchema = z
  .object({
    name: z.string().openapi({ description: "Job name, or queue name" }),
    type: z.string().openapi({ description: "Job type, or `Sequence` for a queue" }),
    cronExpression: z.string().optional(),
    delay: z.number().int().optional(),
    nextExecutionTime: z.string().optional(),
    maxDelayedExecutionTime: z.string().optional(),
    secondsToNextExecutionTime: z.number().int().optional(),
    secondsToMaxDelayedExecutionTime: z.number().int().optional(),
    status: z.string(),
    enabled: z.boolean(),
    configurable: z.boolean(),
    sequence: z.array(SchedulerEntryJobSchema),
  })
  .openapi("SchedulerEntry");

const QueueSchema = z
  .object({
    name: z.string().optional().openapi({ description: "PUT: the new name (renames the queue)" }),
    cronExpression: z.string().optional().openapi({ example: "0 0 1 ? * *" }),
    sequence: z.array(z.string()).openapi({ description: "Job UIDs in run order; the first one carries the cron" }),
  })
  .openapi("SchedulerQueue");

const nameParam = z.object({
  name: z.string().openapi({ param: { name: "name", in: "path" }, example: "nightly" }),
});

const tz = (c: Context<AppEnv>) => serverTimeZone(c.env);

function requireWriter(c: Context<AppEnv>): QueueWriter {
  const user = currentUser(c);
  requireSchedulingAdmin(user);
  return user;
}

/** Reads `{name?, cronExpression?, sequence?}` as Jackson would (`""` = absent, unknown members ignored). */
async function readQueueBody(c: Context<AppEnv>): Promise<QueueInput> {
  const raw = await readJsonBody(c);
  if (raw === undefined || raw === null) return { sequence: [] };
  if (typeof raw !== "object" || Array.isArray(raw)) throw badRequest("Request body must be a JSON object.");
  const body = raw as Record<string, unknown>;
  const text = (key: string): string | undefined => {
    const v = body[key];
    if (v === undefined || v === null || v === "") return undefined;
    if (typeof v === "string") return v;
    if (typeof v === "number" || typeof v === "boolean") return String(v);
    throw badRequest(`Invalid value for property \`${key}\`: expected a string`);
  };
  const seq = body.sequence;
  let sequence: string[] = [];
  if (seq !== undefined && seq !== null) {
    if (!Array.isArray(seq)) throw badRequest("Invalid value for property `sequence`: expected an array of job UIDs");
    sequence = seq.map((v) => {
      if (typeof v === "string") return v;
      if (v !== null && typeof v === "object" && typeof (v as { id?: unknown }).id === "string") return (v as { id: string }).id;
      throw badRequest("Invalid value for property `sequence`: expected an array of job UIDs");
    });
  }
  const input: QueueInput = { sequence };
  const name = text("name");
  if (name !== undefined) input.name = name;
  const cron = text("cronExpression");
  if (cron !== undefined) input.cronExpression = cron;
  return input;
}

const listRoute = createRoute({
  method: "get",
  path: "/scheduler",
  summary: "Jobs and queues as the Scheduler app lists them (run-once jobs left out)",
  tags: TAGS,
  security: SECURITY,
  request: {
    query: z.object({
      order: z.string().optional().openapi({ description: "`name` sorts by name; otherwise by next execution time, unscheduled last" }),
    }),
  },
  responses: { 200: { description: "Entries", content: { "application/json": { schema: z.array(SchedulerEntrySchema) } } } },
});

queueRoutes.openapi(listRoute, async (c) => {
  const { order } = c.req.valid("query");
  const rows = await loadAllJobs(c.env.DB);
  return c.json(schedulerEntries(rows, order === "name" ? "name" : "next", clock.now(), tz(c)), 200, JSON_UTF8);
});

const queueableRoute = createRoute({
  method: "get",
  path: "/scheduler/queueable",
  summary: "Jobs that may be added to a queue (user-configurable, cron-scheduled, not system, in no queue)",
  tags: TAGS,
  security: SECURITY,
  request: {
    query: z.object({
      name: z.string().optional().openapi({ description: "A queue whose members are left out (as are the members of every queue)" }),
    }),
  },
  responses: { 200: { description: "Entries sorted by name", content: { "application/json": { schema: z.array(SchedulerEntrySchema) } } } },
});

queueRoutes.openapi(queueableRoute, async (c) => {
  const { name } = c.req.valid("query");
  const rows = await loadAllJobs(c.env.DB);
  return c.json(queueableEntries(rows, name === "" ? undefined : name, clock.now(), tz(c)), 200, JSON_UTF8);
});

const namesRoute = createRoute({
  method: "get",
  path: "/scheduler/queues",
  summary: "Names of all queues",
  tags: TAGS,
  security: SECURITY,
  responses: { 200: { description: "Queue names", content: { "application/json": { schema: z.array(z.string()) } } } },
});

queueRoutes.openapi(namesRoute, async (c) => c.json(await loadQueueNames(c.env.DB), 200, JSON_UTF8));

const getRoute = createRoute({
  method: "get",
  path: "/scheduler/queues/{name}",
  summary: "One queue: its name, cron and job UIDs in order",
  tags: TAGS,
  security: SECURITY,
  request: {
    params: nameParam,
    query: z.object({ fields: repeatableQuery("Field filter, e.g. `cronExpression,sequence,name` (the Scheduler app's)") }),
  },
  responses: {
    200: { description: "The queue", content: { "application/json": { schema: QueueSchema } } },
    404: wm("E7020 `Job queue does not exist: `<name>``"),
  },
});

queueRoutes.openapi(getRoute, async (c) => {
  const { name } = c.req.valid("param");
  const { fields } = c.req.valid("query");
  const queue = await getQueue(c.env.DB, name);
  if (fields === undefined) return c.json(queue, 200, JSON_UTF8);
  // Field-filtered: the escape hatch.
  return untypedResponse(jsonResponse(applyFields(queue, parseFields(fields))));
});

const writeErrors = {
  400: wm("Malformed body"),
  403: wm("Needs F_SCHEDULING_ADMIN or ALL"),
  404: wm("E7020 unknown queue, or `JobConfiguration with id <uid> could not be found.`"),
  409: wm("E7021 queue exists, E7022 job in another queue, E7023 system job, E7024 fewer than two jobs, E7005 invalid cron"),
};

/**
 * The body is documented, not validated by the router: the handler reads it itself (size limit,
 * Jackson-like leniency), so the documented copy of each write route is registered separately.
 */
const body = { content: { "application/json": { schema: QueueSchema } }, required: true };

function documentWithBody(route: RouteConfig) {
  queueRoutes.openAPIRegistry.registerPath({ ...route, request: { ...route.request, body } });
}

const createRouteDef = createRoute({
  method: "post",
  path: "/scheduler/queues/{name}",
  summary: "Create a queue; the first job carries the cron, the others lose their own schedule",
  tags: TAGS,
  security: SECURITY,
  request: { params: nameParam },
  responses: { 201: { description: "Created (no body)" }, ...writeErrors },
});

queueRoutes.openapi(createRouteDef, async (c) => {
  const { name } = c.req.param() as { name: string };
  const writer = requireWriter(c);
  const input = await readQueueBody(c);
  await createQueue(c.env, name, input, clock.now(), writer);
  return c.body(null, 201);
});
documentWithBody(createRouteDef);

const updateRouteDef = createRoute({
  method: "put",
  path: "/scheduler/queues/{name}",
  summary: "Replace a queue's cron and sequence; a different `name` renames it",
  tags: TAGS,
  security: SECURITY,
  request: { params: nameParam },
  responses: { 204: { description: "Updated" }, ...writeErrors },
});

queueRoutes.openapi(updateRouteDef, async (c) => {
  const { name } = c.req.param() as { name: string };
  const writer = requireWriter(c);
  const input = await readQueueBody(c);
  await updateQueue(c.env, name, input, clock.now(), writer);
  return c.body(null, 204);
});
documentWithBody(updateRouteDef);

const deleteRouteDef = createRoute({
  method: "delete",
  path: "/scheduler/queues/{name}",
  summary: "Delete a queue; its jobs stay, unscheduled and disabled",
  tags: TAGS,
  security: SECURITY,
  request: { params: nameParam },
  responses: { 204: { description: "Deleted" }, 403: writeErrors[403], 404: wm("E7020 unknown queue") },
});

queueRoutes.openapi(deleteRouteDef, async (c) => {
  const { name } = c.req.valid("param");
  const writer = requireWriter(c);
  await deleteQueue(c.env, name, clock.now(), writer.uid);
  return c.body(null, 204);
});
