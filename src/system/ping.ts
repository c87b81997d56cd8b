/**
 * `GET /api/system/ping`: 200 `pong` when the credentials are good (the authentication middleware
 * answers 401 otherwise), and `GET /api/ping`: public liveness probe, 200 with an empty body and no
 * content type.
 */
import { createRoute } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { currentUser } from "../users/auth";
import { NO_STORE } from "../http/respond";
import type { AppEnv } from "../http/router";
import { SECURITY } from "./negotiate";

const systemPing = createRoute({
  method: "get",
  path: "/system/ping",
  summary: "Check credentials: 200 `pong` when they are valid, 401 otherwise",
  tags: ["system"],
  security: SECURITY,
  responses: {
    200: { description: "The credentials are valid", content: { "text/plain": { schema: { type: "string", example: "pong" } } } },
    401: { description: "Missing or bad credentials (WebMessage)" },
  },
});

const publicPing = createRoute({
  method: "get",
  path: "/ping",
  security: [],
  summary: "Liveness probe (no authentication): 200 with an empty body",
  tags: ["system"],
  responses: { 200: { description: "The service is up" } },
});

export function registerPingRoutes(router: OpenAPIHono<AppEnv>): void {
  router.openapi(systemPing, (c) => {
    currentUser(c);
    return new Response("pong", { status: 200, headers: { "Content-Type": "text/plain;charset=UTF-8", "Cache-Control": NO_STORE } });
  });
  router.openapi(publicPing, () => new Response(null, { status: 200, headers: { "Cache-Control": NO_STORE } }));
}
