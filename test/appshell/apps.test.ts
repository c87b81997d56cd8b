import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { forgetModules, moduleFor } from "../../src/appshell/apps";
import { ensureBootstrapAdmin } from "../../src/users/bootstrap";
import { adminAuth, api, json } from "../helpers";

const ORIGIN = "http://localhost:8787";
const XHR = { "X-Requested-With": "XMLHttpRequest", Accept: "application/json" };

/** A stand-in for the Workers static-assets binding: a map of files. */
function fakeAssets(files: Record<string, string>) {
  const requested: string[] = [];
  return {
    requested,
    binding: {
      async fetch(input: Request | string): Promise<Response> {
        const path = new URL(typeof input === "string" ? input : input.url).pathname;
        requested.push(path);
        const body = files[path];
        if (body === undefined) return new Response("Not Found", { status: 404 });
        const type = path.endsWith(".html") ? "text/html" : path.endsWith(".js") ? "text/javascript" : "application/octet-stream";
        return new Response(body, { status: 200, headers: { "Content-Type": type, ETag: '"v1"' } });
      },
    },
  };
}

const SCHEDULER_INDEX = `<!doctype html><html><head><meta name="dhis2-base-url" content="__DHIS2_BASE_URL__"/><script src="./static/js/main.js"></script></head><body><div id="dhis2-app-root"></div></body></html>`;
const FILES = {
  "/apps.json": JSON.stringify(["scheduler", "../etc", "scheduler", "data-administration"]),
  "/scheduler/index.html": SCHEDULER_INDEX,
  "/scheduler/static/js/main.js": "console.log('app')",
  "/scheduler/manifest.webapp": JSON.stringify({
    name: "Scheduler",
    description: "Schedule background jobs",
    launch_path: "index.html",
    icons: { "48": "dhis2-app-icon.png" },
    activities: { dhis: { href: "*", namespace: "scheduler" } },
  }),
};

async function call(path: string, init: RequestInit = {}, files: Record<string, string> = FILES): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(
    new Request(ORIGIN + path, { redirect: "manual", ...init }),
    { ...env, ASSETS: fakeAssets(files).binding },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

beforeAll(async () => {
  await ensureBootstrapAdmin(env, Date.now());
});
afterEach(() => forgetModules());

describe("GET /dhis-web-commons/menu/getModules.action", () => {
  it("lists the installed apps from apps.json and their manifests", async () => {
    const res = await call("/dhis-web-commons/menu/getModules.action", { headers: { Authorization: adminAuth(), ...XHR } });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      modules: [
        {
          name: "dhis-web-data-administration",
          namespace: "/dhis-web-data-administration",
          defaultAction: "../dhis-web-data-administration/index.html",
          displayName: "data-administration",
          icon: "",
          description: "",
        },
        {
          name: "dhis-web-scheduler",
          namespace: "/dhis-web-scheduler",
          defaultAction: "../dhis-web-scheduler/index.html",
          displayName: "Scheduler",
          icon: "../dhis-web-scheduler/dhis2-app-icon.png",
          description: "Schedule background jobs",
        },
      ],
    });
  });

  it("answers an empty menu when no apps are installed (the repository's apps folder)", async () => {
    const res = await api("/dhis-web-commons/menu/getModules.action", { headers: XHR });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ modules: [] });
  });

  it("requires authentication", async () => {
    const res = await api("/dhis-web-commons/menu/getModules.action", { auth: null, headers: XHR });
    expect(res.status).toBe(401);
    expect(await json(res)).toEqual({ httpStatus: "Unauthorized", httpStatusCode: 401, status: "ERROR", message: "Unauthorized" });
  });

  it("ignores unsafe manifest paths", () => {
    expect(moduleFor("x", { launch_path: "https://evil.example/", icons: { "48": "../../secret.png" } })).toEqual({
      name: "dhis-web-x",
      namespace: "/dhis-web-x",
      defaultAction: "../dhis-web-x/index.html",
      displayName: "x",
      icon: "",
      description: "",
    });
  });
});

describe("GET /api/staticContent/logo_banner", () => {
  it("answers a 404 WebMessage (the apps use their default logo)", async () => {
    const res = await api("/api/41/staticContent/logo_banner", { headers: XHR });
    expect(res.status).toBe(404);
    expect(await json(res)).toEqual({ httpStatus: "Not Found", httpStatusCode: 404, status: "ERROR", message: "No custom file found." });
  });
});

describe("hosted app bundles", () => {
  const auth = () => ({ Authorization: adminAuth() });

  it("serve index.html with the dhis2-base-url placeholder replaced by the service's base URL", async () => {
    const res = await call("/dhis-web-scheduler/", { headers: auth() });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("text/html;charset=UTF-8");
    expect(res.headers.get("Cache-Control")).toBe("no-cache");
    const html = await res.text();
    expect(html).toContain('<meta name="dhis2-base-url" content="http://localhost:8787"/>');
    expect(html).not.toContain("__DHIS2_BASE_URL__");
    const explicit = await call("/dhis-web-scheduler/index.html", { headers: auth() });
    expect(await explicit.text()).toBe(html);
    // A client's own X-Forwarded headers change nothing without a trusted proxy (TRUST_FORWARDED_HEADERS).
    const proxied = await call("/dhis-web-scheduler/", {
      headers: { ...auth(), "X-Forwarded-Proto": "https", "X-Forwarded-Host": "hmis.example.org" },
    });
    expect(await proxied.text()).toBe(html);
  });

  it("redirect the bare app path to its trailing slash", async () => {
    const res = await call("/dhis-web-scheduler?x=1", { headers: auth() });
    expect(res.status).toBe(301);
    expect(res.headers.get("Location")).toBe("/dhis-web-scheduler/?x=1");
  });

  it("serve other files as stored, and rewrite manifest.webapp's href", async () => {
    const js = await call("/dhis-web-scheduler/static/js/main.js", { headers: auth() });
    expect(js.status).toBe(200);
    expect(js.headers.get("Content-Type")).toBe("text/javascript");
    expect(js.headers.get("ETag")).toBe('"v1"');
    expect(await js.text()).toBe("console.log('app')");
    const manifest = await json(await call("/dhis-web-scheduler/manifest.webapp", { headers: auth() }));
    expect(manifest.activities).toEqual({ dhis: { href: "http://localhost:8787", namespace: "scheduler" } });
  });

  it("answer 404 WebMessages for missing files and apps", async () => {
    const missing = await call("/dhis-web-scheduler/static/nope.js", { headers: auth() });
    expect(missing.status).toBe(404);
    expect((await json(missing)).message).toBe("No file static/nope.js in app scheduler.");
    const app = await call("/dhis-web-maintenance/", { headers: auth() });
    expect(app.status).toBe(404);
    expect((await json(app)).message).toBe("App maintenance is not installed.");
    const real = await api("/dhis-web-scheduler/", { headers: XHR });
    expect(real.status).toBe(404);
  });

  it("require a user: browsers are sent to the sign-in page, scripts get 401", async () => {
    const browser = await call("/dhis-web-scheduler/?lang=fr", { headers: { Accept: "text/html" } });
    expect(browser.status).toBe(302);
    expect(browser.headers.get("Location")).toBe("/dhis-web-commons-security/login.html?redirect=%2Fdhis-web-scheduler%2F%3Flang%3Dfr");
    const stale = await call("/dhis-web-scheduler/", { headers: { Cookie: "JSESSIONID=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" } });
    expect(stale.status).toBe(302);
    const script = await call("/dhis-web-scheduler/static/js/main.js", { headers: XHR });
    expect(script.status).toBe(401);
    const wrongPassword = await call("/dhis-web-scheduler/", { headers: { Authorization: `Basic ${btoa("admin:nope")}` } });
    expect(wrongPassword.status).toBe(302);
  });

  it("work with a session cookie", async () => {
    const login = await api("/api/auth/login", { auth: null, body: { username: "admin", password: "district" }, headers: XHR });
    const cookie = (login.headers.get("Set-Cookie") ?? "").split(";")[0];
    const res = await call("/dhis-web-scheduler/", { headers: { Cookie: cookie } });
    expect(res.status).toBe(200);
  });

  it("leave the shell's own paths and unknown top-level paths alone", async () => {
    const commons = await call("/dhis-web-commons/nothing", { headers: auth() });
    expect(commons.status).toBe(404);
    const other = await api("/favicon.ico", { auth: null });
    expect(other.status).toBe(404);
  });
});
