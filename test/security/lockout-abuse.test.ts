/**
 * Issue 14, point 1 (lockout as a weapon) and the lockout half of point 9: the lockout is per
 * (username, client address) and restarts when a lock ends, so an anonymous client cannot keep a
 * known user out; failed authentication is throttled per address by the Workers Rate Limiting binding
 * (the real one, as the vitest plugin runs it from wrangler.jsonc), answering 429 with Retry-After;
 * a lock does not reveal which usernames exist. Lockouts and throttles are logged and counted.
 */
import { env } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { manualClock, setClock } from "../../src/http/clock";
import { flushCounters, readCounters } from "../../src/metrics/counters";
import { ensureBootstrapAdmin } from "../../src/users/bootstrap";
import { clearCredentialCache } from "../../src/users/credential-cache";
import { hashPassword } from "../../src/users/password";
import { LOCKOUT_MS, MAX_FAILED_LOGINS } from "../../src/users/store";
import { AUTH_THROTTLE_PERIOD_S, clientAddress } from "../../src/users/throttle";
import { createToken } from "../../src/users/tokens";
import { basic } from "../helpers";
import { resetLockouts, send } from "./support";

const PROBE = "/api/__reliability_probe";
const T0 = Date.UTC(2031, 2, 3, 8, 0, 0);
/** The AUTH_FAILURES binding's limit (wrangler.jsonc): failures per period per address. */
const LIMIT = 20;

/** A documentation address (RFC 5737) no other test file uses. */
const address = (() => {
  let n = 1 + Math.floor(Math.random() * 200);
  return () => `198.51.100.${n++}`;
})();

async function createUser(uid: string, username: string, password: string): Promise<void> {
  await env.DB.prepare(
    `INSERT INTO users (uid, username, first_name, surname, password_hash, authorities, password_last_updated, created, last_updated)
     VALUES (?, ?, 'Lock', 'Out', ?, '[]', ?, ?, ?)`,
  )
    .bind(uid, username, await hashPassword(password, 1000), T0, T0, T0)
    .run();
}

async function probe(headers: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await send({ method: "GET", target: PROBE, headers });
  return { status: res.status, body: await res.json().catch(() => ({})), headers: res.headers };
}

const from = (ip: string, auth: string) => ({ Authorization: auth, "CF-Connecting-IP": ip });

beforeAll(async () => {
  await ensureBootstrapAdmin(env, Date.now());
  await createUser("AbuseUser01", "abuse_one", "Right-Horse-1");
  await createUser("AbuseUser02", "abuse_two", "Right-Horse-2");
  await createUser("AbuseUser03", "abuse_three", "Right-Horse-3");
});

afterEach(async () => {
  setClock(null);
  vi.restoreAllMocks();
  await resetLockouts();
});

describe("lockout per address", () => {
  it("an ended lock restarts the count: one more wrong password does not lock again", async () => {
    const clock = manualClock(T0 + 3_600_000);
    setClock(clock);
    clearCredentialCache();
    const ip = address();
    for (let i = 0; i < MAX_FAILED_LOGINS; i++) expect((await probe(from(ip, basic("abuse_one", `wrong-${i}`)))).status).toBe(401);
    expect((await probe(from(ip, basic("abuse_one", "Right-Horse-1")))).body.message).toBe("Account locked");
    clock.advance(LOCKOUT_MS + 1);
    const again = await probe(from(ip, basic("abuse_one", "wrong-again")));
    expect(again.status).toBe(401);
    expect(again.body.message).toBe("Unauthorized");
    // The right password still works: the single failure after the lock did not lock again.
    expect((await probe(from(ip, basic("abuse_one", "Right-Horse-1")))).status).toBe(404);
    // And a new lock takes MAX_FAILED_LOGINS fresh failures.
    for (let i = 0; i < MAX_FAILED_LOGINS - 1; i++) await probe(from(ip, basic("abuse_one", `wrong-b${i}`)));
    expect((await probe(from(ip, basic("abuse_one", "Right-Horse-1")))).status).toBe(404);
  });

  it("an anonymous client locks only itself out: the user from elsewhere, with a token or a session still works", async () => {
    setClock(manualClock(T0 + 7_200_000));
    const attacker = address();
    const victim = address();
    // The victim has a session and a token from before the attack.
    const login = await send({
      method: "POST",
      target: "/api/auth/login",
      headers: { "Content-Type": "application/json", "X-Requested-With": "XMLHttpRequest", "CF-Connecting-IP": victim },
      body: JSON.stringify({ username: "abuse_two", password: "Right-Horse-2" }),
    });
    expect(login.status).toBe(200);
    const cookie = (login.headers.get("Set-Cookie") ?? "").split(";")[0];
    const { key } = await createToken(env.DB, "AbuseUser02", null, "victim", T0);

    for (let i = 0; i < MAX_FAILED_LOGINS + 3; i++) await probe(from(attacker, basic("abuse_two", `guess-${i}`)));
    const locked = await probe(from(attacker, basic("abuse_two", "Right-Horse-2")));
    expect(locked.status).toBe(401);
    expect(locked.body).toEqual({ httpStatus: "Unauthorized", httpStatusCode: 401, status: "ERROR", message: "Account locked" });

    expect((await probe(from(victim, basic("abuse_two", "Right-Horse-2")))).status).toBe(404);
    expect((await probe({ Authorization: `ApiToken ${key}`, "CF-Connecting-IP": attacker })).status).toBe(404);
    expect((await probe({ Cookie: cookie, "CF-Connecting-IP": attacker })).status).toBe(404);
    // The JSON sign-in from the victim's address works too; from the attacker's it reports the lock.
    const signIn = (ip: string) =>
      send({
        method: "POST",
        target: "/api/auth/login",
        headers: { "Content-Type": "application/json", "CF-Connecting-IP": ip },
        body: JSON.stringify({ username: "abuse_two", password: "Right-Horse-2" }),
      }).then(async (r) => (await r.json()) as any);
    expect((await signIn(victim)).loginStatus).toBe("SUCCESS");
    expect((await signIn(attacker)).loginStatus).toBe("ACCOUNT_LOCKED");
  });

  it("a lock does not reveal which usernames exist: an unknown name locks the same way", async () => {
    setClock(manualClock(T0 + 10_800_000));
    const ip = address();
    for (let i = 0; i < MAX_FAILED_LOGINS; i++) {
      await probe(from(ip, basic("abuse_three", `wrong-${i}`)));
      await probe(from(ip, basic("no_such_person", `wrong-${i}`)));
    }
    const known = await probe(from(ip, basic("abuse_three", "anything")));
    const unknown = await probe(from(ip, basic("no_such_person", "anything")));
    expect(unknown.status).toBe(known.status);
    expect(unknown.body).toEqual(known.body);
    expect(unknown.body.message).toBe("Account locked");
    expect(unknown.headers.get("WWW-Authenticate")).toBe(known.headers.get("WWW-Authenticate"));
  });

  it("logs a lockout as one JSON line without the password", async () => {
    setClock(manualClock(T0 + 14_400_000));
    const lines: string[] = [];
    vi.spyOn(console, "warn").mockImplementation((text: unknown) => void lines.push(String(text)));
    const ip = address();
    for (let i = 0; i < MAX_FAILED_LOGINS; i++) await probe(from(ip, basic("abuse_three", `Secret-guess-${i}`)));
    const events = lines.map((l) => JSON.parse(l)).filter((e) => e.event === "auth_lockout");
    expect(events).toEqual([
      { level: "warn", event: "auth_lockout", user: "AbuseUser03", address: ip, scheme: "basic", lockedForMs: LOCKOUT_MS },
    ]);
    expect(lines.join("\n")).not.toContain("Secret-guess");
  });
});

describe("throttling failed authentication per address (AUTH_FAILURES binding)", () => {
  it(`answers 429 with Retry-After once an address fails more than ${LIMIT} times in a period; others are not affected`, async () => {
    const ip = address();
    const lines: string[] = [];
    vi.spyOn(console, "warn").mockImplementation((text: unknown) => void lines.push(String(text)));
    // The binding's windows follow the wall clock: within 2 × LIMIT + 1 attempts one window is exceeded.
    const statuses: number[] = [];
    let throttled: Awaited<ReturnType<typeof probe>> | undefined;
    for (let i = 0; i < 2 * LIMIT + 1 && !throttled; i++) {
      const res = await probe(from(ip, basic(`nobody_${i}`, "Wrong-pass-1")));
      statuses.push(res.status);
      if (res.status === 429) throttled = res;
    }
    expect(throttled).toBeDefined();
    expect(statuses.filter((s) => s === 401).length).toBeGreaterThanOrEqual(LIMIT);
    expect(throttled!.body).toEqual({
      httpStatus: "Too Many Requests",
      httpStatusCode: 429,
      status: "ERROR",
      message: `Too many failed authentication attempts from this address. Try again in ${AUTH_THROTTLE_PERIOD_S} seconds.`,
    });
    expect(throttled!.headers.get("Retry-After")).toBe(String(AUTH_THROTTLE_PERIOD_S));
    expect(throttled!.headers.get("Content-Type")).toContain("application/json");

    // While throttled, even the right password is refused unchecked, and it counts towards no lockout.
    const before = await env.DB.prepare(`SELECT COUNT(*) AS n FROM login_failures WHERE source = ?`).bind(ip).first<{ n: number }>();
    const right = await probe(from(ip, basic("abuse_one", "Right-Horse-1")));
    expect(right.status).toBe(429);
    expect(Number(right.headers.get("Retry-After"))).toBeGreaterThan(0);
    const wrongs = await probe(from(ip, basic("abuse_one", "Wrong-again-1")));
    expect(wrongs.status).toBe(429);
    const after = await env.DB.prepare(`SELECT COUNT(*) AS n FROM login_failures WHERE source = ?`).bind(ip).first<{ n: number }>();
    expect(after!.n).toBe(before!.n);
    // A valid token from the same address still works; the user from another address too.
    const { key } = await createToken(env.DB, "AbuseUser01", null, "throttle", Date.now());
    expect((await probe({ Authorization: `ApiToken ${key}`, "CF-Connecting-IP": ip })).status).toBe(404);
    expect((await probe(from(address(), basic("abuse_one", "Right-Horse-1")))).status).toBe(404);

    // Logged once per throttle, without credentials; counted for /api/metrics.
    const events = lines.map((l) => JSON.parse(l)).filter((e) => e.event === "auth_throttled");
    expect(events).toEqual([{ level: "warn", event: "auth_throttled", address: ip, scheme: "basic", retryAfter: AUTH_THROTTLE_PERIOD_S }]);
    expect(lines.join("\n")).not.toContain("Wrong-pass-1");
    await flushCounters(env.DB, Date.now());
    const counters = await readCounters(env.DB);
    const value = (name: string, labels: Record<string, string>) =>
      counters.find((r) => r.name === name && JSON.stringify(r.labels) === JSON.stringify(labels))?.value ?? 0;
    expect(value("auth_throttled_total", { scheme: "basic" })).toBeGreaterThanOrEqual(3);
    expect(value("auth_failures_total", { reason: "bad_credentials", scheme: "basic" })).toBeGreaterThanOrEqual(LIMIT);
  });

  it("counts IPv6 addresses by their /64", () => {
    expect(clientAddress("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64");
    expect(clientAddress("2001:0DB8:0001:0002:ffff:0:0:9")).toBe("2001:db8:1:2::/64");
    expect(clientAddress("::1")).toBe("0:0:0:0::/64");
    expect(clientAddress(" 203.0.113.5 ")).toBe("203.0.113.5");
    expect(clientAddress(null)).toBeNull();
  });
});
