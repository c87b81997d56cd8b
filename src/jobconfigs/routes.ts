/**
 * `/api/jobConfigurations`: job types, list/query, read, create, replace, patch and delete, on D1.
 * Writes need F_SCHEDULING_ADMIN (or ALL); reads any authenticated user. Every successful write
 * brings the job's Durable Object in step (`syncJobObject`).
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context, Next } from "hono";
import { matchedRoutes } from "hono/route";
import { currentUser, requireAuthority } from "../users/auth";
import { readJsonBody, readJsonObject } from "../http/body";
import { clock } from "../http/clock";
import { applyFields, parseFields } from "../http/fields";
import { buildPager } from "../http/pager";
import { invalidParamMessage, queryBool, repeatableQuery, UID_DETAIL } from "../http/params";
import { apiUrl, jsonResponse, untypedResponse } from "../http/respond";
import { createRouter, SECURED, type AppEnv } from "../http/router";
import { generateUid, isValidUid } from "../http/uid";
import {
  ApiError,
  conflict,
  echo,
  importReportConflict,
  notFoundObject,
  objectReport,
  webMessage,
  type ErrorReport,
} from "../http/webmessage";
import { errorReport, JOB_CONFIGURATION_KLASS } from "../jobs/errors";
import { CONFIGURABLE_JOB_TYPES, jobTypeInfo } from "../jobs/registry";
import { syncJobObject } from "../scheduling/sync";
import { hasAuthority } from "../users/store";
import { compileOrder, compileWhere } from "./query";
import { intervalReport, jobsCreatedBy, tooManyJobs } from "./quotas";
import { loadSettings } from "../settings/settings";
import {
  JobConfigurationInputSchema,
  JobConfigurationListSchema,
  JobConfigurationSchema,
  JobTypesExtendedSchema,
  JobTypesSchema,
  ListQuerySchema,
  ObjectQuerySchema,
  PatchInputSchema,
  UidPathSchema,
} from "./schemas";
import { errorResponses, jsonContent, WebMessageSchema } from "../http/openapi";
import { columnsFor, selectJobJson, type SerializeContext } from "./serialize";
import {
  deleteJob,
  findConflicts,
  findJob,
  insertJob,
  isUniqueViolation,
  JOB_COLUMNS,
  type JobRow,
  setEnabledStatement,
  updateJobStatement,
} from "./store";
import {
  duplicateCodeReport,
  duplicateCronReport,
  duplicateNameReport,
  idleJobStatus,
  readJobBody,
  uidTakenReport,
  unknownExecutingUserReport,
  type ValidationResult,
} from "./validate";
import { serverTimeZone } from "../http/dates";
import { SCHEDULING_ADMIN_AUTHORITIES } from "../scheduling/access";

const K = JOB_CONFIGURATION_KLASS;
const SECURITY = SECURED;
const NO_CACHE = { "Cache-Control": "no-cache, private" };
/** Rows per D1 query while streaming an unpaged list. */
const STREAM_CHUNK = 500;

export const jobConfigurationRoutes = createRouter();
const router = jobConfigurationRoutes;

router.openAPIRegistry.register("JobConfigurationInput", JobConfigurationInputSchema);
router.openAPIRegistry.register("JobConfigurationPatch", PatchInputSchema);

/** A request body documented by a registered zod component but read (and validated) by the handler. */
const documentedBody = (component: string, description: string) => ({
  description,
  content: { "application/json": { schema: { $ref: `#/components/schemas/${component}` } } },
});

const timeZone = (c: Context<AppEnv>) => serverTimeZone(c.env);
const toList = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function serializeContext(c: Context<AppEnv>): SerializeContext {
  const user = currentUser(c);
  return {
    apiBase: apiUrl(c, "/").replace(/\/$/, ""),
    timeZone: timeZone(c),
    now: clock.now(),
    canWrite: hasAuthority(user, ...SCHEDULING_ADMIN_AUTHORITIES),
  };
}

function fieldSelection(texts: string[], fallback: string) {
  const given = texts.filter((t) => t.trim() !== "");
  return parseFields(given.length > 0 ? given : fallback);
}

/**
 * The `{id}` path value as a UID. When it is not one and another module registered a route for the
 * same path (e.g. `/jobConfigurations/due`), the request is handed on; otherwise it is DHIS2's 400.
 */
async function withUid(c: Context<AppEnv>, next: Next, fn: (uid: string) => Promise<Response>): Promise<Response | void> {
  const id = c.req.param("id") ?? "";
  if (isValidUid(id)) return fn(id);
  const routes = matchedRoutes(c);
  const index = c.req.routeIndex;
  const mine = routes[index]?.path;
  if (routes.slice(index + 1).some((r) => r.method !== "ALL" && r.path !== mine)) return next();
  throw new ApiError(400, invalidParamMessage("path", "uid", id, UID_DETAIL), { errorCode: "E1003" });
}

function writeResponse(c: Context<AppEnv>, status: 200 | 201, uid: string): Response {
  const headers: Record<string, string> = status === 201 ? { Location: apiUrl(c, `/jobConfigurations/${uid}`) } : {};
  return jsonResponse(webMessage(status, { response: objectReport(K, uid) }), status, headers);
}

/**
 * Adds the checks that need other rows (name/code uniqueness, same type + cron, the executing user)
 * and, for callers who are not superusers, the quotas (src/jobconfigs/quotas.ts) to the body's errors.
 */
async function withConflicts(
  c: Context<AppEnv>,
  v: ValidationResult,
  opts: { clientId: boolean; creating: boolean },
): Promise<ErrorReport[]> {
  const db = c.env.DB;
  const w = v.write;
  const errors = [...v.errors];
  const user = currentUser(c);
  if (!user.isSuper) {
    const settings = await loadSettings(db);
    if (opts.creating) {
      const count = await jobsCreatedBy(db, user.uid);
      if (count >= settings.jobsMaxPerUser) throw tooManyJobs(count, settings.jobsMaxPerUser);
    }
    const tooOften = intervalReport(w, settings.jobsMinIntervalSeconds, clock.now(), timeZone(c));
    if (tooOften) errors.push(tooOften);
  }
  const clientId = opts.clientId;
  const found = await findConflicts(db, w.uid, w.name || undefined, w.code, v.type?.jobType, w.cronExpression, w.executedBy);
  if (clientId && found.uidTaken) errors.unshift(uidTakenReport(w.uid));
  if (!found.executingUserExists && w.executedBy && isValidUid(w.executedBy)) errors.push(unknownExecutingUserReport(w.uid, w.executedBy));
  if (found.nameOwner) errors.push(duplicateNameReport(w.name, w.uid, found.nameOwner));
  if (found.codeOwner && w.code) errors.push(duplicateCodeReport(w.code, w.uid, found.codeOwner));
  if (found.cronOwner && w.cronExpression && v.type) errors.push(duplicateCronReport(w.cronExpression));
  return errors;
}

/** A UNIQUE violation from a concurrent write, as the ErrorReport DHIS2 would have given. */
async function uniqueViolationReport(db: D1Database, e: unknown, v: ValidationResult): Promise<ErrorReport | null> {
  if (isUniqueViolation(e, "name")) {
    const owner = await db.prepare(`SELECT uid FROM job_configurations WHERE name = ?`).bind(v.write.name).first<{ uid: string }>();
    return duplicateNameReport(v.write.name, v.write.uid, owner?.uid ?? "another job");
  }
  if (isUniqueViolation(e, "uid")) return uidTakenReport(v.write.uid);
  return null;
}

async function loadForWrite(c: Context<AppEnv>, uid: string, action: "update" | "delete"): Promise<JobRow> {
  const existing = await findJob(c.env.DB, uid);
  if (!existing) throw notFoundObject("JobConfiguration", uid);
  requireAuthority(currentUser(c), SCHEDULING_ADMIN_AUTHORITIES, `You don't have the proper permissions to ${action} this object.`);
  if (existing.system === 1) throw conflict(`Job ${uid} is a system job that cannot be ${action === "delete" ? "deleted" : "modified"}.`);
  return existing;
}

// ---------------------------------------------------------------------------------------------
// Job types

// Built on the first request, not at startup (every cold start would pay for them).
let jobTypesJson: string | undefined;
let jobTypesExtendedJson: string | undefined;
const jobTypesBody = () => (jobTypesJson ??= JSON.stringify({ jobTypes: CONFIGURABLE_JOB_TYPES.map(jobTypeInfo) }));
const jobTypesExtendedBody = () =>
  (jobTypesExtendedJson ??= JSON.stringify(
    Object.fromEntries(
      CONFIGURABLE_JOB_TYPES.map((t) => [t.jobType, Object.fromEntries((t.parameters?.properties ?? []).map((p) => [p.name, p]))]),
    ),
  ));

router.openapi(
  createRoute({
    method: "get",
    path: "/jobConfigurations/jobTypes",
    tags: ["jobConfigurations"],
    summary: "User-configurable job types with their parameters",
    security: SECURITY,
    request: { query: z.object({ fields: repeatableQuery("Field filter over each job type (the Scheduler app sends `*`)") }) },
    responses: { 200: jsonContent(JobTypesSchema, "Job types in DHIS2's enum order"), ...errorResponses(400, 401) },
  }),
  // Field-filtered (the escape hatch); without `fields`, the body serialised once per isolate.
  (c) => {
    const fields = c.req.queries("fields") ?? [];
    if (fields.every((f) => f.trim() === "")) {
      return untypedResponse(new Response(jobTypesBody(), { headers: { "Content-Type": "application/json;charset=UTF-8", ...NO_CACHE } }));
    }
    const sel = parseFields(fields);
    return untypedResponse(jsonResponse({ jobTypes: CONFIGURABLE_JOB_TYPES.map((t) => applyFields(jobTypeInfo(t), sel)) }, 200, NO_CACHE));
  },
);

router.openapi(
  createRoute({
    method: "get",
    path: "/jobConfigurations/jobTypesExtended",
    tags: ["jobConfigurations"],
    summary: "Parameters of each configurable job type, by name",
    security: SECURITY,
    responses: { 200: jsonContent(JobTypesExtendedSchema, "Job type → parameter name → Property"), ...errorResponses(401) },
  }),
  () =>
    untypedResponse(new Response(jobTypesExtendedBody(), { headers: { "Content-Type": "application/json;charset=UTF-8", ...NO_CACHE } })),
);

// ---------------------------------------------------------------------------------------------
// List

router.openapi(
  createRoute({
    method: "get",
    path: "/jobConfigurations",
    tags: ["jobConfigurations"],
    summary: "List job configurations (fields, filter, order, paging, query)",
    security: SECURITY,
    request: { query: ListQuerySchema },
    responses: {
      200: jsonContent(JobConfigurationListSchema, "A page of job configurations (no pager with paging=false)"),
      ...errorResponses(400, 401, 409),
    },
  }),
  async (c) => untypedResponse(await listJobs(c, c.req.valid("query"), { defaultFields: "id,displayName", headless: false, gist: false })),
);

type ListQuery = z.output<typeof ListQuerySchema>;

/** The list (and its gist form): SQL filter, order and page, then field selection per row. */
async function listJobs(
  c: Context<AppEnv>,
  q: ListQuery,
  opts: { defaultFields: string; headless: boolean; gist: boolean },
): Promise<Response> {
  const tz = timeZone(c);
  const where = compileWhere(toList(q.filter), q.rootJunction, q.query, tz);
  const order = compileOrder(toList(q.order));
  const sel = fieldSelection(toList(q.fields), opts.defaultFields);
  const ctx = serializeContext(c);
  const db = c.env.DB;
  const selectSql = `SELECT ${columnsFor(sel, JOB_COLUMNS)} FROM job_configurations ${where.sql} ${order.sql} LIMIT ? OFFSET ?`;
  const toJson = (row: JobRow) => selectJobJson(row, sel, ctx);

  if (q.paging === false) return streamAll(db, selectSql, [...where.binds, ...order.binds], toJson, opts.headless);

  const page = Math.max(1, q.page ?? 1);
  const pageSize = (q.pageSize ?? 50) > 0 ? (q.pageSize as number) : 50;
  const offset = (page - 1) * pageSize;
  // The page and the count, each typed by its own row shape, in parallel.
  const [rowsRes, countRow] = await Promise.all([
    db
      .prepare(selectSql)
      .bind(...where.binds, ...order.binds, pageSize, offset)
      .all<JobRow>(),
    opts.headless
      ? null
      : db
          .prepare(`SELECT COUNT(*) AS n FROM job_configurations ${where.sql}`)
          .bind(...where.binds)
          .first<{ n: number }>(),
  ]);
  const rows = rowsRes.results;
  const items = new Array<unknown>(rows.length);
  for (let i = 0; i < rows.length; i++) items[i] = toJson(rows[i]);
  if (opts.headless) return jsonResponse(items, 200, NO_CACHE);
  const total = Number(countRow?.n ?? 0);
  const pager = buildPager(
    new URL(c.req.url),
    apiUrl(c, opts.gist ? "/jobConfigurations/gist" : "/jobConfigurations"),
    page,
    pageSize,
    total,
  );
  return jsonResponse({ pager, jobConfigurations: items }, 200, NO_CACHE);
}

/** DHIS2's gist API over the same query language; `headless=true` gives a bare array. */
const GistQuerySchema = ListQuerySchema.extend({ headless: queryBool(false) });

router.openapi(
  createRoute({
    method: "get",
    path: "/jobConfigurations/gist",
    tags: ["jobConfigurations"],
    summary: "Gist list of job configurations (`headless=true`: a bare array)",
    security: SECURITY,
    request: { query: GistQuerySchema },
    responses: {
      200: jsonContent(z.union([JobConfigurationListSchema, z.array(JobConfigurationSchema)]), "A page, or a bare array when headless"),
      ...errorResponses(400, 401, 409),
    },
  }),
  async (c) => {
    const q = c.req.valid("query");
    return untypedResponse(await listJobs(c, q, { defaultFields: ":simple", headless: q.headless === true, gist: true }));
  },
);

router.openapi(
  createRoute({
    method: "get",
    path: "/jobConfigurations/{id}/gist",
    tags: ["jobConfigurations"],
    summary: "Gist of one job configuration",
    security: SECURITY,
    request: { params: UidPathSchema, query: ObjectQuerySchema },
    responses: { 200: jsonContent(JobConfigurationSchema, "The job (default: simple members)"), ...errorResponses(400, 401, 404) },
  }),
  async (c, next) => untypedResponse(await readOne(c, next, ":simple")),
);

/** One job, field-filtered: `defaultFields` when the request names none. */
function readOne(c: Context<AppEnv>, next: Next, defaultFields: string): Promise<Response | void> {
  return withUid(c, next, async (uid) => {
    const row = await findJob(c.env.DB, uid);
    if (!row) throw notFoundObject("JobConfiguration", uid);
    const sel = fieldSelection(c.req.queries("fields") ?? [], defaultFields);
    return jsonResponse(selectJobJson(row, sel, serializeContext(c)), 200, NO_CACHE);
  });
}

/**
 * `paging=false`: the rows are read in chunks and written to the response as they are serialised,
 * so neither all row objects nor the whole JSON text are held in memory at once.
 */
function streamAll(db: D1Database, selectSql: string, binds: unknown[], toJson: (row: JobRow) => unknown, bare = false): Response {
  const encoder = new TextEncoder();
  let offset = 0;
  let first = true;
  let done = false;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (done) return;
      try {
        const { results } = await db
          .prepare(selectSql)
          .bind(...binds, STREAM_CHUNK, offset)
          .all<JobRow>();
        let text = offset === 0 ? (bare ? "[" : '{"jobConfigurations":[') : "";
        for (const row of results) {
          text += (first ? "" : ",") + JSON.stringify(toJson(row));
          first = false;
        }
        offset += results.length;
        if (results.length < STREAM_CHUNK) {
          text += bare ? "]" : "]}";
          done = true;
        }
        controller.enqueue(encoder.encode(text));
        if (done) controller.close();
      } catch (e) {
        done = true;
        controller.error(e);
      }
    },
  });
  return new Response(stream, { status: 200, headers: { "Content-Type": "application/json;charset=UTF-8", ...NO_CACHE } });
}

// ---------------------------------------------------------------------------------------------
// Create

router.openapi(
  createRoute({
    method: "post",
    path: "/jobConfigurations",
    tags: ["jobConfigurations"],
    summary: "Create a job configuration",
    security: SECURITY,
    request: { body: documentedBody("JobConfigurationInput", "The job; numeric strings are accepted for numbers") },
    responses: {
      201: jsonContent(WebMessageSchema, "Created; `Location` is the new job's URL and `response.uid` its id"),
      ...errorResponses(400, 401, 403, 409, 413),
    },
  }),
  async (c) => {
    const user = currentUser(c);
    requireAuthority(user, SCHEDULING_ADMIN_AUTHORITIES, "You don't have the proper permissions to create this object.");
    const body = await readJsonObject(c);
    const clientId = isValidUid(body.id);
    const uid = clientId ? (body.id as string) : generateUid();
    const v = readJobBody({ body, uid, userUid: user.uid, superuser: user.isSuper });
    const errors = await withConflicts(c, v, { clientId, creating: true });
    if (errors.length > 0) throw importReportConflict(K, uid, errors);
    try {
      await insertJob(c.env.DB, v.write, v.enabled, idleJobStatus(v.enabled, v.write.schedulingType), clock.now(), user.uid);
    } catch (e) {
      const report = await uniqueViolationReport(c.env.DB, e, v);
      if (report) throw importReportConflict(K, uid, [report]);
      throw e;
    }
    await syncJobObject(c.env, uid);
    return c.json({ ...webMessage(201), response: objectReport(K, uid) }, 201, {
      "Content-Type": "application/json;charset=UTF-8",
      Location: apiUrl(c, `/jobConfigurations/${uid}`),
    });
  },
);

// ---------------------------------------------------------------------------------------------
// Read one

router.openapi(
  createRoute({
    method: "get",
    path: "/jobConfigurations/{id}",
    tags: ["jobConfigurations"],
    summary: "One job configuration",
    security: SECURITY,
    request: { params: UidPathSchema, query: ObjectQuerySchema },
    responses: { 200: jsonContent(JobConfigurationSchema, "The job (default fields `*`)"), ...errorResponses(400, 401, 404) },
  }),
  async (c, next) => untypedResponse(await readOne(c, next, "*")),
);

// ---------------------------------------------------------------------------------------------
// Replace

async function replaceJob(c: Context<AppEnv>, uid: string): Promise<Response> {
  const existing = await loadForWrite(c, uid, "update");
  const user = currentUser(c);
  const body = await readJsonObject(c);
  const v = readJobBody({ body, existing, uid, userUid: user.uid, superuser: user.isSuper });
  const errors = await withConflicts(c, v, { clientId: false, creating: false });
  if (errors.length > 0) throw importReportConflict(K, uid, errors);
  const status = idleJobStatus(existing.enabled === 1, v.write.schedulingType);
  let changes = 0;
  try {
    const res = await updateJobStatement(c.env.DB, v.write, status, clock.now(), user.uid).run();
    changes = res.meta.changes ?? 0;
  } catch (e) {
    const report = await uniqueViolationReport(c.env.DB, e, v);
    if (report) throw importReportConflict(K, uid, [report]);
    throw e;
  }
  if (changes === 0) throw notFoundObject("JobConfiguration", uid);
  await syncJobObject(c.env, uid);
  return writeResponse(c, 200, uid);
}

async function removeJob(c: Context<AppEnv>, uid: string): Promise<Response> {
  await loadForWrite(c, uid, "delete");
  const res = await deleteJob(c.env.DB, uid);
  if ((res.meta.changes ?? 0) === 0) throw notFoundObject("JobConfiguration", uid);
  await syncJobObject(c.env, uid);
  return writeResponse(c, 200, uid);
}

for (const base of ["/jobConfigurations", "/jobConfiguration"] as const) {
  const singular = base === "/jobConfiguration";
  router.openapi(
    createRoute({
      method: "put",
      path: `${base}/{id}`,
      tags: ["jobConfigurations"],
      summary: singular ? "Replace a job configuration (singular path, as the spec shows)" : "Replace a job configuration",
      description: "Accepts a whole GET body back: read-only members, `jobType` and `enabled` are ignored.",
      security: SECURITY,
      request: { params: UidPathSchema, body: documentedBody("JobConfigurationInput", "The job") },
      responses: { 200: jsonContent(WebMessageSchema, "Updated"), ...errorResponses(400, 401, 403, 404, 409, 413) },
    }),
    async (c, next) => untypedResponse(await withUid(c, next, (uid) => replaceJob(c, uid))),
  );
  router.openapi(
    createRoute({
      method: "delete",
      path: `${base}/{id}`,
      tags: ["jobConfigurations"],
      summary: singular ? "Delete a job configuration (singular path, as the spec shows)" : "Delete a job configuration",
      security: SECURITY,
      request: { params: UidPathSchema },
      responses: { 200: jsonContent(WebMessageSchema, "Deleted"), ...errorResponses(400, 401, 403, 404, 409) },
    }),
    async (c, next) => untypedResponse(await withUid(c, next, (uid) => removeJob(c, uid))),
  );
}

// ---------------------------------------------------------------------------------------------
// Patch (the older Scheduler app's enable/disable toggle, and partial updates)

const WRITABLE = ["name", "code", "cronExpression", "delay", "schedulingType", "jobParameters", "executedBy"] as const;

/**
 * A PATCH body: a JSON object (merge), or a JSON Patch array (`application/json-patch+json`, as
 * app-runtime's `json-patch` mutation sends) of `add`/`replace`/`remove` on top-level members.
 */
function patchBody(raw: unknown): Record<string, unknown> {
  if (raw !== null && typeof raw === "object" && !Array.isArray(raw)) return raw as Record<string, unknown>;
  if (!Array.isArray(raw)) throw new ApiError(400, "Request body must be a JSON object or a JSON Patch array.", { errorCode: "E1003" });
  const out: Record<string, unknown> = {};
  for (const op of raw) {
    const o = op as { op?: unknown; path?: unknown; value?: unknown } | null;
    const path = typeof o?.path === "string" ? o.path : "";
    const m = /^\/([A-Za-z]+)$/.exec(path);
    if (!o || !m || (o.op !== "add" && o.op !== "replace" && o.op !== "remove")) {
      throw new ApiError(409, `Patch path \`${echo(path)}\` is not supported.`, { errorCode: "E4032" });
    }
    out[m[1]] = o.op === "remove" ? null : o.value;
  }
  return out;
}

function bodyOf(row: JobRow): Record<string, unknown> {
  const out: Record<string, unknown> = {
    name: row.name,
    code: row.code,
    cronExpression: row.cron_expression,
    delay: row.delay,
    executedBy: row.executed_by,
  };
  if (row.scheduling_type === "CRON" || row.scheduling_type === "FIXED_DELAY") out.schedulingType = row.scheduling_type;
  if (row.job_parameters) {
    try {
      out.jobParameters = JSON.parse(row.job_parameters);
    } catch {
      // Unreadable stored parameters fall back to the defaults.
    }
  }
  return out;
}

router.openapi(
  createRoute({
    method: "patch",
    path: "/jobConfigurations/{id}",
    tags: ["jobConfigurations"],
    summary: 'Partially update a job configuration (e.g. `{"enabled":false}`)',
    security: SECURITY,
    request: { params: UidPathSchema, body: documentedBody("JobConfigurationPatch", "Members to change") },
    responses: { 204: { description: "Updated" }, ...errorResponses(400, 401, 403, 404, 409, 413) },
  }),
  async (c, next) =>
    untypedResponse<Response>(
      await withUid(c, next, async (uid) => {
        const existing = await loadForWrite(c, uid, "update");
        const user = currentUser(c);
        const body = patchBody(await readJsonBody(c));
        const errors: ErrorReport[] = [];
        let enabled: boolean | undefined;
        const rawEnabled = body.enabled;
        if (rawEnabled === true || rawEnabled === "true") enabled = true;
        else if (rawEnabled === false || rawEnabled === "false") enabled = false;
        else if (rawEnabled !== undefined && rawEnabled !== null && rawEnabled !== "") {
          errors.push(errorReport(K, "E1003", ["enabled", "expected true or false"], { errorProperty: "enabled" }));
        }
        const now = clock.now();
        const statements: D1PreparedStatement[] = [];
        let schedulingType =
          existing.scheduling_type ?? (existing.cron_expression ? "CRON" : existing.delay !== null ? "FIXED_DELAY" : "ONCE_ASAP");
        let v: ValidationResult | undefined;
        if (WRITABLE.some((k) => Object.hasOwn(body, k))) {
          const merged = { ...bodyOf(existing) };
          for (const k of WRITABLE) if (Object.hasOwn(body, k)) merged[k] = body[k];
          v = readJobBody({ body: merged, existing, uid, userUid: user.uid, superuser: user.isSuper });
          errors.push(...(await withConflicts(c, v, { clientId: false, creating: false })));
          schedulingType = v.write.schedulingType;
        }
        if (errors.length > 0) throw importReportConflict(K, uid, errors);
        const finalEnabled = enabled ?? existing.enabled === 1;
        if (v) statements.push(updateJobStatement(c.env.DB, v.write, idleJobStatus(finalEnabled, schedulingType), now, user.uid));
        if (enabled !== undefined)
          statements.push(setEnabledStatement(c.env.DB, uid, enabled, idleJobStatus(enabled, schedulingType), now, user.uid));
        if (statements.length > 0) {
          try {
            await c.env.DB.batch(statements);
          } catch (e) {
            const report = v ? await uniqueViolationReport(c.env.DB, e, v) : null;
            if (report) throw importReportConflict(K, uid, [report]);
            throw e;
          }
          await syncJobObject(c.env, uid);
        }
        return new Response(null, { status: 204 });
      }),
    ),
);
