/**
 * Issue 14, point 6: X-Forwarded-Host/-Proto/-Port from a client change nothing unless the Worker is
 * configured to trust a proxy (TRUST_FORWARDED_HEADERS=true); PUBLIC_BASE_URL, when set, is the base
 * URL whatever the headers say. Checked on contextPath, instanceBaseUrl, /api/system/context, the
 * Location headers of created objects, pager links and a hosted app's base URL.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { forgetModules } from "../../src/appshell/apps";
import { publicBaseUrl } from "../../src/http/respond";
import { ensureBootstrapAdmin } from "../../src/users/bootstrap";
import { adminAuth } from "../helpers";
import { uniqueCron } from "./fixtures";

const BASE = "http://localhost:8787";
const FORWARDED = { "X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example", "X-Forwarded-Port": "8443" };
const INDEX = `<html><head><meta name="dhis2-base-url" content="__DHIS2_BASE_URL__"/></head></html>`;

const assets = {
  async fetch(input: Request | string): Promise<Response> {
    const path = new URL(typeof input === "string" ? input : input.url).pathname;
    if (path === "/apps.json") return new Response(JSON.stringify(["scheduler"]));
    if (path === "/scheduler/index.html") return new Response(INDEX, { headers: { "Content-Type": "text/html" } });
    if (path === "/scheduler/manifest.webapp")
      return new Response(JSON.stringify({ name: "Scheduler", activities: { dhis: { href: "*" } } }));
    return new Response("Not Found", { status: 404 });
  },
};

async function call(vars: Partial<Env>, method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { ...FORWARDED, Authorization: adminAuth() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const ctx = createExecutionContext();
  const res = await app.fetch(
    new Request(BASE + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }),
    { ...env, ASSETS: assets, ...vars } as Env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

/** Every base URL a client can observe, under one configuration. */
async function observedBases(vars: Partial<Env>): Promise<string[]> {
  forgetModules();
  const info: any = await (await call(vars, "GET", "/api/system/info")).json();
  const context: any = await (await call(vars, "GET", "/api/system/context")).json();
  const job = await call(vars, "POST", "/api/jobConfigurations", {
    name: `Forwarded ${crypto.randomUUID()}`,
    jobType: "DATA_INTEGRITY",
    cronExpression: uniqueCron(),
  });
  expect(job.status).toBe(201);
  const user = await call(vars, "POST", "/api/users", {
    username: `fwd_${crypto.randomUUID().slice(0, 8)}`,
    password: "Fwd-Pa55word!",
    firstName: "F",
    surname: "W",
  });
  expect(user.status).toBe(201);
  const token = await call(vars, "POST", "/api/apiToken", {});
  expect(token.status).toBe(201);
  const list: any = await (await call(vars, "GET", "/api/jobConfigurations?pageSize=1&fields=id")).json();
  const html = await (await call(vars, "GET", "/dhis-web-scheduler/")).text();
  const manifest: any = await (await call(vars, "GET", "/dhis-web-scheduler/manifest.webapp")).json();
  const origin = (url: string) => url.replace(/\/api\/.*$/, "");
  return [
    info.contextPath,
    info.instanceBaseUrl,
    context.contextPath,
    origin(job.headers.get("Location")!),
    origin(user.headers.get("Location")!),
    origin(token.headers.get("Location")!),
    origin(list.pager.nextPage),
    /content="([^"]*)"/.exec(html)![1],
    manifest.activities.dhis.href,
  ];
}

beforeAll(async () => {
  await ensureBootstrapAdmin(env, Date.now());
});

describe("forwarded headers", () => {
  it("change nothing by default: every URL uses the request's own origin", async () => {
    expect(await observedBases({})).toEqual(Array(9).fill(BASE));
    expect(await observedBases({ TRUST_FORWARDED_HEADERS: "false" })).toEqual(Array(9).fill(BASE));
    expect(await observedBases({ TRUST_FORWARDED_HEADERS: "yes" })).toEqual(Array(9).fill(BASE));
  });

  it("are honoured behind a trusted proxy (TRUST_FORWARDED_HEADERS=true)", async () => {
    expect(await observedBases({ TRUST_FORWARDED_HEADERS: "true" })).toEqual(Array(9).fill("https://evil.example:8443"));
  });

  it("PUBLIC_BASE_URL wins over the request and over trusted headers", async () => {
    const configured = { PUBLIC_BASE_URL: "https://hmis.example.org/dhis/", TRUST_FORWARDED_HEADERS: "true" };
    expect(await observedBases(configured)).toEqual(Array(9).fill("https://hmis.example.org/dhis"));
  });

  it("an unusable PUBLIC_BASE_URL is ignored", () => {
    expect(publicBaseUrl("https://hmis.example.org")).toBe("https://hmis.example.org");
    expect(publicBaseUrl(" http://10.0.0.5:8080/x/ ")).toBe("http://10.0.0.5:8080/x");
    for (const bad of [
      "",
      "hmis.example.org",
      "javascript:alert(1)",
      "ftp://h.example",
      "https://u:p@h.example",
      "https://h.example/?q=1",
    ]) {
      expect(publicBaseUrl(bad), bad).toBeNull();
    }
  });
});
