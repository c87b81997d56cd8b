/**
 * Authentication middleware: HTTP Basic, DHIS2 personal access tokens and browser sessions (the
 * `JSESSIONID` cookie set by `POST /api/auth/login`, src/users/session.ts). Every `/api/**` path
 * needs a user except the public ones listed here; so do `/dhis-web-commons/**` (the app menu) and
 * the hosted apps under `/dhis-web-<name>/`. Failures are 401 JSON WebMessages (`Unauthorized`,
 * `Account disabled`, `Account locked`) with `WWW-Authenticate` for non-browser callers; a browser
 * opening a hosted app without a session is sent to the sign-in page instead.
 *
 * Failed passwords count towards a lockout per (username, client address) (src/users/lockout.ts);
 * failed passwords and tokens count towards a throttle per client address (src/users/throttle.ts:
 * 429 with `Retry-After`). Both are logged (`auth_lockout`, `auth_throttled`) and counted
 * (`auth_failures_total`, `auth_throttled_total`), never with a credential.
 *
 * Protected routes also learn how the caller authenticated (`credential`): the CSRF middleware
 * (src/http/csrf.ts, registered after this one) refuses cross-site writes of `session` callers, and
 * a token created with a token inherits that token's limits (src/users/token-routes.ts).
 */
import type { Context, MiddlewareHandler } from "hono";
import { clock } from "../http/clock";
import { logEvent } from "../http/log";
import type { AppEnv, Credential } from "../http/router";
import { ApiError, forbidden } from "../http/webmessage";
import { type CounterSink, countEvent } from "../metrics/counters";
import { ensureBootstrapAdmin } from "./bootstrap";
import { cachedCredential, rememberCredential } from "./credential-cache";
import { lockedFor, recordFailure, recordSuccess } from "./lockout";
import { decoyHash, sha256Hex, verifyPassword } from "./password";
import { sessionToken, sessionUserRow } from "./session";
import {
  accountState,
  type AuthUser,
  findUserByUid,
  findUserByUsername,
  hasAuthority,
  LOCKOUT_MS,
  toAuthUser,
  type UserRow,
} from "./store";
import { clientAddress, countFailure, sourceKey, throttledFor } from "./throttle";
import { parseTokenAttributes, tokenConstraintViolation, type TokenRequest } from "./token-attributes";
import { findTokenByKey, tokenExpiry } from "./tokens";

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
export type AuthScheme = "basic" | "login" | "token" | "other";
/** Why an authentication failed, as counted (`auth_failures_total{scheme,reason}`). */
type FailureReason = "bad_credentials" | "locked" | "malformed" | "bad_token";

/** Where authentication failures are counted (src/metrics/counters.ts, reported on /api/metrics). */
function counterSink(c: Context<AppEnv>): CounterSink {
  let waitUntil: (p: Promise<unknown>) => void = () => {};
  try {
    const ctx = c.executionCtx;
    waitUntil = (p) => ctx.waitUntil(p);
  } catch {
    // Called without an execution context (a direct app.fetch): the flush runs unattended.
  }
  return { db: c.env.DB, waitUntil, now: () => clock.now() };
}

const requestAddress = (c: Context<AppEnv>) => clientAddress(c.req.header("CF-Connecting-IP"));

function tooManyFailures(retryAfter: number): ApiError {
  return new ApiError(
    429,
    `Too many failed authentication attempts from this address. Try again in ${retryAfter} seconds.`,
    {},
    { "Retry-After": String(retryAfter) },
  );
}

/** A throttled address: counted, and refused with 429 before any credential is checked. */
function refuseThrottled(c: Context<AppEnv>, scheme: AuthScheme, retryAfter: number): never {
  countEvent(counterSink(c), "auth_throttled_total", { scheme });
  throw tooManyFailures(retryAfter);
}

/**
 * Counts a failed authentication (metrics, and the address's budget in AUTH_FAILURES). Returns when
 * the address is within its budget (the caller answers 401); throws the 429 when it is throttled.
 */
async function countFailedAuthentication(c: Context<AppEnv>, scheme: AuthScheme, reason: FailureReason, now: number): Promise<void> {
  countEvent(counterSink(c), "auth_failures_total", { scheme, reason });
  const address = requestAddress(c);
  const throttled = await countFailure(c.env.AUTH_FAILURES, address, now);
  if (!throttled) return;
  if (throttled.started) logEvent("warn", "auth_throttled", { address, scheme, retryAfter: throttled.retryAfter });
  refuseThrottled(c, scheme, throttled.retryAfter);
}

/**
 * Username and password as Basic and the sign-in routes check them. A throttled address is refused
 * (429) before anything is checked. Unknown users cost a decoy verification; an account locked for
 * this address is refused before the password is tried; a failure counts towards the address's
 * throttle and, unless that refuses it, towards the account's lockout for this address
 * (src/users/lockout.ts); a disabled or expired account is only revealed to the right password.
 */
export async function checkPassword(c: Context<AppEnv>, username: string, password: string, scheme: AuthScheme): Promise<PasswordCheck> {
  const db = c.env.DB;
  const now = clock.now();
  const address = requestAddress(c);
  const wait = throttledFor(address, now);
  if (wait !== null) refuseThrottled(c, scheme, wait);
  if (username.length === 0 || username.length > 255 || password.length > 1024) {
    await countFailedAuthentication(c, scheme, "malformed", now);
    return { ok: false, reason: "Unauthorized" };
  }
  const source = sourceKey(address);
  const row = await findUserByUsername(db, username);
  if (await lockedFor(db, username, source, row, now)) {
    await countFailedAuthentication(c, scheme, "locked", now);
    return { ok: false, reason: "Account locked" };
  }
  const key = await sha256Hex(`${username}\u0000${password}`);
  if (!row || !cachedCredential(key, row.uid, row.password_hash, now)) {
    if (!row || !(await verifyPassword(password, row.password_hash))) {
      if (!row) await verifyPassword(password, await decoyHash());
      await countFailedAuthentication(c, scheme, "bad_credentials", now);
      if (await recordFailure(db, username, source, now, row?.uid)) {
        logEvent("warn", "auth_lockout", { user: row?.uid, address, scheme, lockedForMs: LOCKOUT_MS });
      }
      return { ok: false, reason: "Unauthorized" };
    }
    rememberCredential(key, row.uid, row.password_hash, now);
  }
  const state = accountState(row, now);
  if (state) return { ok: false, reason: state };
  await recordSuccess(db, row, source, now);
  return { ok: true, row };
}

/** A caller and how they authenticated. */
export interface Authenticated {
  user: AuthUser;
  credential: Credential;
}

async function basicUser(c: Context<AppEnv>, header: string, browser: boolean): Promise<Authenticated> {
  const creds = decodeBasic(header);
  if (!creds) {
    await countFailedAuthentication(c, "basic", "malformed", clock.now());
    throw unauthorized("Unauthorized", browser);
  }
  const result = await checkPassword(c, creds.username, creds.password, "basic");
  if (!result.ok) throw unauthorized(result.reason, browser);
  return { user: toAuthUser(result.row), credential: { scheme: "basic" } };
}

async function sessionUser(db: D1Database, token: string, now: number, browser: boolean): Promise<Authenticated> {
  const result = await sessionUserRow(db, token, now);
  if ("refused" in result) throw unauthorized(result.refused, browser);
  return { user: toAuthUser(result.row), credential: { scheme: "session" } };
}

/** The token's refusal (DHIS2's message), or its owner's row and the token's id. */
async function tokenOwner(
  db: D1Database,
  key: string,
  now: number,
  req: TokenRequest,
): Promise<{ row: UserRow; tokenId: string } | { refused: string }> {
  const token = await findTokenByKey(db, key.trim());
  if (!token || tokenExpiry(token, token.max_lifetime_days) <= now) return { refused: "Unauthorized" };
  const violation = tokenConstraintViolation(parseTokenAttributes(token.attributes), req);
  if (violation) return { refused: violation };
  const row = await findUserByUid(db, token.owner_uid);
  if (!row) return { refused: "Unauthorized" };
  const state = accountState(row, now);
  return state ? { refused: state } : { row, tokenId: token.uid };
}

async function tokenUser(c: Context<AppEnv>, key: string, now: number, browser: boolean): Promise<Authenticated> {
  const result = await tokenOwner(c.env.DB, key, now, c.req);
  if ("row" in result) return { user: toAuthUser(result.row), credential: { scheme: "token", id: result.tokenId } };
  // A wrong, expired or misused token counts like a wrong password (a disabled owner does not).
  if (result.refused !== "Account disabled" && result.refused !== "Account expired")
    await countFailedAuthentication(c, "token", "bad_token", now);
  throw unauthorized(result.refused, browser);
}

/**
 * Resolves the caller from the Authorization header, else from the session cookie; undefined when
 * there is neither. (CSRF rules for cookie requests are applied by src/http/csrf.ts.)
 */
export async function authenticate(c: Context<AppEnv>): Promise<Authenticated | undefined> {
  const header = c.req.header("Authorization");
  const browser = c.req.header("X-Requested-With") === "XMLHttpRequest";
  if (!header) {
    const token = sessionToken(c.req.header("Cookie"));
    return token ? sessionUser(c.env.DB, token, clock.now(), browser) : undefined;
  }
  const now = clock.now();
  await ensureBootstrapAdmin(c.env, now, c.req.url);
  const space = header.indexOf(" ");
  const scheme = (space === -1 ? header : header.slice(0, space)).toLowerCase();
  const value = space === -1 ? "" : header.slice(space + 1);
  if (scheme === "basic") return basicUser(c, value, browser);
  if (scheme === "apitoken") return tokenUser(c, value, now, browser);
  await countFailedAuthentication(c, "other", "malformed", now);
  throw unauthorized("Unauthorized", browser);
}

/** Where a browser without a session is sent when it opens a hosted app. */
export const LOGIN_PAGE = "/dhis-web-commons-security/login.html";

export const authMiddleware: MiddlewareHandler<AppEnv> = async (c, next) => {
  const hasCookie = sessionToken(c.req.header("Cookie")) !== undefined;
  if (c.req.method === "OPTIONS" || isPublicPath(c.req.path)) {
    // Public routes still learn who calls when user credentials are sent and valid. Other schemes
    // (the executor protocol's Bearer run tokens) are the route's business, not a failed sign-in.
    const header = c.req.header("Authorization");
    if (header ? /^(basic|apitoken)\s/i.test(header) : hasCookie) c.set("user", (await authenticate(c).catch(() => undefined))?.user);
    return next();
  }
  const browser = c.req.header("X-Requested-With") === "XMLHttpRequest";
  let caller: Authenticated | undefined;
  try {
    caller = await authenticate(c);
  } catch (e) {
    if (!(e instanceof ApiError) || !isAppNavigation(c.req.raw, c.req.path)) throw e;
  }
  if (!caller) {
    if (isAppNavigation(c.req.raw, c.req.path)) {
      const back = new URL(c.req.url);
      return c.redirect(`${LOGIN_PAGE}?redirect=${encodeURIComponent(back.pathname + back.search)}`, 302);
    }
    throw unauthorized("Unauthorized", browser);
  }
  c.set("credential", caller.credential);
  c.set("user", caller.user);
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
