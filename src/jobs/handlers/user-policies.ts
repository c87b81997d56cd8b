/**
 * Pure decisions of the user-account jobs (DISABLE_INACTIVE_USERS, ACCOUNT_EXPIRY_ALERT,
 * CREDENTIALS_EXPIRY_ALERT, REMOVE_USED_OR_EXPIRED_RESERVED_VALUES): functions of (rows, now,
 * policy) with no I/O, so they are unit-tested on their own. Policy (docs/EXECUTOR.md "In-worker jobs"):
 *
 * - Inactivity: a user's last activity is `last_login`, else `created` (never logged in). A user is
 *   inactive when that instant is before `now - inactiveMonths` calendar months (UTC). Superusers
 *   (authority ALL) are never disabled (reported as skipped) so the service cannot lock itself out.
 *   With `reminderDaysBefore`, users who become inactive within that many days are reminded.
 * - Account expiry: enabled accounts whose `account_expiry` lies in (now, now + accountExpiresInDays]
 *   (system setting `accountExpiresInDays`, default 7, as DHIS2).
 * - Credentials expiry: the password of a user expires `credentialsExpires` months (system setting,
 *   0 = never, DHIS2's allowed values 0/3/6/12; default 0 as DHIS2) after `password_last_updated`
 *   (else `created`). Users whose password expires within `credentialsExpiresReminderInDays`
 *   (default 28) days, or has already expired, are alerted.
 */

export const DAY_MS = 24 * 3600 * 1000;

/** `t` moved back by `months` calendar months in UTC; the day is clamped to the target month's length. */
export function subtractMonths(t: number, months: number): number {
  const d = new Date(t);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth() - months;
  const target = new Date(Date.UTC(y, m, 1, d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(d.getUTCDate(), lastDay));
  return target.getTime();
}

export function addMonths(t: number, months: number): number {
  return subtractMonths(t, -months);
}

export interface UserActivityRow {
  uid: string;
  username: string;
  last_login: number | null;
  created: number;
  disabled: number;
  isSuper: boolean;
}

export interface InactiveUsersPlan {
  /** Users inactive since before this instant are disabled. */
  cutoff: number;
  disable: { uid: string; username: string; lastActive: number }[];
  remind: { uid: string; username: string; lastActive: number; disableFrom: number }[];
  skippedSuperusers: { uid: string; username: string; lastActive: number }[];
}

export function lastActive(row: Pick<UserActivityRow, "last_login" | "created">): number {
  return row.last_login ?? row.created;
}

export function planInactiveUsers(
  rows: UserActivityRow[],
  now: number,
  params: { inactiveMonths: number; reminderDaysBefore?: number | null },
): InactiveUsersPlan {
  const cutoff = subtractMonths(now, params.inactiveMonths);
  const reminderDays = params.reminderDaysBefore ?? 0;
  const plan: InactiveUsersPlan = { cutoff, disable: [], remind: [], skippedSuperusers: [] };
  const sorted = [...rows].sort((a, b) => a.username.localeCompare(b.username));
  for (const row of sorted) {
    if (row.disabled) continue;
    const active = lastActive(row);
    if (active < cutoff) {
      if (row.isSuper) plan.skippedSuperusers.push({ uid: row.uid, username: row.username, lastActive: active });
      else plan.disable.push({ uid: row.uid, username: row.username, lastActive: active });
    } else if (reminderDays > 0 && !row.isSuper) {
      // Disabled on the first run at or after the instant its last activity falls behind the cutoff.
      const disableFrom = addMonths(active, params.inactiveMonths);
      if (disableFrom - now <= reminderDays * DAY_MS) {
        plan.remind.push({ uid: row.uid, username: row.username, lastActive: active, disableFrom });
      }
    }
  }
  return plan;
}

export interface AccountExpiryRow {
  uid: string;
  username: string;
  email: string | null;
  account_expiry: number | null;
  disabled: number;
}

export function expiringAccounts(
  rows: AccountExpiryRow[],
  now: number,
  withinDays: number,
): { uid: string; username: string; email?: string; expires: number }[] {
  const limit = now + withinDays * DAY_MS;
  return rows
    .filter((r) => !r.disabled && r.account_expiry !== null && r.account_expiry > now && r.account_expiry <= limit)
    .sort((a, b) => a.account_expiry! - b.account_expiry! || a.username.localeCompare(b.username))
    .map((r) => {
      const out: { uid: string; username: string; email?: string; expires: number } = {
        uid: r.uid,
        username: r.username,
        expires: r.account_expiry!,
      };
      if (r.email) out.email = r.email;
      return out;
    });
}

export interface CredentialsRow {
  uid: string;
  username: string;
  email: string | null;
  password_last_updated: number | null;
  created: number;
  disabled: number;
}

export interface CredentialsAlert {
  uid: string;
  username: string;
  email?: string;
  passwordExpires: number;
  expired: boolean;
}

export function expiringCredentials(
  rows: CredentialsRow[],
  now: number,
  policy: { credentialsExpires: number; reminderInDays: number },
): CredentialsAlert[] {
  if (policy.credentialsExpires <= 0) return [];
  const limit = now + policy.reminderInDays * DAY_MS;
  const out: CredentialsAlert[] = [];
  for (const r of rows) {
    if (r.disabled) continue;
    const expires = addMonths(r.password_last_updated ?? r.created, policy.credentialsExpires);
    if (expires > limit) continue;
    const alert: CredentialsAlert = { uid: r.uid, username: r.username, passwordExpires: expires, expired: expires <= now };
    if (r.email) alert.email = r.email;
    out.push(alert);
  }
  return out.sort((a, b) => a.passwordExpires - b.passwordExpires || a.username.localeCompare(b.username));
}

export interface TokenRowLite {
  uid: string;
  expire: number | null;
}

/** API tokens whose expiry has passed by more than `graceDays` days. */
export function expiredTokens(rows: TokenRowLite[], now: number, graceDays = 0): string[] {
  const limit = now - graceDays * DAY_MS;
  return rows
    .filter((r) => r.expire !== null && r.expire <= limit)
    .map((r) => r.uid)
    .sort();
}
