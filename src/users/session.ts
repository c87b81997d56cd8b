/**
 * Browser sessions: the `JSESSIONID` cookie set by `POST /api/auth/login`. The cookie holds 32 random
 * bytes; D1 keeps only their SHA-256 (`sessions`, migration 0041) with an idle expiry (system setting
 * `keySessionTimeout`, renewed at most once a minute) and a tag of the user's password hash, so a
 * password change ends every session. A session user passes the same account checks as a token user
 * (disabled, expired) on every request. A user holds at most MAX_SESSIONS_PER_USER sessions: signing in
 * once more ends the least recently used one.
 */
import { getSetting } from "../settings/settings";
import { sha256Hex } from "./password";
import { accountState, findUserByUid, type UserRow } from "./store";

export const SESSION_COOKIE = "JSESSIONID";
const SESSION_ATTRIBUTES = "Path=/; HttpOnly; Secure; SameSite=Lax";
/** Renew the idle expiry at most this often (one D1 write a minute per active session). */
const SESSION_RENEW_MS = 60_000;
/** Sessions one user may hold; signing in once more ends the least recently used. */
export const MAX_SESSIONS_PER_USER = 10;

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
    db
      .prepare(
        `DELETE FROM sessions WHERE user_uid = ?1 AND id_hash NOT IN (
           SELECT id_hash FROM sessions WHERE user_uid = ?1 ORDER BY last_seen DESC, rowid DESC LIMIT ?2)`,
      )
      .bind(row.uid, MAX_SESSIONS_PER_USER),
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

/**
 * The user row of a live session, or why there is none: an unknown or expired session, the user gone
 * or their password changed since (such a session is deleted), or the account's state (disabled,
 * expired). Renews the idle expiry of a usable session at most once a minute.
 */
export async function sessionUserRow(db: D1Database, token: string, now: number): Promise<{ row: UserRow } | { refused: string }> {
  const idHash = await sha256Hex(token);
  const session = await db
    .prepare(`SELECT user_uid, password_tag, last_seen, expires FROM sessions WHERE id_hash = ?`)
    .bind(idHash)
    .first<{ user_uid: string; password_tag: string; last_seen: number; expires: number }>();
  if (!session || session.expires <= now) return { refused: "Unauthorized" };
  const row = await findUserByUid(db, session.user_uid);
  if (!row || session.password_tag !== (await passwordTag(row.password_hash))) {
    await db.prepare(`DELETE FROM sessions WHERE id_hash = ?`).bind(idHash).run();
    return { refused: "Unauthorized" };
  }
  const state = accountState(row, now);
  if (state) return { refused: state };
  if (now - session.last_seen >= SESSION_RENEW_MS) {
    // Push the idle expiry forward, at most once a minute (the setting is only read then).
    const expires = now + (await sessionTimeoutMs(db));
    await db.prepare(`UPDATE sessions SET last_seen = ?, expires = ? WHERE id_hash = ?`).bind(now, expires, idHash).run();
  }
  return { row };
}
