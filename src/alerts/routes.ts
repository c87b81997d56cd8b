/**
 * `/api/scheduler/alerts` (beyond DHIS2): failure alert rules as their own resource, never fields of a
 * job configuration, so a PUT from the Scheduler app cannot drop them; and each rule's deliveries.
 *
 * Every route needs F_SCHEDULING_ADMIN (or ALL). Bodies are the zod schema AlertRuleInput: every
 * problem of one body comes back in one 409 ObjectReport (E4000, E4001, E1003, E5002, E5003…); a body
 * that is not a JSON object is a 400, one over MAX_BODY_BYTES a 413, one that is not JSON a 415.
 * Secrets are write-only: a webhook reads back as its origin and `secretSet`.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler, ValidationTargets } from "hono";
import { serverTimeZone } from "../http/dates";
import { rawJsonBody, jsonBody } from "../http/json-body";
import { errorResponses, jsonContent, WebMessageSchema } from "../http/openapi";
import { buildPager } from "../http/pager";
import { enumParam, queryInt, uidParam } from "../http/params";
import { apiUrl, NO_STORE } from "../http/respond";
import { type AppEnv, createRouter, SECURED, validationHook } from "../http/router";
import { badRequest, importReportConflict, objectReport } from "../http/webmessage";
import { clock } from "../http/clock";
import { requireSchedulingAdmin } from "../scheduling/access";
import { currentUser } from "../users/auth";
import { isLocalDevelopment } from "../users/bootstrap";
import { ALERT_RULE_KLASS, DELIVERY_STATES } from "./model";
import { AlertDeliveryListSchema, AlertRuleInputSchema, AlertRuleListSchema, AlertRuleSchema } from "./schemas";
import { createRule, getRuleView, listRuleViews, removeRule, replaceRule, ruleDeliveries } from "./service";
import { issueReports } from "./validate";

export const alertRoutes = createRouter();

const TAGS = ["alerts"];
const JSON_HEADERS = { "Content-Type": "application/json;charset=UTF-8", "Cache-Control": NO_STORE };

type WebMessageBody = z.infer<typeof WebMessageSchema>;

/** DHIS2's write answer: a WebMessage carrying the rule's ObjectReport. */
function objectMessage(status: 200 | 201, uid: string): WebMessageBody {
  return {
    httpStatus: status === 201 ? "Created" : "OK",
    httpStatusCode: status,
    status: "OK",
    response: objectReport(ALERT_RULE_KLASS, uid),
  };
}

const idParam = z.object({ id: uidParam().openapi({ param: { name: "id", in: "path" }, description: "The alert rule's UID" }) });

const body = {
  content: { "application/json": { schema: AlertRuleInputSchema } },
  required: true,
  description: "The rule. On update an absent `channel.url` and `channel.secret` keep the stored ones",
};

/**
 * The hook of the routes with a rule body: a body that fails its schema is a 400 when it is not a JSON
 * object, else every problem in one 409 ObjectReport; other input goes to the router's hook.
 */
function refuseInput(
  result: { target: keyof ValidationTargets; success: false; error: z.ZodError },
  c: Context<AppEnv>,
  id?: string,
): void {
  if (result.target !== "json") {
    validationHook(result, c);
    return;
  }
  const raw = rawJsonBody(c);
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw badRequest("Request body must be a JSON object.");
  throw importReportConflict(ALERT_RULE_KLASS, id, issueReports(result.error.issues, raw));
}

/** Every alert route needs F_SCHEDULING_ADMIN (or ALL), checked before its input is. */
const schedulingAdmin: MiddlewareHandler<AppEnv> = async (c, next) => {
  requireSchedulingAdmin(currentUser(c));
  await next();
};

const listRoute = createRoute({
  method: "get",
  path: "/scheduler/alerts",
  operationId: "listAlertRules",
  summary: "Alert rules (webhook URLs as their origin, secrets never)",
  tags: TAGS,
  security: SECURED,
  middleware: [schedulingAdmin] as const,
  responses: { 200: jsonContent(AlertRuleListSchema, "The rules, by name"), ...errorResponses(401, 403) },
});

alertRoutes.openapi(listRoute, async (c) => {
  return c.json({ alertRules: await listRuleViews(c.env.DB, serverTimeZone(c.env)) }, 200, JSON_HEADERS);
});

const createRuleRoute = createRoute({
  method: "post",
  path: "/scheduler/alerts",
  operationId: "createAlertRule",
  summary: "Create an alert rule: scope, conditions and a channel (webhook with its secret, or e-mail)",
  tags: TAGS,
  security: SECURED,
  middleware: [schedulingAdmin, jsonBody] as const,
  request: { body },
  responses: {
    201: jsonContent(WebMessageSchema, "Created; `Location` is the rule's URL and `response.uid` its id"),
    ...errorResponses(400, 401, 403, 409, 413),
    415: jsonContent(WebMessageSchema, "The body is not JSON"),
  },
});

alertRoutes.openapi(
  createRuleRoute,
  async (c) => {
    const userUid = currentUser(c).uid;
    const uid = await createRule(c.env, c.req.valid("json"), clock.now(), userUid, isLocalDevelopment(c.env, c.req.url));
    return c.json(objectMessage(201, uid), 201, { ...JSON_HEADERS, Location: apiUrl(c, `/scheduler/alerts/${uid}`) });
  },
  (result, c) => {
    if (!result.success) refuseInput(result, c);
  },
);

const getRuleRoute = createRoute({
  method: "get",
  path: "/scheduler/alerts/{id}",
  operationId: "getAlertRule",
  summary: "One alert rule",
  tags: TAGS,
  security: SECURED,
  middleware: [schedulingAdmin] as const,
  request: { params: idParam },
  responses: { 200: jsonContent(AlertRuleSchema, "The rule"), ...errorResponses(400, 401, 403, 404) },
});

alertRoutes.openapi(getRuleRoute, async (c) => {
  return c.json(await getRuleView(c.env.DB, c.req.valid("param").id, serverTimeZone(c.env)), 200, JSON_HEADERS);
});

const putRuleRoute = createRoute({
  method: "put",
  path: "/scheduler/alerts/{id}",
  operationId: "replaceAlertRule",
  summary: "Replace an alert rule (a changed channel discards the deliveries not yet made)",
  tags: TAGS,
  security: SECURED,
  middleware: [schedulingAdmin, jsonBody] as const,
  request: { params: idParam, body },
  responses: {
    200: jsonContent(WebMessageSchema, "Updated"),
    ...errorResponses(400, 401, 403, 404, 409, 413),
    415: jsonContent(WebMessageSchema, "The body is not JSON"),
  },
});

alertRoutes.openapi(
  putRuleRoute,
  async (c) => {
    const userUid = currentUser(c).uid;
    const { id } = c.req.valid("param");
    await replaceRule(c.env, id, c.req.valid("json"), clock.now(), userUid, isLocalDevelopment(c.env, c.req.url));
    return c.json(objectMessage(200, id), 200, JSON_HEADERS);
  },
  (result, c) => {
    if (!result.success) refuseInput(result, c, c.req.param("id"));
  },
);

const deleteRuleRoute = createRoute({
  method: "delete",
  path: "/scheduler/alerts/{id}",
  operationId: "deleteAlertRule",
  summary: "Delete an alert rule with its episodes and deliveries",
  tags: TAGS,
  security: SECURED,
  middleware: [schedulingAdmin] as const,
  request: { params: idParam },
  responses: { 200: jsonContent(WebMessageSchema, "Deleted"), ...errorResponses(400, 401, 403, 404) },
});

alertRoutes.openapi(deleteRuleRoute, async (c) => {
  const { id } = c.req.valid("param");
  await removeRule(c.env.DB, id);
  return c.json(objectMessage(200, id), 200, JSON_HEADERS);
});

const deliveriesRoute = createRoute({
  method: "get",
  path: "/scheduler/alerts/{id}/deliveries",
  operationId: "listAlertDeliveries",
  summary: "The rule's deliveries, newest first: state, attempts (retries), last answer, dead letters",
  tags: TAGS,
  security: SECURED,
  middleware: [schedulingAdmin] as const,
  request: {
    params: idParam,
    query: z.object({
      state: enumParam(DELIVERY_STATES).optional().openapi({ description: "Only deliveries in this state (e.g. DEAD_LETTER)" }),
      page: queryInt(1),
      pageSize: queryInt(50),
    }),
  },
  responses: { 200: jsonContent(AlertDeliveryListSchema, "A page of deliveries"), ...errorResponses(400, 401, 403, 404) },
});

alertRoutes.openapi(deliveriesRoute, async (c) => {
  const { id } = c.req.valid("param");
  const { state, page = 1, pageSize = 50 } = c.req.valid("query");
  const result = await ruleDeliveries(c.env.DB, id, { state, page, pageSize }, serverTimeZone(c.env));
  const pager = buildPager(new URL(c.req.url), apiUrl(c, `/scheduler/alerts/${id}/deliveries`), page, pageSize, result.total);
  return c.json({ pager, deliveries: result.deliveries }, 200, JSON_HEADERS);
});
