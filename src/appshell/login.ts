/**
 * Signing in from a browser: `GET /api/loginConfig` (public, DHIS2's LoginConfigResponse),
 * `POST /api/auth/login` with JSON `{"username","password"}` (DHIS2 2.41+: answers
 * `{"loginStatus","redirectUrl"}` and sets the session cookie), `POST /api/auth/logout`, the legacy
 * form endpoints the app platform's login modal and header bar still use
 * (`/dhis-web-commons-security/login.action`, `…/logout.action`), and a small sign-in page that
 * hosted apps are redirected to when there is no session.
 *
 * DHIS2 answers a locked, disabled or expired account with 200 and the matching `loginStatus` (no
 * cookie), and wrong credentials with 401 `Bad credentials`. Password checks, lockout and account
 * rules are the same function Basic authentication uses (`checkPassword` in users/auth.ts).
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import pkg from "../../package.json";
import { checkPassword, LOGIN_PAGE, type PasswordFailure } from "../users/auth";
import { clearedSessionCookie, createSession, endSession, sessionCookie, sessionToken } from "../users/session";
import { csrfViolation } from "../http/csrf";
import { parseJsonText, readBodyText } from "../http/body";
import { clock } from "../http/clock";
import { emptyResponse, jsonResponse, NO_STORE } from "../http/respond";
import type { AppEnv } from "../http/router";
import { ApiError, echo, forbidden } from "../http/webmessage";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { loadSettings } from "../settings/settings";
import { ensureBootstrapAdmin } from "../users/bootstrap";
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from "../users/policy";

const LOGIN_STATUS: Record<PasswordFailure, string> = {
  Unauthorized: "",
  "Account locked": "ACCOUNT_LOCKED",
  "Account disabled": "ACCOUNT_DISABLED",
  "Account expired": "ACCOUNT_EXPIRED",
};

const loginConfigRoute = createRoute({
  method: "get",
  path: "/api/loginConfig",
  security: [],
  summary: "Public sign-in page configuration (DHIS2 LoginConfigResponse)",
  tags: ["login"],
  request: { query: z.object({ locale: z.string().optional().openapi({ example: "en" }) }) },
  responses: { 200: { description: "Titles, texts and options of the sign-in page" } },
});

const loginRoute = createRoute({
  method: "post",
  path: "/api/auth/login",
  security: [],
  summary: "Sign in with JSON credentials: sets the JSESSIONID session cookie",
  tags: ["login"],
  request: {
    body: {
      content: {
        "application/json": { schema: { type: "object", properties: { username: { type: "string" }, password: { type: "string" } } } },
      },
      required: true,
    },
  },
  responses: {
    200: { description: '`{"loginStatus":"SUCCESS","redirectUrl":…}`, or ACCOUNT_LOCKED / ACCOUNT_DISABLED / ACCOUNT_EXPIRED' },
    401: { description: "Bad credentials (WebMessage)" },
    415: { description: "Not a JSON body (WebMessage)" },
  },
});

const logoutRoute = createRoute({
  method: "post",
  path: "/api/auth/logout",
  security: [],
  summary: "End the browser session and clear its cookie",
  tags: ["login"],
  responses: { 204: { description: "Signed out" }, 403: { description: "Cross-site request (WebMessage)" } },
});

const legacyLoginRoute = createRoute({
  method: "post",
  path: "/dhis-web-commons-security/login.action",
  security: [],
  summary: "Legacy form sign-in (`j_username`, `j_password`), as sent by the app platform's login modal",
  tags: ["login"],
  responses: {
    302: { description: "To the start app on success, back to the sign-in page otherwise" },
    403: { description: "Cross-site request (WebMessage)" },
  },
});

const legacyLogoutRoute = createRoute({
  method: "get",
  path: "/dhis-web-commons-security/logout.action",
  security: [],
  summary: "Legacy sign-out link (header bar): ends the session, then shows the sign-in page",
  tags: ["login"],
  responses: { 200: { description: "The sign-in page (HTML)" }, 302: { description: "To the sign-in page" } },
});

const loginPageRoute = createRoute({
  method: "get",
  path: LOGIN_PAGE,
  security: [],
  summary: "Minimal sign-in page for hosted apps",
  tags: ["login"],
  responses: { 200: { description: "HTML page" } },
});

function isJson(c: Context): boolean {
  const type = (c.req.header("Content-Type") ?? "").split(";")[0].trim().toLowerCase();
  return type === "application/json" || type.endsWith("+json");
}

/**
 * Where to go back to after signing in: `target` resolved the way a browser will resolve it
 * (`new URL(target, ownOrigin)`), accepted only when it stays on `ownOrigin`, as a path (never one
 * a browser could read as another host: `//…`). Control characters (which browsers drop: `/\t/evil`
 * becomes `//evil`) and anything else fall back to the start app.
 */
export function safeRedirect(target: string | undefined, fallback: string, ownOrigin: string): string {
  if (!target || /\p{Cc}/u.test(target)) return fallback;
  let url: URL;
  try {
    url = new URL(target, `${ownOrigin}/`);
  } catch {
    return fallback;
  }
  if (url.origin !== ownOrigin || url.pathname.startsWith("//")) return fallback;
  return `${url.pathname}${url.search}${url.hash}`;
}

async function startPath(db: D1Database): Promise<string> {
  const module = (await loadSettings(db)).startModule.replace(/^\/+|\/+$/g, "");
  return module ? `/${module}/` : "/";
}

/** Verifies the credentials and opens a session; the outcome as DHIS2's login status. */
async function signIn(c: Context<AppEnv>, username: string, password: string): Promise<{ status: string; cookie?: string }> {
  const now = clock.now();
  await ensureBootstrapAdmin(c.env, now, c.req.url);
  const result = await checkPassword(c, username, password, "login");
  if (!result.ok) return { status: LOGIN_STATUS[result.reason] };
  const token = await createSession(c.env.DB, result.row, now);
  return { status: "SUCCESS", cookie: sessionCookie(token) };
}

function refuseCrossSite(c: Context<AppEnv>): void {
  const refused = csrfViolation(c.req.raw, c.env);
  if (refused) throw forbidden(refused);
}

async function signOut(c: Context<AppEnv>): Promise<void> {
  const token = sessionToken(c.req.header("Cookie"));
  if (token) await endSession(c.env.DB, token);
}

function parseForm(text: string): URLSearchParams {
  return new URLSearchParams(text);
}

export function registerLoginRoutes(router: OpenAPIHono<AppEnv>): void {
  router.openapi(loginConfigRoute, async (c) => {
    const s = await loadSettings(c.env.DB);
    // DHIS2's member order; null members (loginPageLogo, loginPageTemplate, recaptchaSite) are omitted.
    const body = {
      apiVersion: pkg.version,
      applicationTitle: s.applicationTitle,
      applicationDescription: s.keyApplicationIntro,
      applicationNotification: s.keyApplicationNotification,
      applicationLeftSideFooter: s.keyApplicationFooter,
      applicationRightSideFooter: s.keyApplicationRightFooter,
      countryFlag: s.keyFlag,
      uiLocale: s.keyUiLocale.split(/[_-]/)[0],
      loginPopup: s.loginPopup,
      loginPageLayout: "DEFAULT",
      minPasswordLength: String(PASSWORD_MIN_LENGTH),
      maxPasswordLength: String(PASSWORD_MAX_LENGTH),
      emailConfigured: false,
      selfRegistrationEnabled: false,
      selfRegistrationNoRecaptcha: false,
      allowAccountRecovery: false,
      useCustomLogoFront: false,
      oidcProviders: [],
      audiences: [],
    };
    return jsonResponse(body, 200, { "Cache-Control": NO_STORE });
  });

  router.openapi(loginRoute, async (c) => {
    // A JSON body cannot be sent cross-site without a CORS preflight: this also blocks login CSRF.
    if (!isJson(c)) {
      throw new ApiError(415, `Content type '${echo(c.req.header("Content-Type") ?? "")}' not supported`, { errorCode: "E1003" });
    }
    const body = parseJsonText(await readBodyText(c));
    const { username, password } = (body ?? {}) as { username?: unknown; password?: unknown };
    if (typeof username !== "string" || typeof password !== "string") throw new ApiError(401, "Bad credentials");
    const outcome = await signIn(c, username, password);
    if (outcome.status === "") throw new ApiError(401, "Bad credentials");
    if (!outcome.cookie) return jsonResponse({ loginStatus: outcome.status }, 200, { "Cache-Control": NO_STORE });
    const res = jsonResponse({ loginStatus: outcome.status, redirectUrl: await startPath(c.env.DB) }, 200, { "Cache-Control": NO_STORE });
    res.headers.append("Set-Cookie", outcome.cookie);
    return res;
  });

  router.openapi(logoutRoute, async (c) => {
    refuseCrossSite(c);
    await signOut(c);
    return emptyResponse(204, { "Set-Cookie": clearedSessionCookie(), "Cache-Control": NO_STORE });
  });

  router.openapi(legacyLoginRoute, async (c) => {
    // A plain cross-site form would carry a foreign Origin (or no X-Requested-With): refused.
    refuseCrossSite(c);
    const form = parseForm(await readBodyText(c));
    const outcome = await signIn(c, form.get("j_username") ?? "", form.get("j_password") ?? "");
    if (!outcome.cookie) {
      return new Response(null, { status: 302, headers: { Location: `${LOGIN_PAGE}?failed=true`, "Cache-Control": NO_STORE } });
    }
    const headers = new Headers({ Location: await startPath(c.env.DB), "Cache-Control": NO_STORE });
    headers.append("Set-Cookie", outcome.cookie);
    return new Response(null, { status: 302, headers });
  });

  router.openapi(legacyLogoutRoute, async (c) => {
    await signOut(c);
    return new Response(null, {
      status: 302,
      headers: { Location: LOGIN_PAGE, "Set-Cookie": clearedSessionCookie(), "Cache-Control": NO_STORE },
    });
  });

  router.openapi(loginPageRoute, async (c) => {
    const s = await loadSettings(c.env.DB);
    const target = safeRedirect(c.req.query("redirect"), await startPath(c.env.DB), new URL(c.req.url).origin);
    return new Response(loginPage(s.applicationTitle, target, c.req.query("failed") === "true"), {
      status: 200,
      headers: {
        "Content-Type": "text/html;charset=UTF-8",
        "Cache-Control": NO_STORE,
        "Content-Security-Policy":
          "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'",
        "X-Content-Type-Options": "nosniff",
      },
    });
  });
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch]!);

/** The sign-in page: posts JSON to /api/auth/login, then returns to the app that sent the user here. */
function loginPage(title: string, target: string, failed: boolean): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;background:#f3f5f7;display:flex;justify-content:center;padding-top:10vh}
form{background:#fff;padding:24px 32px;border-radius:4px;box-shadow:0 1px 3px #0003;min-width:280px}
label{display:block;margin:12px 0 4px}input{width:100%;padding:6px;box-sizing:border-box}
button{margin-top:16px;padding:8px 16px}#msg{color:#b00;min-height:1.2em}</style></head>
<body><form id="login"><h1>${escapeHtml(title)}</h1>
<label for="username">Username</label><input id="username" name="username" autocomplete="username" required>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button><p id="msg">${failed ? "Wrong username or password." : ""}</p></form>
<script>
const target = ${JSON.stringify(target).replace(/</g, "\\u003c")};
document.getElementById("login").addEventListener("submit", async (e) => {
  e.preventDefault();
  const msg = document.getElementById("msg");
  msg.textContent = "";
  const res = await fetch("/api/auth/login", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-Requested-With": "XMLHttpRequest", Accept: "application/json" },
    body: JSON.stringify({ username: document.getElementById("username").value, password: document.getElementById("password").value }),
  });
  const body = await res.json().catch(() => ({}));
  if (res.ok && body.loginStatus === "SUCCESS") { location.assign(target); return; }
  const texts = { ACCOUNT_LOCKED: "The account is locked.", ACCOUNT_DISABLED: "The account is disabled.", ACCOUNT_EXPIRED: "The account has expired." };
  msg.textContent = texts[body.loginStatus] || "Wrong username or password.";
});
</script></body></html>`;
}
