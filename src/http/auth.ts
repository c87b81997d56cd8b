/**
 * Authentication middleware: HTTP Basic and DHIS2 personal access tokens. Every `/api/**` path needs
 * a user except the public ones listed here. Failures are 401 JSON WebMessages (`Unauthorized`,
 * `Account disabled`, `Account locked`) with `WWW-Authenticate` for non-browser callers.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./router";
import { ApiError, forbidden } from "./webmessage";
import { clock } from "./clock";
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
import { findTokenByKey } from "../users/tokens";

/** Paths served without credentials (after version/suffix normalisation). */
const PUBLIC_PATHS = new Set(["/api/ping", "/api/openapi.json", "/api/docs", "/api/loginConfig", "/api/auth/login"]);

export function isPublicPath(path: string): boolean {
  return PUBLIC_PATHS.has(path) || !path.startsWith("/api") || path.startsWith("/api/executor/"); // executor callbacks: signed + run token
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

async function basicUser(db: D1Database, header: string, now: number, browser: boolean): Promise<AuthUser> {
  const creds = decodeBasic(header);
  if (!creds || creds.username.length > 255 || creds.password.length > 1024) throw unauthorized("Unauthorized", browser);
  const row = await findUserByUsername(db, creds.username);
  if (!row) {
    await verifyPassword(creds.password, await decoyHash());
    throw unauthorized("Unauthorized", browser);
  }
  if (row.locked_until !== null && row.locked_until > now) throw unauthorized("Account locked", browser);
  const key = await sha256Hex(`${creds.username}\u0000${creds.password}`);
  if (!cachedCredential(key, row.uid, row.password_hash, now)) {
    if (!(await verifyPassword(creds.password, row.password_hash))) {
      await recordFailedLogin(db, row.uid, now);
      throw unauthorized("Unauthorized", browser);
    }
    rememberCredential(key, row.uid, row.password_hash, now);
  }
  const state = accountState(row, now);
  if (state) throw unauthorized(state, browser);
  await recordSuccessfulLogin(db, row, now);
  return toAuthUser(row);
}

async function tokenUser(db: D1Database, key: string, now: number, browser: boolean): Promise<AuthUser> {
  const token = await findTokenByKey(db, key.trim());
  if (!token || (token.expire !== null && token.expire <= now)) throw unauthorized("Unauthorized", browser);
  const row = await findUserByUid(db, token.owner_uid);
  if (!row) throw unauthorized("Unauthorized", browser);
  const state = accountState(row, now);
  if (state) throw unauthorized(state, browser);
  return toAuthUser(row);
}

/** Resolves the caller from the Authorization header; undefined when there is none. */
export async function authenticate(c: { env: AppEnv["Bindings"]; req: { header(name: string): string | undefined } }): Promise<AuthUser | undefined> {
  const header = c.req.header("Authorization");
  if (!header) return undefined;
  const now = clock.now();
  const browser = c.req.header("X-Requested-With") === "XMLHttpRequest";
  await ensureBootstrapAdmin(c.env, now);
  const space = header.indexOf(" ");
  const scheme = (space === -1 ? header : header.slice(0, space)).toLowerCase();
  const value = space === -1 ? "" : header.slice(space + 1);
  if (scheme === "basic") return basicUser(c.env.DB, value, now, browser);
  if (scheme === "apitoken") return tokenUser(c.env.DB, value, now, browser);
  throw unauthorized("Unauthorized", browser);
}

export const authMiddleware: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.req.method === "OPTIONS" || isPublicPath(c.req.path)) {
    // Public routes still learn who calls when credentials are sent and valid.
    if (c.req.header("Authorization")) c.set("user", await authenticate(c).catch(() => undefined));
    return next();
  }
  const user = await authenticate(c);
  if (!user) throw unauthorized("Unauthorized", c.req.header("X-Requested-With") === "XMLHttpRequest");
  c.set("user", user);
  return next();
};

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

