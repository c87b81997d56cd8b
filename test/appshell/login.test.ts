import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { manualClock, setClock } from "../../src/http/clock";
import { csrfViolation } from "../../src/http/csrf";
import { sessionToken } from "../../src/users/session";
import { forgetUser } from "../../src/users/credential-cache";
import { hashPassword } from "../../src/users/password";
import { api, json } from "../helpers";
import { createUser, PASSWORD } from "../settings/users";

const XHR = { "X-Requested-With": "XMLHttpRequest", Accept: "application/json" };
const ORIGIN = "http://localhost:8787";

async function login(username: string, password = PASSWORD, headers: Record<string, string> = {}): Promise<Response> {
  return api("/api/auth/login", { auth: null, body: { username, password }, headers: { ...XHR, ...headers } });
}

/** A request that does not follow redirects (the helper's fetch does). */
function manual(path: string, init: RequestInit = {}): Promise<Response> {
  return (exports as any).default.fetch(ORIGIN + path, { redirect: "manual", ...init });
}

function cookieOf(res: Response): string {
  const header = res.headers.get("Set-Cookie") ?? "";
  return header.split(";")[0];
}

afterEach(() => setClock(null));

beforeAll(async () => {
  await createUser("loginUser01", "login-user");
  await createUser("loginUser02", "login-disabled", [], { disabled: true });
  await createUser("loginUser03", "login-locker");
  await createUser("loginUser04", "login-changer");
});

describe("GET /api/loginConfig", () => {
  it("is public and answers DHIS2's LoginConfigResponse shape", async () => {
    const res = await api("/api/loginConfig", { auth: null });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toEqual({
      apiVersion: "2.42.0",
      applicationTitle: "HRHIS4 Edge",
      applicationDescription: "",
      applicationNotification: "",
      applicationLeftSideFooter: "",
      applicationRightSideFooter: "",
      countryFlag: "dhis2",
      uiLocale: "en",
      loginPopup: "",
      loginPageLayout: "DEFAULT",
      minPasswordLength: "8",
      maxPasswordLength: "256",
      emailConfigured: false,
      selfRegistrationEnabled: false,
      selfRegistrationNoRecaptcha: false,
      allowAccountRecovery: false,
      useCustomLogoFront: false,
      oidcProviders: [],
      audiences: [],
    });
    expect(Object.keys(body).slice(0, 3)).toEqual(["apiVersion", "applicationTitle", "applicationDescription"]);
  });

  it("follows the system settings", async () => {
    await api("/api/systemSettings", {
      body: { applicationTitle: "Ministry Scheduler", keyApplicationIntro: "Welcome", keyUiLocale: "fr_FR" },
    });
    const body = await json(await api("/api/41/loginConfig", { auth: null }));
    expect(body).toMatchObject({ applicationTitle: "Ministry Scheduler", applicationDescription: "Welcome", uiLocale: "fr" });
    await api("/api/systemSettings?key=applicationTitle&key=keyApplicationIntro&key=keyUiLocale", { method: "DELETE" });
  });
});

describe("POST /api/auth/login", () => {
  it("sets an HttpOnly, Secure, SameSite=Lax session cookie and answers loginStatus SUCCESS", async () => {
    const res = await login("login-user");
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ loginStatus: "SUCCESS", redirectUrl: "/dhis-web-scheduler/" });
    const header = res.headers.get("Set-Cookie")!;
    expect(header).toMatch(/^JSESSIONID=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    const token = sessionToken(cookieOf(res))!;
    const stored = await env.DB.prepare(`SELECT id_hash, user_uid FROM sessions WHERE user_uid = 'loginUser01'`).all<{ id_hash: string }>();
    expect(stored.results.length).toBeGreaterThan(0);
    expect(stored.results.map((r) => r.id_hash)).not.toContain(token);
  });

  it("the cookie authenticates API calls like Basic does", async () => {
    const cookie = cookieOf(await login("login-user"));
    const res = await api("/api/userSettings", { auth: null, headers: { ...XHR, Cookie: cookie } });
    expect(res.status).toBe(200);
    const modules = await api("/dhis-web-commons/menu/getModules.action", { auth: null, headers: { ...XHR, Cookie: cookie } });
    expect(modules.status).toBe(200);
  });

  it("answers 401 Bad credentials for a wrong password, unknown user or missing fields", async () => {
    for (const res of [
      await login("login-user", "wrong"),
      await login("nobody-here"),
      await api("/api/auth/login", { auth: null, body: { username: "login-user" } }),
    ]) {
      expect(res.status).toBe(401);
      expect(res.headers.get("Set-Cookie")).toBeNull();
      expect(await json(res)).toEqual({ httpStatus: "Unauthorized", httpStatusCode: 401, status: "ERROR", message: "Bad credentials" });
    }
  });

  it("answers DHIS2's status for a disabled account, without a cookie", async () => {
    const res = await login("login-disabled");
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ loginStatus: "ACCOUNT_DISABLED" });
    expect(res.headers.get("Set-Cookie")).toBeNull();
  });

  it("shares Basic's lockout: five failures lock the account (ACCOUNT_LOCKED), for Basic too", async () => {
    for (let i = 0; i < 5; i++) expect((await login("login-locker", "bad-password")).status).toBe(401);
    const res = await login("login-locker");
    expect(await json(res)).toEqual({ loginStatus: "ACCOUNT_LOCKED" });
    const basicRes = await api("/api/userSettings", { auth: `Basic ${btoa(`login-locker:${PASSWORD}`)}`, headers: XHR });
    expect(basicRes.status).toBe(401);
    expect((await json(basicRes)).message).toBe("Account locked");
  });

  it("refuses non-JSON bodies (415) and malformed JSON (400)", async () => {
    const form = await api("/api/auth/login", {
      auth: null,
      body: "username=a&password=b",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
    expect(form.status).toBe(415);
    const bad = await api("/api/auth/login", { auth: null, body: "{", headers: { "Content-Type": "application/json" } });
    expect(bad.status).toBe(400);
  });
});

describe("sessions", () => {
  it("expire after keySessionTimeout of inactivity, and renew while used", async () => {
    const clock = manualClock(Date.UTC(2026, 0, 1));
    setClock(clock);
    const cookie = cookieOf(await login("login-user"));
    const call = () => api("/api/userSettings", { auth: null, headers: { ...XHR, Cookie: cookie } });
    clock.advance(50 * 60_000);
    expect((await call()).status).toBe(200); // renews: expires 60 min from now
    clock.advance(50 * 60_000);
    expect((await call()).status).toBe(200);
    clock.advance(61 * 60_000);
    const expired = await call();
    expect(expired.status).toBe(401);
    expect(await json(expired)).toMatchObject({ message: "Unauthorized" });
  });

  it("end on logout (204, cookie cleared), and logout without a session is harmless", async () => {
    const cookie = cookieOf(await login("login-user"));
    const out = await api("/api/auth/logout", { method: "POST", auth: null, headers: { ...XHR, Cookie: cookie } });
    expect(out.status).toBe(204);
    expect(out.headers.get("Set-Cookie")).toBe("JSESSIONID=; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=0");
    expect((await api("/api/userSettings", { auth: null, headers: { ...XHR, Cookie: cookie } })).status).toBe(401);
    expect((await api("/api/auth/logout", { method: "POST", auth: null, headers: XHR })).status).toBe(204);
  });

  it("end when the password changes, and refuse a disabled account", async () => {
    const cookie = cookieOf(await login("login-changer"));
    const call = () => api("/api/userSettings", { auth: null, headers: { ...XHR, Cookie: cookie } });
    expect((await call()).status).toBe(200);
    // Direct D1 writes: tell the isolate's user caches, as the users module does after its writes.
    await env.DB.prepare(`UPDATE users SET disabled = 1 WHERE uid = 'loginUser04'`).run();
    forgetUser("loginUser04");
    const disabled = await call();
    expect(disabled.status).toBe(401);
    expect((await json(disabled)).message).toBe("Account disabled");
    await env.DB.prepare(`UPDATE users SET disabled = 0 WHERE uid = 'loginUser04'`).run();
    forgetUser("loginUser04");
    expect((await call()).status).toBe(200);
    await env.DB.prepare(`UPDATE users SET password_hash = ? WHERE uid = 'loginUser04'`)
      .bind(await hashPassword("Another1!", 1000))
      .run();
    forgetUser("loginUser04");
    expect((await call()).status).toBe(401);
  });

  it("ignore forged or unknown cookies", async () => {
    const res = await api("/api/userSettings", {
      auth: null,
      headers: { ...XHR, Cookie: "JSESSIONID=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" },
    });
    expect(res.status).toBe(401);
    const junk = await api("/api/userSettings", { auth: null, headers: { ...XHR, Cookie: "JSESSIONID=<script>; other=1" } });
    expect(junk.status).toBe(401);
  });

  it("Basic still wins when both are sent", async () => {
    const cookie = cookieOf(await login("login-user"));
    const res = await api("/api/userSettings?user=login-user", { headers: { ...XHR, Cookie: cookie } });
    expect(res.status).toBe(200); // admin (Basic) may read another user's settings
  });
});

describe("CSRF rule for cookie-authenticated writes", () => {
  let cookie = "";
  beforeAll(async () => {
    cookie = cookieOf(await login("login-user"));
  });
  const write = (headers: Record<string, string>) =>
    api("/api/userSettings/keyStyle", {
      method: "POST",
      auth: null,
      body: "green/green.css",
      headers: { Cookie: cookie, "Content-Type": "text/plain", ...headers },
    });

  it("allows same-origin requests and app-runtime's X-Requested-With", async () => {
    expect((await write({ Origin: ORIGIN })).status).toBe(200);
    expect((await write({ "X-Requested-With": "XMLHttpRequest" })).status).toBe(200);
    const jsonBody = await api("/api/userSettings/keyStyle", {
      method: "POST",
      auth: null,
      body: JSON.stringify("green/green.css"),
      headers: { Cookie: cookie },
    });
    expect(jsonBody.status).toBe(200);
  });

  it("refuses foreign origins, cross-site fetches and bare form-like posts with 403", async () => {
    const foreign = await write({ Origin: "https://evil.example", "X-Requested-With": "XMLHttpRequest" });
    expect(foreign.status).toBe(403);
    expect(await json(foreign)).toEqual({
      httpStatus: "Forbidden",
      httpStatusCode: 403,
      status: "ERROR",
      errorCode: "E1006",
      message: "Cross-site request refused: origin https://evil.example may not use this session.",
    });
    expect((await write({ "Sec-Fetch-Site": "cross-site" })).status).toBe(403);
    expect((await write({})).status).toBe(403);
    expect((await write({ Origin: "null" })).status).toBe(403);
  });

  it("leaves reads, Basic and token callers alone", async () => {
    expect((await api("/api/userSettings", { auth: null, headers: { Cookie: cookie, Origin: "https://evil.example" } })).status).toBe(200);
    const basicWrite = await api("/api/userSettings/keyStyle", {
      method: "POST",
      body: "green/green.css",
      headers: { "Content-Type": "text/plain", Origin: "https://evil.example" },
    });
    expect(basicWrite.status).toBe(200);
  });

  it("logout is CSRF-checked too", async () => {
    const res = await api("/api/auth/logout", { method: "POST", auth: null, headers: { Cookie: cookie, Origin: "https://evil.example" } });
    expect(res.status).toBe(403);
    expect((await api("/api/userSettings", { auth: null, headers: { ...XHR, Cookie: cookie } })).status).toBe(200);
  });

  it("trusts origins listed in CORS_ALLOWED_ORIGINS, the public base URL and, behind a trusted proxy, the forwarded host", () => {
    const req = (origin: string, headers: Record<string, string> = {}) =>
      new Request("http://worker.internal/api/x", { method: "POST", headers: { Origin: origin, ...headers } });
    expect(csrfViolation(req("https://app.example"), { CORS_ALLOWED_ORIGINS: "https://app.example" })).toBeNull();
    expect(csrfViolation(req("https://app.example"), { CORS_ALLOWED_ORIGINS: "" })).not.toBeNull();
    expect(csrfViolation(req("https://app.example"), { CORS_ALLOWED_ORIGINS: "*" })).not.toBeNull();
    const forwarded = req("https://dhis.example.org", { "X-Forwarded-Proto": "https", "X-Forwarded-Host": "dhis.example.org" });
    expect(csrfViolation(forwarded, { TRUST_FORWARDED_HEADERS: "true" })).toBeNull();
    // Without a trusted proxy, a client's own X-Forwarded-Host vouches for nothing.
    expect(csrfViolation(forwarded, { TRUST_FORWARDED_HEADERS: "false" })).not.toBeNull();
    expect(csrfViolation(req("https://dhis.example.org"), { PUBLIC_BASE_URL: "https://dhis.example.org/hmis" })).toBeNull();
    expect(
      csrfViolation(new Request("http://worker.internal/api/x", { method: "GET", headers: { Origin: "https://evil" } }), {}),
    ).toBeNull();
  });
});

describe("legacy form sign-in and sign-out (app platform login modal, header bar)", () => {
  it("login.action with j_username/j_password sets the cookie and redirects to the start app", async () => {
    const res = await manual("/dhis-web-commons-security/login.action", {
      method: "POST",
      body: `j_username=login-user&j_password=${encodeURIComponent(PASSWORD)}`,
      headers: { "Content-Type": "application/x-www-form-urlencoded", ...XHR },
    });
    expect(res.status).toBe(302);
    expect(res.headers.get("Location")).toBe("/dhis-web-scheduler/");
    const cookie = cookieOf(res);
    expect(cookie).toMatch(/^JSESSIONID=/);
    expect((await api("/api/userSettings", { auth: null, headers: { ...XHR, Cookie: cookie } })).status).toBe(200);
    const out = await manual("/dhis-web-commons-security/logout.action", { headers: { Cookie: cookie } });
    expect(out.status).toBe(302);
    expect(out.headers.get("Location")).toBe("/dhis-web-commons-security/login.html");
    expect((await api("/api/userSettings", { auth: null, headers: { ...XHR, Cookie: cookie } })).status).toBe(401);
  });

  it("a wrong password goes back to the sign-in page; a cross-site form post is refused", async () => {
    const wrong = await manual("/dhis-web-commons-security/login.action", {
      method: "POST",
      body: "j_username=login-user&j_password=nope",
      headers: { "Content-Type": "application/x-www-form-urlencoded", ...XHR },
    });
    expect(wrong.status).toBe(302);
    expect(wrong.headers.get("Location")).toBe("/dhis-web-commons-security/login.html?failed=true");
    const crossSite = await manual("/dhis-web-commons-security/login.action", {
      method: "POST",
      body: `j_username=login-user&j_password=${PASSWORD}`,
      headers: { "Content-Type": "application/x-www-form-urlencoded", Origin: "https://evil.example" },
    });
    expect(crossSite.status).toBe(403);
  });

  it("serves a sign-in page that escapes the title and only returns to local paths", async () => {
    await api("/api/systemSettings/applicationTitle", { method: "POST", body: "<b>Edge</b>", headers: { "Content-Type": "text/plain" } });
    const page = await api("/dhis-web-commons-security/login.html?redirect=%2F%2Fevil.example%2F", { auth: null });
    expect(page.status).toBe(200);
    expect(page.headers.get("Content-Type")).toBe("text/html;charset=UTF-8");
    const html = await page.text();
    expect(html).toContain("<title>&lt;b&gt;Edge&lt;/b&gt;</title>");
    expect(html).toContain('const target = "/dhis-web-scheduler/";');
    const back = await (
      await api("/dhis-web-commons-security/login.html?redirect=%2Fdhis-web-scheduler%2F%23%2Fjobs", { auth: null })
    ).text();
    expect(back).toContain('const target = "/dhis-web-scheduler/#/jobs";');
    await api("/api/systemSettings/applicationTitle", { method: "DELETE" });
  });
});
