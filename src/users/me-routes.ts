/** `GET /api/me`, `/api/me/dashboard` and `/api/me/authorization[/{authority}]` for the caller. */
import { createRoute, z } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { currentUser } from "./auth";
import { applyFields, parseFields, selectedNames } from "../http/fields";
import { jsonResponse } from "../http/respond";
import type { AppEnv } from "../http/router";
import { hasAuthority } from "./store";
import { ERRORS, SECURITY, fieldsQuery } from "./openapi";
import { loadUserSettings } from "../settings/user-settings";
import { meJson } from "./views";

const PRIVATE = { "Cache-Control": "no-cache, private" };

const meRoute = createRoute({
  method: "get",
  path: "/me",
  summary: "The authenticated user: id, username, names, effective authorities, roles, UI settings",
  tags: ["users"],
  security: SECURITY,
  request: { query: z.object({ fields: fieldsQuery() }) },
  responses: {
    200: {
      description: "Current user",
      content: {
        "application/json": {
          schema: z
            .object({ id: z.string(), username: z.string(), name: z.string(), authorities: z.array(z.string()) })
            .passthrough()
            .openapi("Me"),
        },
      },
    },
    ...ERRORS,
  },
});

const dashboardRoute = createRoute({
  method: "get",
  path: "/me/dashboard",
  summary: "Unread counters (always zero: this service has no messaging)",
  tags: ["users"],
  security: SECURITY,
  responses: {
    200: {
      description: "Counters",
      content: { "application/json": { schema: z.object({ unreadInterpretations: z.number(), unreadMessageConversations: z.number() }) } },
    },
    ...ERRORS,
  },
});

const authorizationRoute = createRoute({
  method: "get",
  path: "/me/authorization",
  summary: "The caller's effective authorities",
  tags: ["users"],
  security: SECURITY,
  responses: { 200: { description: "Authorities", content: { "application/json": { schema: z.array(z.string()) } } }, ...ERRORS },
});

const hasAuthorityRoute = createRoute({
  method: "get",
  path: "/me/authorization/{authority}",
  summary: "Whether the caller holds an authority (`ALL` holds every one)",
  tags: ["users"],
  security: SECURITY,
  request: { params: z.object({ authority: z.string().max(255) }) },
  responses: { 200: { description: "true or false", content: { "application/json": { schema: z.boolean() } } }, ...ERRORS },
});

export function registerMeRoutes(router: OpenAPIHono<AppEnv>): void {
  router.openapi(meRoute, async (c) => {
    const user = currentUser(c);
    const { fields } = c.req.valid("query");
    const selection = fields === undefined ? undefined : parseFields(fields);
    const names = selection ? selectedNames(selection) : null;
    // The user's effective UI settings (own value, else the system's, else the default).
    const settings = names === null || names.has("settings") ? await loadUserSettings(c.env.DB, user.uid) : undefined;
    const body = meJson(user, settings);
    return jsonResponse(selection === undefined ? body : applyFields(body, selection), 200, PRIVATE);
  });
  router.openapi(dashboardRoute, (c) => {
    currentUser(c);
    return jsonResponse({ unreadInterpretations: 0, unreadMessageConversations: 0 }, 200, PRIVATE);
  });
  router.openapi(authorizationRoute, (c) => jsonResponse(currentUser(c).authorities, 200, PRIVATE));
  router.openapi(hasAuthorityRoute, (c) => {
    const user = currentUser(c);
    return jsonResponse(hasAuthority(user, c.req.valid("param").authority), 200, PRIVATE);
  });
}
