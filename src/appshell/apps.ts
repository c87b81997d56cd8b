/**
 * Hosted DHIS2 app bundles and the app menu.
 *
 * The operator unpacks an App Hub zip into the static-assets folder (`apps/<name>/`, see wrangler.jsonc
 * `[assets]` and docs/APPS.md) and lists `<name>` in `apps/apps.json`. The Worker runs first for every
 * request (`run_worker_first`), so the authentication middleware guards the apps, and serves
 * `/dhis-web-<name>/<file>` from the `ASSETS` binding's `/<name>/<file>` for the apps listed in
 * `apps.json` only (a folder not listed is 404, as if absent):
 *
 * - `index.html` (and `/dhis-web-<name>/`) with the `dhis2-base-url` meta placeholder
 *   (`__DHIS2_BASE_URL__`, app-platform builds) replaced by this service's base URL;
 * - `manifest.webapp` with `activities.dhis.href` set to the base URL (as DHIS2's app manager does);
 * - every other file as stored.
 *
 * `GET /dhis-web-commons/menu/getModules.action` lists the apps named in `apps.json` as DHIS2's
 * `{"modules":[{name, namespace, defaultAction, displayName, icon, description}]}` (paths relative to
 * `<base>/api/`, as the header bar resolves them).
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { currentUser } from "../users/auth";
import { clock } from "../http/clock";
import { contextPath, jsonResponse, noStoreJson, webMessageResponse } from "../http/respond";
import { type AppEnv, SECURED } from "../http/router";
import { echo, webMessage } from "../http/webmessage";

const SECURITY = SECURED;
const APP_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;
const BASE_URL_PLACEHOLDER = "__DHIS2_BASE_URL__";
const MODULES_TTL_MS = 60_000;

function assets(c: Context<AppEnv>): Fetcher | undefined {
  return c.env.ASSETS;
}

export interface WebModule {
  name: string;
  namespace: string;
  defaultAction: string;
  displayName: string;
  icon: string;
  description: string;
}

interface Manifest {
  name?: unknown;
  description?: unknown;
  launch_path?: unknown;
  icons?: Record<string, unknown>;
  activities?: { dhis?: Record<string, unknown> };
}

const notFoundMessage = (message: string) => webMessageResponse(webMessage(404, { message }));

async function readJson(binding: Fetcher, origin: string, path: string): Promise<unknown> {
  const res = await binding.fetch(new Request(`${origin}${path}`));
  if (!res.ok) return undefined;
  try {
    return JSON.parse(await res.text());
  } catch {
    return undefined;
  }
}

/** A relative launch path or icon file inside the bundle (no scheme, no `..`). */
const bundlePath = (v: unknown): string | undefined =>
  typeof v === "string" && v.length > 0 && v.length < 256 && !/^[a-z]+:|^\/|\.\./i.test(v) ? v : undefined;

export function moduleFor(name: string, manifest: Manifest | undefined): WebModule {
  const m = manifest ?? {};
  const launch = bundlePath(m.launch_path) ?? "index.html";
  const icons = m.icons ?? {};
  const icon = bundlePath(icons["48"]) ?? bundlePath(icons["128"]) ?? bundlePath(icons["16"]);
  return {
    name: `dhis-web-${name}`,
    namespace: `/dhis-web-${name}`,
    defaultAction: `../dhis-web-${name}/${launch}`,
    displayName: typeof m.name === "string" && m.name ? m.name : name,
    icon: icon ? `../dhis-web-${name}/${icon}` : "",
    description: typeof m.description === "string" ? m.description : "",
  };
}

let modulesCache: { expires: number; modules: WebModule[] } | undefined;

/** Tests replace the assets between files: forget the cached menu. */
export function forgetModules(): void {
  modulesCache = undefined;
}

async function installedModules(c: Context<AppEnv>): Promise<WebModule[]> {
  const now = clock.now();
  if (modulesCache && modulesCache.expires > now) return modulesCache.modules;
  const binding = assets(c);
  const modules: WebModule[] = [];
  if (binding) {
    const origin = new URL(c.req.url).origin;
    const list = await readJson(binding, origin, "/apps.json");
    const names = Array.isArray(list) ? list.filter((n): n is string => typeof n === "string" && APP_NAME.test(n)) : [];
    for (const name of [...new Set(names)].sort()) {
      modules.push(moduleFor(name, (await readJson(binding, origin, `/${name}/manifest.webapp`)) as Manifest | undefined));
    }
  }
  modulesCache = { expires: now + MODULES_TTL_MS, modules };
  return modules;
}

const modulesRoute = createRoute({
  method: "get",
  path: "/dhis-web-commons/menu/getModules.action",
  summary: "The app menu: hosted apps as DHIS2 web modules",
  tags: ["app shell"],
  security: SECURITY,
  responses: {
    200: { description: '`{"modules":[…]}`', content: { "application/json": { schema: { type: "object" } } } },
    401: { description: "Missing or bad credentials (WebMessage)" },
  },
});

const logoRoute = createRoute({
  method: "get",
  path: "/api/staticContent/{key}",
  summary: "Custom logos: none are stored, so always 404 (apps fall back to the default logo)",
  tags: ["app shell"],
  security: SECURITY,
  request: { params: z.object({ key: z.string().openapi({ param: { name: "key", in: "path" }, example: "logo_banner" }) }) },
  responses: { 404: { description: "No custom file (WebMessage)" } },
});

export function registerAppRoutes(router: OpenAPIHono<AppEnv>): void {
  router.openapi(modulesRoute, async (c) => {
    currentUser(c);
    return jsonResponse({ modules: await installedModules(c) }, 200, { "Cache-Control": "no-cache, private" });
  });

  router.openapi(logoRoute, (c) => {
    currentUser(c);
    return notFoundMessage("No custom file found.");
  });

  router.openAPIRegistry.registerPath({
    method: "get",
    path: "/dhis-web-{app}/{file}",
    summary: "Files of a hosted app bundle (index.html gets this service's base URL)",
    tags: ["app shell"],
    security: SECURITY,
    request: {
      params: z.object({
        app: z.string().openapi({ param: { name: "app", in: "path" }, example: "scheduler" }),
        file: z.string().openapi({ param: { name: "file", in: "path" }, example: "index.html" }),
      }),
    },
    responses: {
      200: { description: "The file" },
      301: { description: "`/dhis-web-{app}` without a file: to `/dhis-web-{app}/`" },
      302: { description: "Browser without a session: to the sign-in page" },
      404: { description: "Not installed" },
    },
  });

  router.get("/:app{dhis-web-(?!commons)[a-z0-9][a-z0-9-]*}/*", serveAppFile);
  router.get("/:app{dhis-web-(?!commons)[a-z0-9][a-z0-9-]*}", serveAppFile);
}

async function serveAppFile(c: Context<AppEnv>): Promise<Response> {
  currentUser(c);
  const url = new URL(c.req.url);
  const match = /^\/dhis-web-([a-z0-9][a-z0-9-]*)(\/.*)?$/.exec(url.pathname);
  if (!match || match[1].startsWith("commons") || !APP_NAME.test(match[1]))
    return notFoundMessage(`No endpoint GET ${echo(url.pathname)} found.`);
  const name = match[1];
  // Relative asset URLs in index.html need the trailing slash.
  if (match[2] === undefined) return new Response(null, { status: 301, headers: { Location: `/dhis-web-${name}/${url.search}` } });
  const binding = assets(c);
  // Only the apps listed in apps.json are served, whatever else the assets folder holds.
  if (!binding || !(await installedModules(c)).some((m) => m.name === `dhis-web-${name}`)) {
    return notFoundMessage(`App ${name} is not installed.`);
  }
  let file = match[2].slice(1);
  if (file === "") file = "index.html";
  if (file.split("/").some((seg) => seg === ".." || seg === ".")) return notFoundMessage(`No file ${echo(file)} in app ${name}.`);
  const res = await binding.fetch(new Request(`${url.origin}/${name}/${file}`, { headers: c.req.raw.headers }));
  if (res.status === 404) {
    return notFoundMessage(file === "index.html" ? `App ${name} is not installed.` : `No file ${echo(file)} in app ${name}.`);
  }
  const base = contextPath(c.req.raw, c.env);
  if (file === "index.html" && res.ok) {
    const html = (await res.text()).split(BASE_URL_PLACEHOLDER).join(base);
    return new Response(html, { status: 200, headers: { "Content-Type": "text/html;charset=UTF-8", "Cache-Control": "no-cache" } });
  }
  if (file === "manifest.webapp" && res.ok) {
    try {
      const manifest = JSON.parse(await res.text()) as Manifest;
      manifest.activities = { ...(manifest.activities ?? {}), dhis: { ...(manifest.activities?.dhis ?? {}), href: base } };
      return noStoreJson(manifest);
    } catch {
      return notFoundMessage(`No valid manifest in app ${name}.`);
    }
  }
  return res;
}
