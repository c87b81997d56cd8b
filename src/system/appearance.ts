/** `GET /api/system/flags` and `/api/system/styles`: the appearance choices, as DHIS2 StyleObjects. */
import { createRoute, z } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { NO_STORE } from "../http/respond";
import type { AppEnv } from "../http/router";
import { FLAG_NAMES } from "./flags-data";
import { COMMON_ERRORS, SECURITY } from "./negotiate";

export interface StyleObject {
  name: string;
  key: string;
  path: string;
}

export const FLAGS: readonly StyleObject[] = FLAG_NAMES.map(([key, name]) => ({ name, key, path: `${key}.png` }));

const STYLE_NAMES: ReadonlyArray<readonly [string, string]> = [
  ["green", "Green"],
  ["india", "India"],
  ["light_blue", "Light Blue"],
  ["myanmar", "Myanmar"],
  ["vietnam", "Vietnam"],
];

export const STYLES: readonly StyleObject[] = STYLE_NAMES.map(([key, name]) => ({ name, key, path: `${key}/${key}.css` }));

const StyleList = z.array(z.object({ name: z.string(), key: z.string(), path: z.string() }).openapi("StyleObject"));

function listRoute(path: string, summary: string) {
  return createRoute({
    method: "get",
    path,
    summary,
    tags: ["system"],
    security: SECURITY,
    responses: { 200: { description: summary, content: { "application/json": { schema: StyleList } } }, ...COMMON_ERRORS },
  });
}

export function registerAppearanceRoutes(router: OpenAPIHono<AppEnv>): void {
  const flagsJson = JSON.stringify(FLAGS);
  const stylesJson = JSON.stringify(STYLES);
  const send = (body: string) =>
    new Response(body, { status: 200, headers: { "Content-Type": "application/json;charset=UTF-8", "Cache-Control": NO_STORE } });
  router.openapi(listRoute("/system/flags", "Flag icons, sorted by key"), () => send(flagsJson));
  router.openapi(listRoute("/system/styles", "User interface styles, sorted by key"), () => send(stylesJson));
}
