/**
 * No list parameter is silently ignored. A GET request carrying DHIS2's `filter`, `order` or `fields`
 * is refused (400 WebMessage) unless its route declares that parameter in its query schema, which is
 * the route's promise to apply it. The routes and their parameters come from the app's OpenAPI
 * document (built once per isolate, on the first request that carries one of these parameters), so a
 * new route is covered without being listed here. Registered after authentication: anonymous callers
 * still get their 401 first.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./router";
import { ApiError, echo } from "./webmessage";

export const GUARDED_QUERY_PARAMETERS = ["filter", "order", "fields"] as const;

interface RouteQuery {
  pattern: RegExp;
  /** Literal characters in the path template: the most specific template wins (`/due` over `/{id}`). */
  literal: number;
  declared: Set<string>;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The GET routes of an OpenAPI document with the query parameters each declares. */
export function routeQueries(document: unknown): RouteQuery[] {
  const paths = isRecord(document) && isRecord(document.paths) ? document.paths : {};
  const out: RouteQuery[] = [];
  for (const [template, item] of Object.entries(paths)) {
    const get = isRecord(item) ? item.get : undefined;
    if (!isRecord(get)) continue;
    const params = Array.isArray(get.parameters) ? get.parameters : [];
    const declared = new Set<string>();
    for (const p of params) if (isRecord(p) && p.in === "query" && typeof p.name === "string") declared.add(p.name);
    const source = template
      .split(/(\{[^}]+\})/)
      .map((part) => (part.startsWith("{") ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
      .join("");
    out.push({ pattern: new RegExp(`^${source}$`), literal: template.replace(/\{[^}]+\}/g, "").length, declared });
  }
  return out.sort((a, b) => b.literal - a.literal);
}

/** The middleware, reading the routes from `document()` when first needed. */
export function declaredQueryGuard(document: () => unknown): MiddlewareHandler<AppEnv> {
  let routes: RouteQuery[] | undefined;
  return async (c, next) => {
    if (c.req.method !== "GET" && c.req.method !== "HEAD") return next();
    const params = new URL(c.req.url).searchParams;
    const sent = GUARDED_QUERY_PARAMETERS.filter((name) => params.has(name));
    if (sent.length === 0) return next();
    routes ??= routeQueries(document());
    const path = c.req.path;
    const route = routes.find((r) => r.pattern.test(path));
    const refused = route ? sent.find((name) => !route.declared.has(name)) : undefined;
    if (refused) {
      throw new ApiError(
        400,
        `Query parameter \`${refused}\` is not supported by ${echo(path)}: it would be ignored, so the request is refused.`,
        { errorCode: "E1003" },
      );
    }
    return next();
  };
}
