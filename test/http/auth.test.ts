import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { manualClock, setClock } from "../../src/http/clock";
import { CREDENTIAL_CACHE_TTL_MS } from "../../src/users/credential-cache";
import { hashPassword, PBKDF2_ITERATIONS, PBKDF2_MAX_ITERATIONS, verifyPassword } from "../../src/users/password";
import { LOCKOUT_MS, MAX_FAILED_LOGINS } from "../../src/users/store";
import { USER_ROW_TTL_MS } from "../../src/users/user-row-cache";
import { api, basic, json } from "../helpers";

const GOOD = "Str0ng!pass";

afterEach(() => {
  setClock(null);
  vi.restoreAllMocks();
});

async function makeUser(username: string): Promise<string> {
  const res = await api("/api/users", { method: "POST", body: { username, password: GOOD, firstName: "A", surname: "B" } });
  expect(res.status).toBe(201);
  return (await json(res)).response.uid;
}

describe("PBKDF2 cost", () => {
  it("stays within production workerd's limit of 100000 iterations", async () => {
    expect(PBKDF2_ITERATIONS).toBeLessThanOrEqual(100_000);
    expect(PBKDF2_MAX_ITERATIONS).toBeLessThanOrEqual(100_000);
    const stored = await hashPassword("x");
    expect(Number(stored.split("$")[1])).toBeLessThanOrEqual(100_000);
  });

  it("stored hashes of created users use the pinned cost and never the plain password", async () => {
    const uid = await makeUser("hashed");
    const row = await env.DB.prepare("SELECT password_hash FROM users WHERE uid = ?").bind(uid).first<{ password_hash: string }>();
    expect(row!.password_hash).toMatch(new RegExp(`^pbkdf2-sha256\\$${PBKDF2_ITERATIONS}\\$`));
    expect(row!.password_hash).not.toContain(GOOD);
    expect(await verifyPassword(GOOD, row!.password_hash)).toBe(true);
  });

  it("refuses to verify a hash claiming more iterations than allowed", async () => {
    const stored = await hashPassword("x");
    const inflated = stored.replace(/\$\d+\$/, "$200000$");
    expect(await verifyPassword("x", inflated)).toBe(false);
  });
});

describe("credential cache", () => {
  it("a warm request does not derive PBKDF2 again", async () => {
    await makeUser("warm");
    const auth = basic("warm", GOOD);
    expect((await api("/api/system/ping", { auth })).status).toBe(200);
    const spy = vi.spyOn(crypto.subtle, "deriveBits");
    for (let i = 0; i < 3; i++) expect((await api("/api/system/ping", { auth })).status).toBe(200);
    expect(spy).not.toHaveBeenCalled();
    // A wrong password is never served from the cache.
    expect((await api("/api/system/ping", { auth: basic("warm", "Wr0ng!pass") })).status).toBe(401);
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it("entries expire after the TTL, then the password is derived again", async () => {
    await makeUser("ttl");
    const auth = basic("ttl", GOOD);
    const clock = manualClock(Date.now());
    setClock(clock);
    expect((await api("/api/system/ping", { auth })).status).toBe(200);
    const spy = vi.spyOn(crypto.subtle, "deriveBits");
    clock.advance(CREDENTIAL_CACHE_TTL_MS + 1);
    expect((await api("/api/system/ping", { auth })).status).toBe(200);
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it("a password changed in another isolate (only the D1 row changes) is honoured within USER_ROW_TTL_MS", async () => {
    const uid = await makeUser("elsewhere");
    const auth = basic("elsewhere", GOOD);
    const clock = manualClock(Date.now());
    setClock(clock);
    // The first login records last_login (a write that refreshes the row); the second is warm.
    expect((await api("/api/system/ping", { auth })).status).toBe(200);
    expect((await api("/api/system/ping", { auth })).status).toBe(200);
    const newHash = await hashPassword("Oth3r!pass");
    await env.DB.prepare("UPDATE users SET password_hash = ? WHERE uid = ?").bind(newHash, uid).run();
    clock.advance(USER_ROW_TTL_MS - 1);
    expect((await api("/api/system/ping", { auth })).status).toBe(200); // the documented staleness bound
    clock.advance(1);
    expect((await api("/api/system/ping", { auth })).status).toBe(401);
    expect((await api("/api/system/ping", { auth: basic("elsewhere", "Oth3r!pass") })).status).toBe(200);
  });

  it("disabling in another isolate (only the D1 row changes) is seen after at most USER_ROW_TTL_MS", async () => {
    const uid = await makeUser("disabledelsewhere");
    const auth = basic("disabledelsewhere", GOOD);
    const clock = manualClock(Date.now());
    setClock(clock);
    expect((await api("/api/system/ping", { auth })).status).toBe(200);
    await env.DB.prepare("UPDATE users SET disabled = 1 WHERE uid = ?").bind(uid).run();
    clock.advance(USER_ROW_TTL_MS);
    const res = await api("/api/system/ping", { auth });
    expect(res.status).toBe(401);
    expect((await json(res)).message).toBe("Account disabled");
  });
});

describe("user row cache", () => {
  it("a warm request reads no user row from D1; a write in this isolate is seen at once", async () => {
    const uid = await makeUser("rowcache");
    const auth = basic("rowcache", GOOD);
    expect((await api("/api/system/ping", { auth })).status).toBe(200);
    expect((await api("/api/system/ping", { auth })).status).toBe(200);
    const spy = vi.spyOn(env.DB, "prepare");
    expect((await api("/api/system/ping", { auth })).status).toBe(200);
    expect(spy.mock.calls.filter(([sql]) => /FROM users u/.test(sql))).toEqual([]);
    spy.mockRestore();
    await api(`/api/users/${uid}`, { method: "PUT", body: { firstName: "R", surname: "C", disabled: true } });
    expect((await json(await api("/api/system/ping", { auth }))).message).toBe("Account disabled");
  });
});

describe("brute-force lockout", () => {
  it(`locks the account after ${MAX_FAILED_LOGINS} failures for LOCKOUT_MS, even for the right password`, async () => {
    await makeUser("target");
    const clock = manualClock(Date.now());
    setClock(clock);
    for (let i = 0; i < MAX_FAILED_LOGINS; i++) {
      const res = await api("/api/system/ping", { auth: basic("target", `Wrong!${i}A`) });
      expect(res.status).toBe(401);
      expect((await json(res)).message).toBe("Unauthorized");
    }
    const locked = await api("/api/system/ping", { auth: basic("target", GOOD) });
    expect(locked.status).toBe(401);
    expect(locked.headers.get("WWW-Authenticate")).toBe('Basic realm="HRHIS4"');
    expect(await json(locked)).toEqual({ httpStatus: "Unauthorized", httpStatusCode: 401, status: "ERROR", message: "Account locked" });
    clock.advance(LOCKOUT_MS - 1000);
    expect((await json(await api("/api/system/ping", { auth: basic("target", GOOD) }))).message).toBe("Account locked");
    clock.advance(2000);
    expect((await api("/api/system/ping", { auth: basic("target", GOOD) })).status).toBe(200);
  });

  it("a success resets the failure count", async () => {
    await makeUser("resetme");
    for (let i = 0; i < MAX_FAILED_LOGINS - 1; i++) await api("/api/system/ping", { auth: basic("resetme", "bad") });
    expect((await api("/api/system/ping", { auth: basic("resetme", GOOD) })).status).toBe(200);
    for (let i = 0; i < MAX_FAILED_LOGINS - 1; i++) await api("/api/system/ping", { auth: basic("resetme", "bad") });
    expect((await api("/api/system/ping", { auth: basic("resetme", GOOD) })).status).toBe(200);
  });

  it("an administrator's password reset unlocks the account", async () => {
    const uid = await makeUser("unlockme");
    for (let i = 0; i < MAX_FAILED_LOGINS; i++) await api("/api/system/ping", { auth: basic("unlockme", "bad") });
    expect((await json(await api("/api/system/ping", { auth: basic("unlockme", GOOD) }))).message).toBe("Account locked");
    expect((await json(await api(`/api/users/${uid}`))).accountNonLocked).toBe(false);
    await api(`/api/users/${uid}`, { method: "PUT", body: { firstName: "U", surname: "L", password: "Fr3sh!pass" } });
    expect((await api("/api/system/ping", { auth: basic("unlockme", "Fr3sh!pass") })).status).toBe(200);
  });

  it("an unknown user gets the same 401 as a wrong password", async () => {
    const res = await api("/api/system/ping", { auth: basic("ghost", GOOD) });
    expect(res.status).toBe(401);
    expect(await json(res)).toEqual({ httpStatus: "Unauthorized", httpStatusCode: 401, status: "ERROR", message: "Unauthorized" });
  });
});
