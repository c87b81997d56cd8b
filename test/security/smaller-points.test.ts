/**
 * Issue 14, point 9 (the smaller ones; the lockout's username question is in lockout-abuse.test.ts):
 * only apps listed in apps.json are served; nobody deletes their own account and the last superuser
 * can be neither removed nor expired nor stripped of ALL; error messages echo at most ECHO_MAX_CHARS of
 * a rejected input; a user holds at most MAX_SESSIONS_PER_USER sessions.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { forgetModules } from "../../src/appshell/apps";
import { ECHO_MAX_CHARS, echo } from "../../src/http/webmessage";
import { BOOTSTRAP_ADMIN_UID } from "../../src/users/bootstrap";
import { MAX_SESSIONS_PER_USER } from "../../src/users/session";
import { adminAuth, basic } from "../helpers";
import { createJob, uniqueCron } from "./fixtures";
import { admin, call, send } from "./support";

const BASE = "http://localhost:8787";

describe("hosted apps", () => {
  const assets = {
    async fetch(input: Request | string): Promise<Response> {
      const path = new URL(typeof input === "string" ? input : input.url).pathname;
      const files: Record<string, string> = {
        "/apps.json": JSON.stringify(["scheduler"]),
        "/scheduler/index.html": "<html>scheduler</html>",
        "/secret/index.html": "<html>not listed</html>",
        "/secret/data.json": '{"private":true}',
      };
      return path in files ? new Response(files[path]) : new Response("Not Found", { status: 404 });
    },
  };
  async function open(path: string): Promise<Response> {
    forgetModules();
    const ctx = createExecutionContext();
    const res = await app.fetch(new Request(BASE + path, { headers: { Authorization: adminAuth() } }), { ...env, ASSETS: assets }, ctx);
    await waitOnExecutionContext(ctx);
    return res;
  }

  it("serves only the apps listed in apps.json", async () => {
    expect((await open("/dhis-web-scheduler/index.html")).status).toBe(200);
    for (const path of ["/dhis-web-secret/", "/dhis-web-secret/index.html", "/dhis-web-secret/data.json"]) {
      const res = await open(path);
      expect(res.status, path).toBe(404);
      expect(await res.json()).toEqual({
        httpStatus: "Not Found",
        httpStatusCode: 404,
        status: "ERROR",
        message: "App secret is not installed.",
      });
    }
  });
});

describe("superusers", () => {
  let second: string;

  beforeAll(async () => {
    const res = await call("POST", "/api/users", admin(), {
      username: "second_super",
      password: "Second-Pa55!",
      firstName: "S",
      surname: "S",
      authorities: ["ALL"],
    });
    expect(res.status).toBe(201);
    second = ((await res.json()) as any).response.uid;
  });

  it("a superuser cannot delete their own account, even when another superuser remains", async () => {
    const res = await call("DELETE", `/api/users/${BOOTSTRAP_ADMIN_UID}`, admin());
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({
      httpStatus: "Conflict",
      httpStatusCode: 409,
      status: "ERROR",
      errorCode: "E1004",
      message: "You cannot delete your own account; another superuser can.",
    });
    expect((await call("GET", "/api/me", admin())).status).toBe(200);
  });

  it("the last superuser cannot be given an account expiry in the past (it would lock them out)", async () => {
    // Two superusers: one may expire.
    const expireSecond = await call("PUT", `/api/users/${second}`, admin(), {
      username: "second_super",
      firstName: "S",
      surname: "S",
      authorities: ["ALL"],
      accountExpiry: Date.now() - 1000,
    });
    expect(expireSecond.status).toBe(200);
    // Now admin is the last usable one.
    const expireAdmin = await call("PUT", `/api/users/${BOOTSTRAP_ADMIN_UID}`, basic("admin", "district"), {
      username: "admin",
      firstName: "System",
      surname: "Administrator",
      userRoles: [{ id: "yrB6vc5Ip3r" }],
      accountExpiry: Date.now() - 1000,
    });
    expect(expireAdmin.status).toBe(409);
    const body: any = await expireAdmin.json();
    expect(body.response.errorReports[0]).toMatchObject({ errorCode: "E4030" });
    expect(body.response.errorReports[0].message).toBe(
      "Cannot disable, expire or demote admin: at least one enabled user with authority ALL must remain.",
    );
    expect((await call("GET", "/api/me", admin())).status).toBe(200);
    // The expired one does not count as a remaining superuser for a delete either.
    expect((await call("DELETE", `/api/users/${second}`, admin())).status).toBe(200);
  });
});

describe("echo of rejected input", () => {
  const HUGE = "Z".repeat(200_000);
  const LONG = "Z".repeat(5_000);

  /** The longest run of the marker in a text. */
  const longestRun = (text: string) => Math.max(0, ...(text.match(/Z+/g) ?? []).map((r) => r.length));

  it("echo() keeps a short prefix", () => {
    expect(echo("short")).toBe("short");
    expect(echo(HUGE)).toBe(`${"Z".repeat(ECHO_MAX_CHARS)}…`);
    expect(echo({ a: HUGE }).length).toBe(ECHO_MAX_CHARS + 1);
    expect(echo(`${"a".repeat(ECHO_MAX_CHARS - 1)}😀`)).toBe(`${"a".repeat(ECHO_MAX_CHARS - 1)}…`);
  });

  it("no error message repeats more than a capped prefix of what was sent", async () => {
    const job = await createJob(`Echo ${uniqueCron()}`);
    const json = (method: string, target: string, body: unknown, headers: Record<string, string> = {}) =>
      send({
        method,
        target,
        headers: { Authorization: adminAuth(), "Content-Type": "application/json", ...headers },
        body: JSON.stringify(body),
      });
    const get = (target: string, headers: Record<string, string> = {}) =>
      send({ method: "GET", target, headers: { Authorization: adminAuth(), ...headers } });
    const cases: [string, () => Promise<Response>][] = [
      ["query int", () => get(`/api/jobConfigurations?page=${LONG}`)],
      ["filter property", () => get(`/api/jobConfigurations?filter=${LONG}:eq:1`)],
      ["filter value", () => get(`/api/jobConfigurations?filter=delay:eq:${LONG}`)],
      ["users filter", () => get(`/api/users?filter=created:gt:${LONG}`)],
      ["unknown path", () => get(`/api/${LONG}`)],
      ["task type", () => get(`/api/system/tasks/${LONG}`)],
      ["job type", () => json("POST", "/api/jobConfigurations", { name: "Echo job", jobType: HUGE, cronExpression: uniqueCron() })],
      ["job id", () => json("POST", "/api/jobConfigurations", { id: HUGE, name: "Echo job 2", jobType: "DATA_INTEGRITY" })],
      [
        "patch path",
        () =>
          json("PATCH", `/api/jobConfigurations/${job}`, [{ op: "replace", path: `/1${HUGE}`, value: 1 }], {
            "Content-Type": "application/json-patch+json",
          }),
      ],
      [
        "user body",
        () =>
          json("POST", "/api/users", {
            username: "echo_user",
            password: "Echo-Pa55word!",
            firstName: "E",
            surname: "U",
            accountExpiry: HUGE,
            authorities: [HUGE],
            userRoles: [HUGE],
            disabled: { HUGE },
          }),
      ],
      [
        "user id",
        () => json("POST", "/api/users", { id: HUGE, username: "echo_user2", password: "Echo-Pa55word!", firstName: "E", surname: "U" }),
      ],
      [
        "token",
        () =>
          json("POST", "/api/apiToken", {
            expire: HUGE,
            attributes: [{ type: HUGE }, { type: "IpAllowedList", allowedIps: ["Z".repeat(2000)] }],
          }),
      ],
      [
        "setting value",
        () =>
          send({
            method: "POST",
            target: "/api/systemSettings/keyApplicationIntro",
            headers: { Authorization: adminAuth(), "Content-Type": "text/plain" },
            body: "Z".repeat(20_000),
          }),
      ],
      ["setting key", () => json("POST", "/api/systemSettings", { [LONG]: 1 })],
      ["user setting user", () => get(`/api/userSettings?user=${LONG}`)],
      [
        "sign-in content type",
        () => send({ method: "POST", target: "/api/auth/login", headers: { "Content-Type": `text/${LONG}` }, body: "{}" }),
      ],
    ];
    for (const [name, make] of cases) {
      const res = await make();
      const text = await res.text();
      expect(res.status, `${name}: ${text.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
      expect(res.status, name).toBeLessThan(500);
      expect(longestRun(text), `${name}: ${text.slice(0, 300)}`).toBeLessThanOrEqual(ECHO_MAX_CHARS);
    }
  });
});

describe("sessions per user", () => {
  it(`keeps at most ${MAX_SESSIONS_PER_USER}: signing in once more ends the least recently used`, async () => {
    const res = await call("POST", "/api/users", admin(), {
      username: "session_user",
      password: "Sessi0n-Pa55!",
      firstName: "S",
      surname: "U",
    });
    const uid = ((await res.json()) as any).response.uid;
    const cookies: string[] = [];
    for (let i = 0; i < MAX_SESSIONS_PER_USER + 2; i++) {
      const login = await send({
        method: "POST",
        target: "/api/auth/login",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ username: "session_user", password: "Sessi0n-Pa55!" }),
      });
      expect(login.status).toBe(200);
      cookies.push((login.headers.get("Set-Cookie") ?? "").split(";")[0]);
    }
    const count = await env.DB.prepare(`SELECT COUNT(*) AS n FROM sessions WHERE user_uid = ?`).bind(uid).first<{ n: number }>();
    expect(count!.n).toBe(MAX_SESSIONS_PER_USER);
    const me = (cookie: string) => send({ method: "GET", target: "/api/me", headers: { Cookie: cookie } }).then((r) => r.status);
    expect(await me(cookies[0])).toBe(401);
    expect(await me(cookies[1])).toBe(401);
    expect(await me(cookies[2])).toBe(200);
    expect(await me(cookies[cookies.length - 1])).toBe(200);
  });
});
