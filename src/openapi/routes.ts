/** The OpenAPI 3.1 document, generated from every route's zod schemas, and its reference page. */
import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRouter, type AppEnv } from "../http/router";

export const OPENAPI_INFO = {
  title: "HRHIS4 Edge Web API",
  version: "2.42.0",
  description: "DHIS2-compatible system resource and job scheduling API on Cloudflare Workers.",
};

export function openApiRoutes(root: OpenAPIHono<AppEnv>) {
  const router = createRouter();
  router.openAPIRegistry.registerComponent("securitySchemes", "basicAuth", { type: "http", scheme: "basic" });
  router.openAPIRegistry.registerComponent("securitySchemes", "apiToken", {
    type: "apiKey",
    in: "header",
    name: "Authorization",
    description: "`ApiToken d2pat_…` (DHIS2 personal access token)",
  });
  router.get("/openapi.json", (c) =>
    c.json(root.getOpenAPI31Document({ openapi: "3.1.0", info: OPENAPI_INFO, servers: [{ url: "/" }] })),
  );
  return router;
}
