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

const documentRoute = createRoute({
  method: "get",
  path: "/openapi",
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
  let documentJson: string | undefined;
  router.openapi(documentRoute, (() => {
    documentJson ??= JSON.stringify(root.getOpenAPI31Document({ openapi: "3.1.0", info: OPENAPI_INFO, servers: [{ url: "/" }] }));
    return new Response(documentJson, { headers: { "Content-Type": "application/json;charset=UTF-8", "Cache-Control": "no-cache" } });
  }) as never);
  router.openapi(docsRoute, (async () => {
    const page = await docsPage();
    return new Response(page.html, {
      headers: {
        "Content-Type": "text/html;charset=UTF-8",
        "Cache-Control": "no-cache",
        "Content-Security-Policy": page.csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
      },
    });
  }) as never);
  return router;
}
