/**
 * Issue 14, point 8: no default administrator outside local development. With an empty users table,
 * a deployed configuration (ENVIRONMENT other than "development", or the development configuration
 * reached on a public host name) refuses to create admin/district: every authenticating request gets
 * a 503 WebMessage naming ADMIN_PASSWORD until the secret is set, and the secret must pass the password
 * policy. Local development (`npm start`, `npm test`: ENVIRONMENT=development on a loopback address)
 * keeps admin/district.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { bootstrapPassword, ensureBootstrapAdmin, forgetBootstrap, isLocalDevelopment } from "../../src/users/bootstrap";
import { clearCredentialCache } from "../../src/users/credential-cache";
import { basic } from "../helpers";

const PUBLIC = "https://hrhis4.example.org";
const LOCAL = "http://localhost:8787";

async function fetchAs(base: string, path: string, bindings: Partial<Env>, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await app.fetch(new Request(base + path, init), { ...env, ...bindings } as Env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** A request with admin's Basic credentials (`password`, default district). */
const asAdmin = (base: string, path: string, bindings: Partial<Env>, password = "district") =>
  fetchAs(base, path, bindings, { headers: { Authorization: basic("admin", password) } });

async function userCount(): Promise<number> {
  return (await env.DB.prepare(`SELECT COUNT(*) AS n FROM users`).first<{ n: number }>())!.n;
}

beforeEach(async () => {
  await env.DB.batch([env.DB.prepare(`DELETE FROM user_role_members`), env.DB.prepare(`DELETE FROM users`)]);
  forgetBootstrap();
  clearCredentialCache();
});

afterAll(async () => {
  forgetBootstrap();
  await ensureBootstrapAdmin(env, Date.now());
});

describe("first administrator outside local development", () => {
  const production = { ENVIRONMENT: "production", ADMIN_PASSWORD: undefined };

  it("answers 503 naming ADMIN_PASSWORD, creates no user, until the secret is set", async () => {
    for (const attempt of [1, 2]) {
      const res = await asAdmin(PUBLIC, "/api/system/info", production);
      expect(res.status, `attempt ${attempt}`).toBe(503);
      const body: any = await res.json();
      expect(body).toMatchObject({ httpStatus: "Service Unavailable", httpStatusCode: 503, status: "ERROR" });
      expect(body.message).toContain("ADMIN_PASSWORD secret is not set");
      expect(body.message).toContain("wrangler secret put ADMIN_PASSWORD");
      expect(await userCount()).toBe(0);
    }
    // The JSON sign-in is refused the same way.
    const login = await fetchAs(PUBLIC, "/api/auth/login", production, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: "admin", password: "district" }),
    });
    expect(login.status).toBe(503);
    expect(await userCount()).toBe(0);
  });

  it("the development configuration deployed on a public host name is not local development", async () => {
    const res = await asAdmin(PUBLIC, "/api/system/info", { ENVIRONMENT: "development", ADMIN_PASSWORD: undefined });
    expect(res.status).toBe(503);
    expect(await userCount()).toBe(0);
    expect(isLocalDevelopment({ ENVIRONMENT: "development" }, `${PUBLIC}/api`)).toBe(false);
    expect(isLocalDevelopment({ ENVIRONMENT: "development" }, `${LOCAL}/api`)).toBe(true);
    expect(isLocalDevelopment({ ENVIRONMENT: "development" }, "http://127.0.0.1:8830/api")).toBe(true);
    expect(isLocalDevelopment({ ENVIRONMENT: "staging" }, `${LOCAL}/api`)).toBe(false);
    expect(isLocalDevelopment({ ENVIRONMENT: "" }, `${LOCAL}/api`)).toBe(false);
  });

  it("refuses an ADMIN_PASSWORD that breaks the password policy", async () => {
    for (const weak of ["district", "admin-Pa55word", "Sh0rt!"]) {
      const res = await asAdmin(PUBLIC, "/api/system/info", { ENVIRONMENT: "production", ADMIN_PASSWORD: weak }, weak);
      expect(res.status, weak).toBe(503);
      const body: any = await res.json();
      expect(body.message).toContain("does not meet the password policy");
      expect(body.message).not.toContain(weak);
      expect(await userCount()).toBe(0);
    }
  });

  it("creates the administrator from a strong ADMIN_PASSWORD; admin/district does not exist", async () => {
    const bindings = { ENVIRONMENT: "production", ADMIN_PASSWORD: "Str0ng!First-Boss" };
    const ok = await asAdmin(PUBLIC, "/api/me", bindings, "Str0ng!First-Boss");
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as any).username).toBe("admin");
    const dflt = await asAdmin(PUBLIC, "/api/me", bindings);
    expect(dflt.status).toBe(401);
  });

  it("local development keeps admin/district", async () => {
    expect(bootstrapPassword({ ENVIRONMENT: "development", ADMIN_PASSWORD: undefined, ADMIN_USERNAME: "admin" }, `${LOCAL}/api`)).toBe(
      "district",
    );
    const res = await asAdmin(LOCAL, "/api/me", { ENVIRONMENT: "development", ADMIN_PASSWORD: undefined });
    expect(res.status).toBe(200);
  });
});
