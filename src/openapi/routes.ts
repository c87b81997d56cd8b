/**
 * The OpenAPI 3.1 document, generated from every route's zod schemas, and its reference page.
 *
 * The document is served at `/api/openapi.json`. Request paths are normalised before routing
 * (`.json` suffixes are stripped, see src/http/path.ts), so the route is registered as `/openapi`
 * and answers both `/api/openapi` and `/api/openapi.json`.
 */
import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { createRouter, type AppEnv } from "../http/router";
import { docsPage } from "./docs-page";

export const OPENAPI_INFO = {
  title: "HRHIS4 Edge Web API",
  version: "2.42.0",
  description: "DHIS2-compatible system resource and job scheduling API on Cloudflare Workers.",
};

const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

/**
 * The operationId a route gets when it declares none: its method and path in camel case, path
 * parameters as `By<Name>` (`GET /api/jobConfigurations/{id}/progress` → `getJobConfigurationsByIdProgress`).
 * Stable as long as the route is, and unique because method + path are.
 */
export function derivedOperationId(method: string, path: string): string {
  const words = path
    .split("/")
    .filter((seg) => seg !== "" && seg !== "api")
    .flatMap((seg) => seg.split(/(\{[^}]+\})/).filter(Boolean))
    .map((part) => (part.startsWith("{") ? `By-${part.slice(1, -1)}` : part))
    .flatMap((part) => part.split(/[^A-Za-z0-9]+/).filter(Boolean));
  return method.toLowerCase() + words.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join("");
}

type OpenApiDocument = ReturnType<OpenAPIHono<AppEnv>["getOpenAPI31Document"]>;

/**
 * The published document: every route's schemas, plus what holds for every operation and so is not
 * repeated in each route: an operationId (derived when the route declares none), and the 401 WebMessage
 * of a secured operation (the authentication middleware answers it before any route runs).
 */
export function openApiDocument(root: OpenAPIHono<AppEnv>): OpenApiDocument {
  const doc = root.getOpenAPI31Document({ openapi: "3.1.0", info: OPENAPI_INFO, servers: [{ url: "/" }] });
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item?.[method];
      if (!op) continue;
      op.operationId ??= derivedOperationId(method, path);
      if (op.security?.length && op.responses && !op.responses["401"]) {
        op.responses["401"] = {
          description: "Missing or bad credentials (WebMessage)",
          content: { "application/json": { schema: { $ref: "#/components/schemas/WebMessage" } } },
        };
      }
    }
  }
  return doc;
}

const documentRoute = createRoute({
  method: "get",
  path: "/openapi",
  operationId: "getOpenApiDocument",
  security: [],
  tags: ["openapi"],
  summary: "This OpenAPI 3.1 document (also at /api/openapi.json)",
  responses: {
    200: {
      description: "The document",
      content: { "application/json": { schema: z.record(z.string(), z.unknown()).openapi("OpenApiDocument") } },
    },
  },
});

const docsRoute = createRoute({
  method: "get",
  path: "/docs",
  operationId: "getApiReference",
  security: [],
  tags: ["openapi"],
  summary: "Interactive API reference (self-contained page reading /api/openapi.json)",
  responses: { 200: { description: "HTML page", content: { "text/html": { schema: z.string() } } } },
});

export function openApiRoutes(root: OpenAPIHono<AppEnv>) {
  const router = createRouter();
  router.openAPIRegistry.registerComponent("securitySchemes", "basicAuth", { type: "http", scheme: "basic" });
  router.openAPIRegistry.registerComponent("securitySchemes", "apiToken", {
    type: "apiKey",
    in: "header",
    name: "Authorization",
    description: "`ApiToken d2pat_…` (DHIS2 personal access token)",
  });
  // Routes cannot change after start-up: build the document once per isolate.
  let document: OpenApiDocument | undefined;
  router.openapi(documentRoute, (c) => {
    document ??= openApiDocument(root);
    return c.json(document, 200, { "Content-Type": "application/json;charset=UTF-8", "Cache-Control": "no-cache" });
  });
  router.openapi(docsRoute, async (c) => {
    const page = await docsPage();
    return c.html(page.html, 200, {
      "Content-Type": "text/html;charset=UTF-8",
      "Cache-Control": "no-cache",
      "Content-Security-Policy": page.csp,
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
    });
  });
  return router;
}
