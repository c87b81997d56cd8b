/**
 * The option lists the Scheduler app's job form loads all together (`use-parameter-options.js`):
 *
 * - `GET /api/analytics/tableTypes`: a bare JSON array of DHIS2's AnalyticsTableType names (DHIS2's
 *   `AnalyticsController.getTableTypes` returns the enum array; the app maps over it directly).
 * - `GET /api/dataIntegrity`: a bare JSON array of checks (DHIS2's `getAvailableChecks`), read by the
 *   app as `data.map(check => check.name / displayName / severity)`.
 * - `GET /api/{validationRuleGroups|predictors|predictorGroups|dashboards|userGroups|programs|
 *   pushAnalysis|aggregateDataExchanges}`: DHIS2's metadata list shape `{"pager":{…},"<name>":[{id,
 *   displayName}]}`, and without `pager` when `paging=false`.
 *
 * Everything except the table types comes from the configured `OptionSource` (empty lists unless a
 * DHIS2 bridge is configured; a failing bridge also answers empty lists, never a 5xx).
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { currentUser } from "../users/auth";
import { buildPager } from "../http/pager";
import { applyFields, parseFields } from "../http/fields";
import { queryBool, queryInt, repeatableQuery } from "../http/params";
import { apiUrl, jsonResponse } from "../http/respond";
import { type AppEnv, SECURED } from "../http/router";
import { ANALYTICS_TABLE_TYPES, OPTION_LISTS, type OptionListName, optionSource } from "./options";

const SECURITY = SECURED;
const PRIVATE_NO_CACHE = "no-cache, private";
const DEFAULT_PAGE_SIZE = 50;

const listQuery = z.object({
  paging: queryBool(true),
  page: queryInt(1),
  pageSize: queryInt(DEFAULT_PAGE_SIZE),
  fields: repeatableQuery("Field filter over the entries (`id,displayName`, `*`, …)"),
});

const tableTypesRoute = createRoute({
  method: "get",
  path: "/api/analytics/tableTypes",
  summary: "DHIS2's analytics table types (a bare array of enum names)",
  tags: ["app shell"],
  security: SECURITY,
  responses: {
    200: {
      description: "Enum names",
      content: { "application/json": { schema: { type: "array", items: { type: "string", enum: [...ANALYTICS_TABLE_TYPES] } } } },
    },
    401: { description: "Missing or bad credentials (WebMessage)" },
  },
});

const dataIntegrityRoute = createRoute({
  method: "get",
  path: "/api/dataIntegrity",
  summary: "Data integrity checks (a bare array; empty unless a DHIS2 bridge is configured)",
  tags: ["app shell"],
  security: SECURITY,
  responses: {
    200: {
      description: "Checks with name, displayName, severity, …",
      content: { "application/json": { schema: { type: "array", items: { type: "object" } } } },
    },
    401: { description: "Missing or bad credentials (WebMessage)" },
  },
});

function listRoute(name: OptionListName) {
  return createRoute({
    method: "get",
    path: `/api/${name}`,
    summary: `${name} as {id, displayName} (DHIS2 metadata list; empty unless a DHIS2 bridge is configured)`,
    tags: ["app shell"],
    security: SECURITY,
    request: { query: listQuery },
    responses: {
      200: {
        description: `\`{"pager":{…},"${name}":[{id, displayName}]}\`; no pager with \`paging=false\``,
        content: { "application/json": { schema: { type: "object" } } },
      },
      400: { description: "Bad parameter value (WebMessage)" },
      401: { description: "Missing or bad credentials (WebMessage)" },
    },
  });
}

/** One page of a list in DHIS2's shape (`pager` first, then the collection). */
export function pagedList(
  name: string,
  items: readonly unknown[],
  paging: boolean,
  page: number,
  pageSize: number,
  url: string,
): Record<string, unknown> {
  if (!paging) return { [name]: items };
  const size = Math.max(1, pageSize);
  const current = Math.max(1, page);
  const u = new URL(url);
  const pager = buildPager(u, `${u.origin}${u.pathname}`, current, size, items.length);
  return { pager, [name]: items.slice((current - 1) * size, current * size) };
}

export function registerOptionRoutes(router: OpenAPIHono<AppEnv>): void {
  router.openapi(tableTypesRoute, (c) => {
    currentUser(c);
    return jsonResponse(ANALYTICS_TABLE_TYPES, 200, { "Cache-Control": PRIVATE_NO_CACHE });
  });

  router.openapi(dataIntegrityRoute, async (c) => {
    currentUser(c);
    const checks = await optionSource(c.env).dataIntegrityChecks();
    return jsonResponse(checks, 200, { "Cache-Control": PRIVATE_NO_CACHE });
  });

  for (const name of OPTION_LISTS) {
    router.openapi(listRoute(name), async (c) => {
      currentUser(c);
      const { paging, page, pageSize, fields } = c.req.valid("query");
      const all = await optionSource(c.env).list(name);
      const sel = fields === undefined ? undefined : parseFields(fields);
      const items = sel ? all.map((item) => applyFields(item, sel)) : all;
      const requestUrl = new URL(c.req.url);
      const url = `${apiUrl(c, `/${name}`)}${requestUrl.search}`;
      return jsonResponse(pagedList(name, items, paging ?? true, page ?? 1, pageSize ?? DEFAULT_PAGE_SIZE, url), 200, {
        "Cache-Control": PRIVATE_NO_CACHE,
      });
    });
  }
}
