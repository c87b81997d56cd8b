/**
 * A very short-lived in-isolate cache of user rows, so a warm authenticated request does not pay a
 * D1 read. Guarantees:
 * - in this isolate, every write that matters for authentication drops the row at once: password
 *   change, disabling, deletion, username change (`forgetUser` in credential-cache.ts), failed and
 *   successful login bookkeeping (store.ts);
 * - in other isolates a row is at most USER_ROW_TTL_MS old: a password change or disabling made
 *   elsewhere takes effect here within 2 seconds (lockout counting always happens in D1).
 * Keyed by username and by uid; both keys of a row are dropped together.
 */
export const USER_ROW_TTL_MS = 2000;
const MAX_ROWS = 1000;

interface Entry<T> {
  row: T;
  uid: string;
  expires: number;
}

const rows = new Map<string, Entry<unknown>>();

export function cachedRow<T>(key: string, now: number): T | undefined {
  const e = rows.get(key);
  if (!e) return undefined;
  if (e.expires <= now) {
    rows.delete(key);
    return undefined;
  }
  return e.row as T;
}

export function rememberRow<T extends { uid: string; username: string }>(row: T, now: number): void {
  while (rows.size >= MAX_ROWS) {
    const oldest = rows.keys().next().value;
    if (oldest === undefined) break;
    rows.delete(oldest);
  }
  const entry = { row, uid: row.uid, expires: now + USER_ROW_TTL_MS };
  rows.set(`u:${row.username}`, entry);
  rows.set(`i:${row.uid}`, entry);
}

export function forgetRows(uid: string): void {
  for (const [k, e] of rows) if (e.uid === uid) rows.delete(k);
}

export function clearRows(): void {
  rows.clear();
}
