/** D1 access for users, roles and authorities. */
import { clock } from "../http/clock";
import type { Principal } from "../http/router";
import { cachedRow, rememberRow } from "./user-row-cache";
export interface UserRow {
  uid: string;
  username: string;
  first_name: string;
  surname: string;
  email: string | null;
  password_hash: string;
  disabled: number;
  authorities: string;
  failed_logins: number;
  locked_until: number | null;
  last_login: number | null;
  password_last_updated: number | null;
  account_expiry: number | null;
  created: number;
  last_updated: number;
  role_authorities: string | null;
  role_uids: string | null;
}

/** The authenticated caller, as every handler sees it (http/'s Principal, built here from a user row). */
export type AuthUser = Principal;

export const SELECT_USER = `SELECT u.*,
  (SELECT json_group_array(r.authorities) FROM user_role_members m JOIN user_roles r ON r.uid = m.role_uid WHERE m.user_uid = u.uid) AS role_authorities,
  (SELECT json_group_array(m.role_uid) FROM user_role_members m WHERE m.user_uid = u.uid) AS role_uids
  FROM users u`;

/**
 * User rows by username or uid, through the 2-second in-isolate row cache (user-row-cache.ts
 * documents its invalidation guarantees). Rows are shared: callers must not mutate them.
 */
export function findUserByUsername(db: D1Database, username: string): Promise<UserRow | null> {
  return findUserCached(db, `u:${username}`, "u.username = ?", username);
}

export function findUserByUid(db: D1Database, uid: string): Promise<UserRow | null> {
  return findUserCached(db, `i:${uid}`, "u.uid = ?", uid);
}

async function findUserCached(
  db: D1Database,
  cacheKey: string,
  where: "u.username = ?" | "u.uid = ?",
  value: string,
): Promise<UserRow | null> {
  const now = clock.now();
  const hit = cachedRow<UserRow>(cacheKey, now);
  if (hit) return hit;
  const row = await db.prepare(`${SELECT_USER} WHERE ${where}`).bind(value).first<UserRow>();
  if (row) rememberRow(row, now);
  return row;
}

function parseList(json: string | null): unknown[] {
  if (!json) return [];
  try {
    const v = JSON.parse(json);
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

/** Direct authorities plus those of every role. */
export function effectiveAuthorities(row: Pick<UserRow, "authorities" | "role_authorities">): string[] {
  const set = new Set<string>();
  for (const a of parseList(row.authorities)) if (typeof a === "string") set.add(a);
  for (const roleJson of parseList(row.role_authorities)) {
    for (const a of parseList(typeof roleJson === "string" ? roleJson : JSON.stringify(roleJson))) if (typeof a === "string") set.add(a);
  }
  return [...set].sort();
}

export function toAuthUser(row: UserRow): AuthUser {
  const authorities = effectiveAuthorities(row);
  const user: AuthUser = {
    uid: row.uid,
    username: row.username,
    firstName: row.first_name,
    surname: row.surname,
    authorities,
    roles: parseList(row.role_uids).filter((r): r is string => typeof r === "string"),
    isSuper: authorities.includes("ALL"),
  };
  if (row.email) user.email = row.email;
  return user;
}

/** Why a verified user may not sign in (disabled, expired account), or null. */
export function accountState(row: UserRow, now: number): "Account disabled" | "Account expired" | null {
  if (row.disabled) return "Account disabled";
  if (row.account_expiry !== null && row.account_expiry <= now) return "Account expired";
  return null;
}

export function hasAuthority(user: AuthUser | undefined, ...authorities: string[]): boolean {
  if (!user) return false;
  if (user.isSuper) return true;
  return authorities.some((a) => user.authorities.includes(a));
}

/** Lockout policy (src/users/lockout.ts): this many failures from one address lock the account for that address for LOCKOUT_MS. */
export const MAX_FAILED_LOGINS = 5;
export const LOCKOUT_MS = 15 * 60 * 1000;
