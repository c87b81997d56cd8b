/**
 * Account lockout per (username, client address): MAX_FAILED_LOGINS failed passwords from one address
 * lock the account for that address for LOCKOUT_MS. An anonymous client that knows a username can
 * therefore only lock itself out: the user signing in from another address, or with a token or a
 * session, is not affected. When a lock ends, or when the last failure is older than LOCKOUT_MS, the
 * count starts again (one wrong password after a lock does not lock again).
 *
 * Usernames that do not exist are counted and locked the same way, so "Account locked" does not reveal
 * which usernames exist. Rows live in `login_failures` (migration 0062); `users.failed_logins` and
 * `users.locked_until` keep a summary (the failures over all addresses and the latest lock), which
 * lets a signed-in user's warm request skip the lock lookup when there is nothing to find.
 */
import { forgetRows } from "./user-row-cache";
import { LOCKOUT_MS, MAX_FAILED_LOGINS, type UserRow } from "./store";

/** The summary columns of `users`, recomputed from the rows of one username. */
const SUMMARY_SQL = `UPDATE users SET
  failed_logins = (SELECT COALESCE(SUM(f.failures), 0) FROM login_failures f WHERE f.username = ?1),
  locked_until = (SELECT MAX(f.locked_until) FROM login_failures f WHERE f.username = ?1 AND f.locked_until > ?2)
  WHERE username = ?1`;

/** Whether the account is locked for this address. `row` is the user's row (null for an unknown username). */
export async function lockedFor(db: D1Database, username: string, source: string, row: UserRow | null, now: number): Promise<boolean> {
  // A known user with no failure from any address has nothing to look up.
  if (row && row.failed_logins === 0 && (row.locked_until === null || row.locked_until <= now)) return false;
  const found = await db
    .prepare(`SELECT locked_until FROM login_failures WHERE username = ? AND source = ?`)
    .bind(username, source)
    .first<{ locked_until: number | null }>();
  return found?.locked_until != null && found.locked_until > now;
}

/**
 * Counts one failed password from this address; true when it started a lock. Forgotten rows (ended
 * locks, failures older than LOCKOUT_MS) are cleaned up in the same batch.
 */
export async function recordFailure(db: D1Database, username: string, source: string, now: number, uid?: string): Promise<boolean> {
  const stale = now - LOCKOUT_MS;
  // A row whose lock has ended, or whose last failure is older than the lockout, counts from zero.
  const reset = `((locked_until IS NOT NULL AND locked_until <= ?3) OR (locked_until IS NULL AND last_failure <= ?6))`;
  const [, upsert] = await db.batch([
    db.prepare(`DELETE FROM login_failures WHERE last_failure <= ?1 AND (locked_until IS NULL OR locked_until <= ?2)`).bind(stale, now),
    db
      .prepare(
        `INSERT INTO login_failures (username, source, failures, locked_until, last_failure)
         VALUES (?1, ?2, 1, CASE WHEN 1 >= ?4 THEN ?5 END, ?3)
         ON CONFLICT (username, source) DO UPDATE SET
           failures = CASE WHEN ${reset} THEN 1 ELSE failures + 1 END,
           locked_until = CASE WHEN (CASE WHEN ${reset} THEN 1 ELSE failures + 1 END) >= ?4 THEN ?5
                               WHEN ${reset} THEN NULL ELSE locked_until END,
           last_failure = ?3
         RETURNING failures`,
      )
      .bind(username, source, now, MAX_FAILED_LOGINS, now + LOCKOUT_MS, stale),
    db.prepare(SUMMARY_SQL).bind(username, now),
  ]);
  if (uid) forgetRows(uid);
  return (upsert.results[0] as { failures?: number } | undefined)?.failures === MAX_FAILED_LOGINS;
}

/** A successful sign-in from this address: its failures are forgotten (other addresses keep theirs). */
export function clearFailuresStatements(db: D1Database, username: string, source: string, now: number): D1PreparedStatement[] {
  return [
    db.prepare(`DELETE FROM login_failures WHERE username = ? AND source = ?`).bind(username, source),
    db.prepare(SUMMARY_SQL).bind(username, now),
  ];
}

/** An administrator's password reset: every address's failures and locks for this user end. */
export function clearAllFailuresStatements(db: D1Database, username: string): D1PreparedStatement[] {
  return [
    db.prepare(`DELETE FROM login_failures WHERE username = ?`).bind(username),
    db.prepare(`UPDATE users SET failed_logins = 0, locked_until = NULL WHERE username = ?`).bind(username),
  ];
}

/**
 * A successful password sign-in: ends this address's failures and records `last_login`. Writes only
 * when something changes: a warm request must not pay a D1 write each time.
 */
export async function recordSuccess(db: D1Database, row: UserRow, source: string, now: number): Promise<void> {
  const dayAgo = now - 24 * 3600 * 1000;
  const failures = row.failed_logins !== 0 || row.locked_until !== null;
  if (!failures && row.last_login !== null && row.last_login > dayAgo) return;
  const login = db.prepare(`UPDATE users SET last_login = ? WHERE uid = ?`).bind(now, row.uid);
  await db.batch(failures ? [...clearFailuresStatements(db, row.username, source, now), login] : [login]);
  forgetRows(row.uid);
}
