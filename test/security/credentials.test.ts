/**
 * Credential attacks (issue #8): brute force meets the lockout policy, password comparison is
 * constant-time and correct, PBKDF2 stays within the platform's cost limit, API tokens are stored
 * only as hashes and never listed, and no credential reaches the logs.
 */
import { env } from "cloudflare:test";
import fc from "fast-check";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { manualClock, setClock } from "../../src/http/clock";
import { clearCredentialCache } from "../../src/users/credential-cache";
import {
  PBKDF2_ITERATIONS,
  PBKDF2_MAX_ITERATIONS,
  hashPassword,
  sha256Hex,
  timingSafeEqual,
  verifyPassword,
} from "../../src/users/password";
import { LOCKOUT_MS, MAX_FAILED_LOGINS } from "../../src/users/store";
import { createToken } from "../../src/users/tokens";
import { BOOTSTRAP_ADMIN_UID, ensureBootstrapAdmin } from "../../src/users/bootstrap";
import { basic } from "../helpers";
import { admin, appRoutes, call, ensureRoleUsers, resetLockouts, send } from "./support";

/** A protected path that exists whatever has landed: 404 once authenticated, 401 before. */
const PROBE = "/api/__reliability_probe";
const T0 = Date.UTC(2026, 5, 1, 8, 0, 0);

async function createUser(uid: string, username: string, password: string): Promise<void> {
  const hash = await hashPassword(password, 1000);
  await env.DB.prepare(
    `INSERT INTO users (uid, username, first_name, surname, password_hash, authorities, password_last_updated, created, last_updated)
     VALUES (?, ?, 'Lock', 'Out', ?, '[]', ?, ?, ?)`,
  )
    .bind(uid, username, hash, T0, T0, T0)
    .run();
}

async function probe(auth: string): Promise<{ status: number; message?: string }> {
  const res = await send({ method: "GET", target: PROBE, headers: { Authorization: auth } });
  const body: any = await res.json().catch(() => ({}));
  return { status: res.status, message: body.message };
}

async function userRow(uid: string) {
  return env.DB.prepare(`SELECT failed_logins, locked_until FROM users WHERE uid = ?`)
    .bind(uid)
    .first<{ failed_logins: number; locked_until: number | null }>();
}

beforeAll(async () => {
  // The bootstrap admin is created only while the users table is empty: before any test user.
  await ensureBootstrapAdmin(env, Date.now());
});

afterEach(() => {
  setClock(null);
  vi.restoreAllMocks();
});

describe("lockout after repeated failures", () => {
  beforeAll(async () => {
    await createUser("RelLockUsr1", "rel_lock", "Correct-Horse-1");
    await createUser("RelLockUsr2", "rel_lock2", "Correct-Horse-2");
  });

  it(`policy constants: ${MAX_FAILED_LOGINS} failures lock for ${LOCKOUT_MS / 60000} minutes`, () => {
    expect(MAX_FAILED_LOGINS).toBeGreaterThanOrEqual(3);
    expect(MAX_FAILED_LOGINS).toBeLessThanOrEqual(10);
    expect(LOCKOUT_MS).toBeGreaterThanOrEqual(60_000);
  });

  it("fewer failures than the limit do not lock, and a success resets the counter", async () => {
    const clock = manualClock(T0);
    setClock(clock);
    clearCredentialCache();
    for (let i = 0; i < MAX_FAILED_LOGINS - 1; i++) {
      expect(await probe(basic("rel_lock", `wrong-${i}`))).toEqual({ status: 401, message: "Unauthorized" });
    }
    expect((await userRow("RelLockUsr1"))?.failed_logins).toBe(MAX_FAILED_LOGINS - 1);
    expect((await probe(basic("rel_lock", "Correct-Horse-1"))).status).toBe(404);
    expect(await userRow("RelLockUsr1")).toEqual({ failed_logins: 0, locked_until: null });
  });

  it("the limit locks the account, even against the right password, until the lockout ends", async () => {
    const clock = manualClock(T0 + 3_600_000);
    setClock(clock);
    clearCredentialCache();
    // Warm the credential cache first: a cached credential must not bypass the lock.
    expect((await probe(basic("rel_lock", "Correct-Horse-1"))).status).toBe(404);
    for (let i = 0; i < MAX_FAILED_LOGINS; i++) {
      expect((await probe(basic("rel_lock", `brute-${i}`))).status).toBe(401);
    }
    const row = await userRow("RelLockUsr1");
    expect(row?.failed_logins).toBe(MAX_FAILED_LOGINS);
    expect(row?.locked_until).toBe(clock.now() + LOCKOUT_MS);

    expect(await probe(basic("rel_lock", "Correct-Horse-1"))).toEqual({ status: 401, message: "Account locked" });
    clock.advance(LOCKOUT_MS - 1);
    expect(await probe(basic("rel_lock", "Correct-Horse-1"))).toEqual({ status: 401, message: "Account locked" });
    clock.advance(2);
    expect((await probe(basic("rel_lock", "Correct-Horse-1"))).status).toBe(404);
    expect(await userRow("RelLockUsr1")).toEqual({ failed_logins: 0, locked_until: null });
  });

  it("locking one account leaves the others usable", async () => {
    setClock(manualClock(T0 + 7_200_000));
    for (let i = 0; i < MAX_FAILED_LOGINS; i++) await probe(basic("rel_lock2", `brute-${i}`));
    expect((await probe(basic("rel_lock2", "Correct-Horse-2"))).message).toBe("Account locked");
    expect((await probe(admin())).status).toBe(404);
  });

  it("the JSON sign-in (/api/auth/login) and Basic share one failure counter and one lock", async () => {
    await createUser("RelLockUsr3", "rel_lock3", "Correct-Horse-3");
    const clock = manualClock(T0 + 10_800_000);
    setClock(clock);
    const login = async (password: string) => {
      const res = await send({
        method: "POST",
        target: "/api/auth/login",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ username: "rel_lock3", password }),
      });
      return { status: res.status, body: (await res.json().catch(() => ({}))) as any, cookie: res.headers.get("Set-Cookie") };
    };
    const half = Math.ceil(MAX_FAILED_LOGINS / 2);
    for (let i = 0; i < half; i++) expect((await probe(basic("rel_lock3", `basic-${i}`))).status).toBe(401);
    for (let i = half; i < MAX_FAILED_LOGINS; i++) expect((await login(`json-${i}`)).status).toBe(401);
    const locked = await login("Correct-Horse-3");
    expect(locked.body.loginStatus).toBe("ACCOUNT_LOCKED");
    expect(locked.cookie).toBeNull();
    expect((await probe(basic("rel_lock3", "Correct-Horse-3"))).message).toBe("Account locked");
    clock.advance(LOCKOUT_MS + 1);
    const ok = await login("Correct-Horse-3");
    expect(ok.status).toBe(200);
    expect(ok.body.loginStatus).toBe("SUCCESS");
    // The session cookie's value is stored only as a hash.
    const token = /JSESSIONID=([^;]+)/.exec(ok.cookie ?? "")?.[1];
    expect(token).toBeTruthy();
    const { results } = await env.DB.prepare(`SELECT * FROM sessions`).all();
    expect(JSON.stringify(results)).not.toContain(token!);
    expect(results.map((r: any) => r.id_hash)).toContain(await sha256Hex(token!));
  });

  it("an unknown user and a wrong password are indistinguishable", async () => {
    const a = await send({ method: "GET", target: PROBE, headers: { Authorization: basic("no_such_user", "whatever") } });
    const b = await send({ method: "GET", target: PROBE, headers: { Authorization: basic("admin", "not-district") } });
    expect(a.status).toBe(b.status);
    expect(await a.json()).toEqual(await b.json());
    expect(a.headers.get("WWW-Authenticate")).toBe(b.headers.get("WWW-Authenticate"));
    await resetLockouts();
  });
});

describe("session cookies and cross-site requests", () => {
  it("a cookie-authenticated write is refused cross-site and accepted from the page", async () => {
    await ensureRoleUsers();
    const login = await send({
      method: "POST",
      target: "/api/auth/login",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: "rel_sched", password: "Rel-sched-Pa55word!" }),
    });
    expect(login.status).toBe(200);
    const setCookie = login.headers.get("Set-Cookie") ?? "";
    const cookie = /JSESSIONID=[^;]+/.exec(setCookie)?.[0];
    expect(cookie).toBeTruthy();
    // Not readable by scripts, not sent on cross-site subrequests (e.g. a JSONP <script> include).
    expect(setCookie).toMatch(/;\s*HttpOnly/i);
    expect(setCookie).toMatch(/;\s*SameSite=(Lax|Strict)/i);
    expect(setCookie).toMatch(/;\s*Secure/i);
    const body = JSON.stringify({ name: `Csrf job ${Date.now()}`, jobType: "TEST", cronExpression: "7 7 3 * * ?" });
    const attempt = (headers: Record<string, string>) =>
      send({ method: "POST", target: "/api/jobConfigurations", headers: { Cookie: cookie!, ...headers }, body }).then(async (r) => ({
        status: r.status,
        text: await r.text(),
      }));
    // A form post or a script on another site: refused before anything is written.
    expect((await attempt({ "Content-Type": "text/plain" })).status).toBe(403);
    expect((await attempt({ "Content-Type": "application/x-www-form-urlencoded" })).status).toBe(403);
    expect((await attempt({ "Content-Type": "application/json", Origin: "http://evil.example" })).status).toBe(403);
    expect((await attempt({ "Content-Type": "text/plain", "Sec-Fetch-Site": "cross-site" })).status).toBe(403);
    const { results } = await env.DB.prepare(`SELECT uid FROM job_configurations WHERE name LIKE 'Csrf job %'`).all();
    expect(results).toEqual([]);
    // The app's own page (XHR header) may write; reads never need it.
    expect((await attempt({ "Content-Type": "application/json", "X-Requested-With": "XMLHttpRequest" })).status).toBe(201);
    expect((await send({ method: "GET", target: "/api/me", headers: { Cookie: cookie! } })).status).toBe(200);
    // A garbage or ended session is simply no session.
    expect((await send({ method: "GET", target: "/api/me", headers: { Cookie: "JSESSIONID=forged" } })).status).toBe(401);
    const out = await send({
      method: "POST",
      target: "/api/auth/logout",
      headers: { Cookie: cookie!, "X-Requested-With": "XMLHttpRequest" },
    });
    expect(out.status).toBe(204);
    expect((await send({ method: "GET", target: "/api/me", headers: { Cookie: cookie! } })).status).toBe(401);
  });
});

describe("constant-time comparison", () => {
  it("timingSafeEqual is true exactly for equal byte arrays", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 64 }), (a, b) => {
        const equal = a.length === b.length && a.every((x, i) => x === b[i]);
        expect(timingSafeEqual(a, b)).toBe(equal);
        expect(timingSafeEqual(a, a.slice())).toBe(true);
      }),
      { seed: 8, numRuns: 300 },
    );
  });

  it("timingSafeEqual notices a difference at any position, and different lengths", () => {
    const base = crypto.getRandomValues(new Uint8Array(32));
    for (let i = 0; i < base.length; i++) {
      const other = base.slice();
      other[i] ^= 1;
      expect(timingSafeEqual(base, other)).toBe(false);
    }
    expect(timingSafeEqual(base, base.slice(0, 31))).toBe(false);
    expect(timingSafeEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true);
  });

  it("verifyPassword accepts the password and nothing else, and refuses unusable stored hashes", async () => {
    const stored = await hashPassword("s3cret", 1000);
    expect(await verifyPassword("s3cret", stored)).toBe(true);
    for (const wrong of ["s3cre", "s3cret ", "S3cret", "", "3cret", "s3cretX"]) expect(await verifyPassword(wrong, stored)).toBe(false);
    for (const bad of [
      "",
      "plain",
      "md5$1$a$b",
      `pbkdf2-sha256$0$${stored.split("$")[2]}$${stored.split("$")[3]}`,
      `pbkdf2-sha256$1000000$${stored.split("$")[2]}$${stored.split("$")[3]}`,
      "pbkdf2-sha256$x$y$z",
    ]) {
      expect(await verifyPassword("s3cret", bad)).toBe(false);
    }
  });
});

describe("PBKDF2 cost", () => {
  it("the configured cost is within the platform limit of 100,000 iterations", async () => {
    expect(PBKDF2_ITERATIONS).toBeLessThanOrEqual(100_000);
    expect(PBKDF2_MAX_ITERATIONS).toBeLessThanOrEqual(100_000);
    expect(PBKDF2_ITERATIONS).toBeGreaterThanOrEqual(10_000);
    const stored = await hashPassword("x");
    expect(stored).toMatch(/^pbkdf2-sha256\$(\d+)\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(Number(stored.split("$")[1])).toBe(PBKDF2_ITERATIONS);
    await expect(hashPassword("x", 100_001)).rejects.toThrow();
  });

  it("every stored user hash uses a supported cost", async () => {
    await ensureRoleUsers();
    await call("GET", PROBE, admin()); // bootstrap admin
    const { results } = await env.DB.prepare(`SELECT username, password_hash FROM users`).all<{
      username: string;
      password_hash: string;
    }>();
    expect(results.length).toBeGreaterThan(0);
    for (const r of results) {
      const iterations = Number(r.password_hash.split("$")[1]);
      expect(iterations, r.username).toBeGreaterThan(0);
      expect(iterations, r.username).toBeLessThanOrEqual(100_000);
    }
    const adminRow = results.find((r) => r.username === "admin");
    expect(Number(adminRow?.password_hash.split("$")[1])).toBe(PBKDF2_ITERATIONS);
  });
});

describe("API tokens are stored only hashed", () => {
  it("no column of api_tokens holds the key; the hash is SHA-256 of it", async () => {
    await call("GET", PROBE, admin());
    const keys: string[] = [];
    const created = await call("POST", "/api/apiToken", admin(), { attributes: [], expire: Date.now() + 86_400_000 });
    if (created.status === 200 || created.status === 201) {
      const body: any = await created.json();
      const key = body.response?.key ?? body.key;
      if (typeof key === "string") keys.push(key);
    } else {
      await created.arrayBuffer();
    }
    keys.push((await createToken(env.DB, BOOTSTRAP_ADMIN_UID, null, "rel", Date.now())).key);
    const { results } = await env.DB.prepare(`SELECT * FROM api_tokens`).all<Record<string, unknown>>();
    for (const key of keys) {
      const text = JSON.stringify(results);
      expect(text).not.toContain(key);
      expect(text).not.toContain(key.slice(6, 38)); // the random body alone
      expect(results.some((r) => r.key_hash === undefined)).toBe(false);
      expect(results.map((r) => r.key_hash)).toContain(await sha256Hex(key));
    }
    // The token works, and listing tokens (when the route exists) shows neither key nor hash.
    const res = await send({ method: "GET", target: PROBE, headers: { Authorization: `ApiToken ${keys[keys.length - 1]}` } });
    expect(res.status).toBe(404);
    for (const r of appRoutes().filter((r) => r.method === "GET" && /apiToken/i.test(r.path) && !r.path.includes(":"))) {
      const list = await (await call("GET", r.path, admin())).text();
      for (const row of results) expect(list).not.toContain(String(row.key_hash));
      for (const key of keys) expect(list).not.toContain(key);
    }
  });
});

describe("no credential in logs", () => {
  it("failed and successful logins never log a password, a Basic header or a token key", async () => {
    await ensureRoleUsers();
    const lines: string[] = [];
    for (const m of ["log", "info", "warn", "error", "debug", "trace"] as const) {
      vi.spyOn(console, m).mockImplementation((...args: unknown[]) => {
        lines.push(
          args.map((a) => (a instanceof Error ? `${a.message} ${a.stack}` : typeof a === "string" ? a : JSON.stringify(a))).join(" "),
        );
      });
    }
    const canary = "Canary-Pa55-9f83b1";
    const attempts = [
      basic("rel_none", canary),
      basic("nobody_here", canary),
      basic(`rel_none:${canary}`, canary),
      `Basic ${btoa(canary)}`,
      `ApiToken d2pat_${canary}`,
      `Bearer ${canary}`,
      basic("rel_none", "Rel-none-Pa55word!"),
    ];
    for (const auth of attempts) {
      for (const target of [PROBE, "/api/ping", "/api/system/ping", "/api/me"]) {
        const res = await send({ method: "GET", target, headers: { Authorization: auth } });
        await res.arrayBuffer();
      }
    }
    await resetLockouts();
    const all = lines.join("\n");
    expect(all).not.toContain(canary);
    expect(all).not.toContain("Rel-none-Pa55word!");
    expect(all).not.toContain(btoa(`rel_none:${canary}`));
    expect(all).not.toContain("pbkdf2-sha256$");
  });
});
