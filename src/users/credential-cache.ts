/**
 * Short-lived in-isolate cache of verified Basic credentials, so a warm request does not pay a full
 * PBKDF2 derivation. An entry is keyed by a SHA-256 of the credentials (the password is never kept)
 * and remembers the password hash it was verified against: once the stored hash changes (password
 * change, in any isolate) the entry no longer matches. Disabling is read from the user row on every
 * request, and `forgetUser` drops entries at once in this isolate. The user row itself may come from
 * the 2-second row cache (user-row-cache.ts), which bounds how late another isolate's change is seen.
 */
import { clearRows, forgetRows } from "./user-row-cache";
export const CREDENTIAL_CACHE_TTL_MS = 5 * 60 * 1000;
const MAX_ENTRIES = 10_000;

interface Entry {
  uid: string;
  passwordHash: string;
  expires: number;
}

const entries = new Map<string, Entry>();

export function cachedCredential(key: string, uid: string, passwordHash: string, now: number): boolean {
  const e = entries.get(key);
  if (!e) return false;
  if (e.expires <= now || e.uid !== uid || e.passwordHash !== passwordHash) {
    entries.delete(key);
    return false;
  }
  return true;
}

export function rememberCredential(key: string, uid: string, passwordHash: string, now: number): void {
  if (entries.size >= MAX_ENTRIES) {
    const oldest = entries.keys().next().value;
    if (oldest !== undefined) entries.delete(oldest);
  }
  entries.set(key, { uid, passwordHash, expires: now + CREDENTIAL_CACHE_TTL_MS });
}

/** Drops the user's verified credentials and cached user row in this isolate (call after any login-relevant write). */
export function forgetUser(uid: string): void {
  for (const [k, e] of entries) if (e.uid === uid) entries.delete(k);
  forgetRows(uid);
}

export function clearCredentialCache(): void {
  entries.clear();
  clearRows();
}
