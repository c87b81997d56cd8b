/**
 * Authentication middleware: HTTP Basic, DHIS2 personal access tokens and browser sessions (the
 * `JSESSIONID` cookie set by `POST /api/auth/login`). Every `/api/**` path needs a user except the
 * public ones listed here; so do `/dhis-web-commons/**` (the app menu) and the hosted apps under
 * `/dhis-web-<name>/`. Failures are 401 JSON WebMessages (`Unauthorized`, `Account disabled`,
 * `Account locked`) with `WWW-Authenticate` for non-browser callers; a browser opening a hosted app
 * without a session is sent to the sign-in page instead.
 *
 * Sessions: the cookie holds 32 random bytes; D1 keeps only their SHA-256 (`sessions`, migration
 * 0041) with an idle expiry (system setting `keySessionTimeout`, renewed at most once a minute) and a
 * tag of the user's password hash, so a password change ends every session. A session user passes the
 * same account checks as a token user (disabled, expired) on every request.
 *
 * CSRF: a state-changing request (anything but GET/HEAD/OPTIONS) authenticated by the cookie alone
 * must come from this origin. Its `Origin` header must be this service's origin, or one listed by
 * name in CORS_ALLOWED_ORIGINS (`*` does not count). Without an `Origin`, it must carry
 * `X-Requested-With: XMLHttpRequest` or a JSON content type, which a cross-site form cannot send.
 * `Sec-Fetch-Site: cross-site` is refused. Requests with an Authorization header are not affected
 * (a browser never adds one on its own).
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./router";
import { ApiError, forbidden } from "./webmessage";
import { clock } from "./clock";
import { allowedOrigin } from "./cors";
import { contextPath } from "./respond";
import { getSetting } from "../settings/settings";
import { ensureBootstrapAdmin } from "../users/bootstrap";
import { cachedCredential, rememberCredential } from "../users/credential-cache";
import { decoyHash, sha256Hex, verifyPassword } from "../users/password";
import {
  type AuthUser,
  findUserByUid,
  findUserByUsername,
  hasAuthority,
  recordFailedLogin,
  recordSuccessfulLogin,
  toAuthUser,
  type UserRow,
} from "../users/store";
import { parseTokenAttributes, tokenConstraintViolation, type TokenRequest } from "../users/token-attributes";
import { findTokenByKey } from "../users/tokens";

/** Paths served without credentials (after version/suffix normalisation). */
// Paths are compared after normalisation, which strips `.json`: `/api/openapi` is the document.
const PUBLIC_PATHS = new Set([
  "/api/ping",
  "/api/openapi",
  "/api/openapi.json",
  "/api/docs",
  "/api/loginConfig",
  "/api/auth/login",
  "/api/auth/logout",
]);

/** Hosted app bundles (`/dhis-web-scheduler/…`); `dhis-web-commons*` are the shell's own paths. */
export const HOSTED_APP_PATH = /^\/dhis-web-(?!commons)[a-z0-9][a-z0-9-]*(?:\/|$)/;
/** Outside /api, only these need a user: the app menu and the hosted apps. */
const PROTECTED_NON_API = (path: string) => path.startsWith("/dhis-web-commons/") || HOSTED_APP_PATH.test(path);

export function isPublicPath(path: string): boolean {
  if (!path.startsWith("/api")) return !PROTECTED_NON_API(path);
  return PUBLIC_PATHS.has(path) || path.startsWith("/api/executor/"); // executor callbacks: signed + run token
}

function unauthorized(message: string, browser: boolean): ApiError {
  return new ApiError(401, message, {}, browser ? {} : { "WWW-Authenticate": 'Basic realm="HRHIS4"' });
}

function decodeBasic(value: string): { username: string; password: string } | null {
  try {
    const bytes = Uint8Array.from(atob(value.trim()), (ch) => ch.charCodeAt(0));
    const text = new TextDecoder().decode(bytes);
    const i = text.indexOf(":");
    if (i < 1) return null;
    return { username: text.slice(0, i), password: text.slice(i + 1) };
  } catch {
    return null;
  }
}

function accountState(row: UserRow, now: number): string | null {
  if (row.disabled) return "Account disabled";
  if (row.account_expiry !== null && row.account_expiry <= now) return "Account expired";
  return null;
}

export type PasswordFailure = "Unauthorized" | "Account locked" | "Account disabled" | "Account expired";
export type PasswordCheck = { ok: true; row: UserRow } | { ok: false; reason: PasswordFailure };

/**
 * Username and password as Basic and `POST /api/auth/login` both check them: unknown users cost a
 * decoy verification, a locked account is refused before the password is tried, failures count
 * towards the lockout, and a disabled or expired account is only revealed to the right password.
 */
export async function checkPassword(db: D1Database, username: string, password: string, now: number): Promise<PasswordCheck> {
  if (username.length === 0 || username.length > 255 || password.length > 1024) return { ok: false, reason: "Unauthorized" };
  const row = await findUserByUsername(db, username);
  if (!row) {
    await verifyPassword(password, await decoyHash());
    return { ok: false, reason: "Unauthorized" };
  }
  if (row.locked_until !== null && row.locked_until > now) return { ok: false, reason: "Account locked" };
  const key = await sha256Hex(`${username}\u0000${password}`);
  if (!cachedCredential(key, row.uid, row.password_hash, now)) {
    if (!(await verifyPassword(password, row.password_hash))) {
      await recordFailedLogin(db, row.uid, now);
      return { ok: false, reason: "Unauthorized" };
    }
    rememberCredential(key, row.uid, row.password_hash, now);
  }
  const state = accountState(row, now);
  if (state) return { ok: false, reason: state as PasswordFailure };
  await recordSuccessfulLogin(db, row, now);
  return { ok: true, row };
}

async function basicUser(db: D1Database, header: string, now: number, browser: boolean): Promise<AuthUser> {
  const creds = decodeBasic(header);
  if (!creds) throw unauthorized("Unauthorized", browser);
  const result = await checkPassword(db, creds.username, creds.password, now);
  if (!result.ok) throw unauthorized(result.reason, browser);
  return toAuthUser(result.row);
}

// ---------------------------------------------------------------- browser sessions

export const SESSION_COOKIE = "JSESSIONID";
const SESSION_ATTRIBUTES = "Path=/; HttpOnly; Secure; SameSite=Lax";
/** Renew the idle expiry at most this often (one D1 write a minute per active session). */
const SESSION_RENEW_MS = 60_000;

/** The session cookie's value from a Cookie header, if any. */
export function sessionToken(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(";")) {
    const eq = part.indexOf("=");
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === SESSION_COOKIE) {
      const value = part.slice(eq + 1).trim();
      return /^[A-Za-z0-9_-]{20,128}$/.test(value) ? value : undefined;
    }
  }
  return undefined;
}

export const sessionCookie = (token: string) => `${SESSION_COOKIE}=${token}; ${SESSION_ATTRIBUTES}`;
export const clearedSessionCookie = () => `${SESSION_COOKIE}=; ${SESSION_ATTRIBUTES}; Max-Age=0`;

const passwordTag = async (passwordHash: string) => (await sha256Hex(passwordHash)).slice(0, 32);

async function sessionTimeoutMs(db: D1Database): Promise<number> {
  return (await getSetting(db, "keySessionTimeout")) * 1000;
}

/** Starts a session for a verified user; returns the cookie value (never stored). */
export async function createSession(db: D1Database, row: UserRow, now: number): Promise<string> {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  const token = btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
  const expires = now + (await sessionTimeoutMs(db));
  await db.batch([
    db.prepare(`DELETE FROM sessions WHERE expires <= ?`).bind(now),
    db
      .prepare(`INSERT INTO sessions (id_hash, user_uid, password_tag, created, last_seen, expires) VALUES (?, ?, ?, ?, ?, ?)`)
      .bind(await sha256Hex(token), row.uid, await passwordTag(row.password_hash), now, now, expires),
  ]);
  return token;
}

/** Ends the session of this cookie value (no-op when unknown). */
export async function endSession(db: D1Database, token: string): Promise<void> {
  await db
    .prepare(`DELETE FROM sessions WHERE id_hash = ?`)
    .bind(await sha256Hex(token))
    .run();
}

async function sessionUser(db: D1Database, token: string, now: number, browser: boolean): Promise<AuthUser> {
  const idHash = await sha256Hex(token);
  const session = await db
    .prepare(`SELECT user_uid, password_tag, last_seen, expires FROM sessions WHERE id_hash = ?`)
    .bind(idHash)
    .first<{ user_uid: string; password_tag: string; last_seen: number; expires: number }>();
  if (!session || session.expires <= now) throw unauthorized("Unauthorized", browser);
  const row = await findUserByUid(db, session.user_uid);
  if (!row || session.password_tag !== (await passwordTag(row.password_hash))) {
    await db.prepare(`DELETE FROM sessions WHERE id_hash = ?`).bind(idHash).run();
    throw unauthorized("Unauthorized", browser);
  }
  const state = accountState(row, now);
  if (state) throw unauthorized(state, browser);
  if (now - session.last_seen >= SESSION_RENEW_MS) {
    // Push the idle expiry forward, at most once a minute (the setting is only read then).
    const expires = now + (await sessionTimeoutMs(db));
    await db.prepare(`UPDATE sessions SET last_seen = ?, expires = ? WHERE id_hash = ?`).bind(now, expires, idHash).run();
  }
  return toAuthUser(row);
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** An origin named in CORS_ALLOWED_ORIGINS; the wildcard `*` does not vouch for a session. */
function listedOrigin(setting: string | undefined, origin: string): boolean {
  return allowedOrigin(setting, origin) !== null && (setting ?? "").split(",").some((s) => s.trim() === origin);
}

/**
 * Why a cookie-authenticated request must be refused as cross-site, or null when it may proceed
 * (see the module comment for the rule).
 */
export function csrfViolation(req: Request, corsOrigins: string | undefined): string | null {
  if (SAFE_METHODS.has(req.method.toUpperCase())) return null;
  const origin = req.headers.get("Origin");
  if (origin !== null) {
    const own = new Set([new URL(req.url).origin, contextPath(req)]);
    if (own.has(origin) || listedOrigin(corsOrigins, origin)) return null;
    return `Cross-site request refused: origin ${origin} may not use this session.`;
  }
  if (req.headers.get("Sec-Fetch-Site") === "cross-site") return "Cross-site request refused.";
  if (req.headers.get("X-Requested-With") === "XMLHttpRequest") return null;
  const type = (req.headers.get("Content-Type") ?? "").split(";")[0].trim().toLowerCase();
  if (type === "application/json" || type.endsWith("+json")) return null;
  return "Cross-site request refused: send X-Requested-With: XMLHttpRequest or an Origin header with session requests.";
}

async function tokenUser(db: D1Database, key: string, now: number, browser: boolean, req: TokenRequest): Promise<AuthUser> {
  const token = await findTokenByKey(db, key.trim());
  if (!token || (token.expire !== null && token.expire <= now)) throw unauthorized("Unauthorized", browser);
  const violation = tokenConstraintViolation(parseTokenAttributes(token.attributes), req);
  if (violation) throw unauthorized(violation, browser);
  const row = await findUserByUid(db, token.owner_uid);
  if (!row) throw unauthorized("Unauthorized", browser);
  const state = accountState(row, now);
  if (state) throw unauthorized(state, browser);
  return toAuthUser(row);
}

/**
 * Resolves the caller from the Authorization header, else from the session cookie; undefined when
 * there is neither. (CSRF rules for cookie requests are applied by the middleware.)
 */
export async function authenticate(c: { env: AppEnv["Bindings"]; req: TokenRequest }): Promise<AuthUser | undefined> {
  const header = c.req.header("Authorization");
  const browser = c.req.header("X-Requested-With") === "XMLHttpRequest";
  if (!header) {
    const token = sessionToken(c.req.header("Cookie"));
    return token ? sessionUser(c.env.DB, token, clock.now(), browser) : undefined;
  }
  const now = clock.now();
  await ensureBootstrapAdmin(c.env, now);
  const space = header.indexOf(" ");
  const scheme = (space === -1 ? header : header.slice(0, space)).toLowerCase();
  const value = space === -1 ? "" : header.slice(space + 1);
  if (scheme === "basic") return basicUser(c.env.DB, value, now, browser);
  if (scheme === "apitoken") return tokenUser(c.env.DB, value, now, browser, c.req);
  throw unauthorized("Unauthorized", browser);
}

/** Where a browser without a session is sent when it opens a hosted app. */
export const LOGIN_PAGE = "/dhis-web-commons-security/login.html";

export const authMiddleware: MiddlewareHandler<AppEnv> = async (c, next) => {
  const hasCookie = sessionToken(c.req.header("Cookie")) !== undefined;
  if (c.req.method === "OPTIONS" || isPublicPath(c.req.path)) {
    // Public routes still learn who calls when credentials are sent and valid.
    if (c.req.header("Authorization") || hasCookie) c.set("user", await authenticate(c).catch(() => undefined));
    return next();
  }
  const browser = c.req.header("X-Requested-With") === "XMLHttpRequest";
  let user: AuthUser | undefined;
  try {
    user = await authenticate(c);
  } catch (e) {
    if (!(e instanceof ApiError) || !isAppNavigation(c.req.raw, c.req.path)) throw e;
  }
  if (!user) {
    if (isAppNavigation(c.req.raw, c.req.path)) {
      const back = new URL(c.req.url);
      return c.redirect(`${LOGIN_PAGE}?redirect=${encodeURIComponent(back.pathname + back.search)}`, 302);
    }
    throw unauthorized("Unauthorized", browser);
  }
  if (!c.req.header("Authorization")) {
    const refused = csrfViolation(c.req.raw, c.env.CORS_ALLOWED_ORIGINS);
    if (refused) throw forbidden(refused);
  }
  c.set("user", user);
  return next();
};

/** A browser opening a hosted app page (not a script asking for data). */
function isAppNavigation(req: Request, path: string): boolean {
  return req.method === "GET" && HOSTED_APP_PATH.test(path) && req.headers.get("X-Requested-With") !== "XMLHttpRequest";
}

/** The authenticated user of a protected route. */
export function currentUser(c: { get(key: "user"): AuthUser | undefined }): AuthUser {
  const user = c.get("user");
  if (!user) throw new ApiError(401, "Unauthorized");
  return user;
}

/** 403 unless the user is a superuser or holds one of the authorities. */
export function requireAuthority(user: AuthUser, authorities: string[], message: string): void {
  if (!hasAuthority(user, ...authorities)) throw forbidden(message);
}
