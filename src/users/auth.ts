/**
 * Authentication middleware: HTTP Basic, DHIS2 personal access tokens and browser sessions (the
 * `JSESSIONID` cookie set by `POST /api/auth/login`, src/users/session.ts). Every `/api/**` path
 * needs a user except the public ones listed here; so do `/dhis-web-commons/**` (the app menu) and
 * the hosted apps under `/dhis-web-<name>/`. Failures are 401 JSON WebMessages (`Unauthorized`,
 * `Account disabled`, `Account locked`) with `WWW-Authenticate` for non-browser callers; a browser
 * opening a hosted app without a session is sent to the sign-in page instead.
 *
 * A caller authenticated by the session cookie alone is marked `viaSession`, so the CSRF middleware
 * (src/http/csrf.ts, registered after this one) can refuse cross-site writes.
 */
import type { MiddlewareHandler } from "hono";
import { clock } from "../http/clock";
import type { AppEnv } from "../http/router";
import { ApiError, forbidden } from "../http/webmessage";
import { ensureBootstrapAdmin } from "./bootstrap";
import { cachedCredential, rememberCredential } from "./credential-cache";
import { decoyHash, sha256Hex, verifyPassword } from "./password";
import { sessionToken, sessionUserRow } from "./session";
import {
  accountState,
  type AuthUser,
  findUserByUid,
  findUserByUsername,
  hasAuthority,
  recordFailedLogin,
  recordSuccessfulLogin,
  toAuthUser,
  type UserRow,
} from "./store";
import { parseTokenAttributes, tokenConstraintViolation, type TokenRequest } from "./token-attributes";
import { findTokenByKey } from "./tokens";

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
  if (state) return { ok: false, reason: state };
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

async function sessionUser(db: D1Database, token: string, now: number, browser: boolean): Promise<AuthUser> {
  const result = await sessionUserRow(db, token, now);
  if ("refused" in result) throw unauthorized(result.refused, browser);
  return toAuthUser(result.row);
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
 * there is neither. (CSRF rules for cookie requests are applied by src/http/csrf.ts.)
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
  c.set("viaSession", !c.req.header("Authorization"));
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
