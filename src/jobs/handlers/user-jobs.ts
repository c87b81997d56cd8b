/**
 * In-worker handlers for the job types whose data live in this service (docs/EXECUTOR.md
 * "In-worker jobs"): DISABLE_INACTIVE_USERS, ACCOUNT_EXPIRY_ALERT, CREDENTIALS_EXPIRY_ALERT and
 * REMOVE_USED_OR_EXPIRED_RESERVED_VALUES (here: expired API tokens and executor bookkeeping).
 * Decisions are the pure functions of `user-policies.ts`; this file reads and writes D1 and reports
 * progress and a summary.
 */
import { type JobRunContext, JobRunError, type RunResult } from "../contract";
import { purgeExpired } from "../../executor/store";
import { formatDate, serverTimeZone } from "../../http/dates";
import { forgetUser } from "../../users/credential-cache";
import { effectiveAuthorities } from "../../users/store";
import { getSetting } from "../../settings/settings";
import {
  expiredTokens,
  expiringAccounts,
  expiringCredentials,
  planInactiveUsers,
  type AccountExpiryRow,
  type CredentialsRow,
  type TokenRowLite,
  type UserActivityRow,
} from "./user-policies";

/** The part of the scheduler's progress API (`JobProgress` in ../contract.ts) these jobs use. */
export interface StageProgress {
  startingStage(description: string, totalItems?: number): void;
  completedStage(summary?: string): void;
  startingItem(description: string): void;
  completedItem(summary?: string): void;
  info(message: string): void;
  warn(message: string): void;
}

/** What the user jobs need from a run (a subset of the run context). */
export type UserJobContext = Pick<JobRunContext, "parameters" | "notify" | "now"> & {
  signal?: AbortSignal;
  env: { DB: D1Database; SERVER_TIMEZONE?: string };
  /** The scheduler's stage/item progress API; without it, messages go straight to `notify`. */
  progress?: StageProgress;
};

async function stage(ctx: UserJobContext, description: string, totalItems?: number): Promise<void> {
  if (ctx.progress) ctx.progress.startingStage(description, totalItems);
  else await ctx.notify("INFO", description);
}
async function stageDone(ctx: UserJobContext, summary?: string): Promise<void> {
  if (ctx.progress) ctx.progress.completedStage(summary);
  else if (summary) await ctx.notify("INFO", summary);
}
async function item(ctx: UserJobContext, description: string): Promise<void> {
  if (ctx.progress) {
    ctx.progress.startingItem(description);
    ctx.progress.completedItem();
  } else await ctx.notify("LOOP", description);
}
async function say(ctx: UserJobContext, level: "INFO" | "WARN", message: string): Promise<void> {
  if (ctx.progress) (level === "WARN" ? ctx.progress.warn : ctx.progress.info).call(ctx.progress, message);
  else await ctx.notify(level, message);
}

const BATCH = 50;
/** Lists in summaries are capped; counts are always exact. */
const LIST_CAP = 200;

function tz(ctx: UserJobContext): string {
  return serverTimeZone(ctx.env);
}

function date(ctx: UserJobContext, t: number): string {
  return formatDate(t, tz(ctx)) ?? new Date(t).toISOString();
}

function checkCancelled(ctx: UserJobContext): void {
  if (ctx.signal?.aborted) {
    const err = new Error("Job cancelled");
    err.name = "AbortError";
    throw err;
  }
}

function intParam(params: Record<string, unknown>, name: string): number | null {
  const v = params?.[name];
  if (v === null || v === undefined || v === "") return null;
  const n = typeof v === "string" ? Number(v) : v;
  return typeof n === "number" && Number.isInteger(n) ? n : NaN;
}

// ---------------------------------------------------------------------------------------------

export async function disableInactiveUsers(ctx: UserJobContext): Promise<RunResult> {
  const db = ctx.env.DB;
  const inactiveMonths = intParam(ctx.parameters, "inactiveMonths");
  const reminderDaysBefore = intParam(ctx.parameters, "reminderDaysBefore");
  if (inactiveMonths === null || Number.isNaN(inactiveMonths) || inactiveMonths < 1 || inactiveMonths > 24) {
    throw new JobRunError("Job parameter `inactiveMonths` must be an integer from 1 to 24", ["E4008"]);
  }
  if (reminderDaysBefore !== null && (Number.isNaN(reminderDaysBefore) || reminderDaysBefore < 1 || reminderDaysBefore > 28)) {
    throw new JobRunError("Job parameter `reminderDaysBefore` must be an integer from 1 to 28", ["E4008"]);
  }
  const now = ctx.now();
  await stage(ctx, `Finding users inactive for ${inactiveMonths} month${inactiveMonths === 1 ? "" : "s"}`);
  const { results } = await db
    .prepare(
      `SELECT u.uid, u.username, u.last_login, u.created, u.disabled, u.authorities,
         (SELECT json_group_array(r.authorities) FROM user_role_members m JOIN user_roles r ON r.uid = m.role_uid WHERE m.user_uid = u.uid) AS role_authorities
       FROM users u WHERE u.disabled = 0`,
    )
    .all<Omit<UserActivityRow, "isSuper"> & { authorities: string; role_authorities: string | null }>();
  const rows: UserActivityRow[] = results.map((r) => ({
    uid: r.uid,
    username: r.username,
    last_login: r.last_login,
    created: r.created,
    disabled: r.disabled,
    isSuper: effectiveAuthorities(r).includes("ALL"),
  }));
  const plan = planInactiveUsers(rows, now, { inactiveMonths, reminderDaysBefore });
  await stageDone(ctx, `${plan.disable.length} of ${rows.length} enabled users inactive since before ${date(ctx, plan.cutoff)}`);
  for (const s of plan.skippedSuperusers) await say(ctx, "WARN", `Superuser ${s.username} is inactive but is never disabled automatically`);
  if (plan.disable.length) await stage(ctx, "Disabling inactive users", plan.disable.length);

  let disabled = 0;
  for (let i = 0; i < plan.disable.length; i += BATCH) {
    checkCancelled(ctx);
    const chunk = plan.disable.slice(i, i + BATCH);
    const res = await db.batch(
      chunk.map((u) => db.prepare(`UPDATE users SET disabled = 1, last_updated = ? WHERE uid = ? AND disabled = 0`).bind(now, u.uid)),
    );
    disabled += res.reduce((n, r) => n + (r.meta.changes ?? 0), 0);
    // Refused at once in this isolate: cached credentials and the cached user row go (forgetUser
    // drops both); other isolates see the row within the row cache's 2 s.
    for (const u of chunk) forgetUser(u.uid);
    const last = Math.min(i + BATCH, plan.disable.length);
    await item(ctx, `[${last}/${plan.disable.length}] Disabled ${chunk[chunk.length - 1].username}`);
  }
  if (plan.disable.length) await stageDone(ctx, `Disabled ${disabled} users`);
  for (const r of plan.remind) {
    await say(ctx, "INFO", `Reminder: user ${r.username} will be disabled for inactivity from ${date(ctx, r.disableFrom)}`);
  }
  const message = `Disabled ${disabled} inactive user${disabled === 1 ? "" : "s"}${plan.remind.length ? `, reminded ${plan.remind.length}` : ""}`;
  return {
    message,
    summary: {
      responseType: "DisableInactiveUsersSummary",
      inactiveMonths,
      reminderDaysBefore: reminderDaysBefore ?? undefined,
      inactiveSince: date(ctx, plan.cutoff),
      disabled,
      reminded: plan.remind.length,
      skippedSuperusers: plan.skippedSuperusers.map((u) => u.username),
      disabledUsers: plan.disable
        .slice(0, LIST_CAP)
        .map((u) => ({ uid: u.uid, username: u.username, lastActive: date(ctx, u.lastActive) })),
      reminders: plan.remind.slice(0, LIST_CAP).map((u) => ({ uid: u.uid, username: u.username, disableFrom: date(ctx, u.disableFrom) })),
    },
  };
}

// ---------------------------------------------------------------------------------------------

export async function accountExpiryAlert(ctx: UserJobContext): Promise<RunResult> {
  const db = ctx.env.DB;
  const now = ctx.now();
  const days = await getSetting(db, "accountExpiresInDays");
  await stage(ctx, `Finding accounts that expire within ${days} days`);
  const { results } = await db
    .prepare(
      `SELECT uid, username, email, account_expiry, disabled FROM users WHERE disabled = 0 AND account_expiry IS NOT NULL AND account_expiry > ? AND account_expiry <= ?`,
    )
    .bind(now, now + days * 24 * 3600 * 1000)
    .all<AccountExpiryRow>();
  const accounts = expiringAccounts(results, now, days);
  await stageDone(ctx, `${accounts.length} found`);
  for (let i = 0; i < accounts.length; i++) {
    checkCancelled(ctx);
    const a = accounts[i];
    await say(ctx, "WARN", `Account of user ${a.username} expires on ${date(ctx, a.expires)}`);
  }
  const n = accounts.length;
  return {
    message: n
      ? `${n} user account${n === 1 ? "" : "s"} expire${n === 1 ? "s" : ""} within ${days} days`
      : `No user accounts expire within ${days} days`,
    summary: {
      responseType: "AccountExpiryAlertSummary",
      accountExpiresInDays: days,
      count: n,
      accounts: accounts
        .slice(0, LIST_CAP)
        .map((a) => ({ uid: a.uid, username: a.username, email: a.email, expires: date(ctx, a.expires) })),
    },
  };
}

// ---------------------------------------------------------------------------------------------

export async function credentialsExpiryAlert(ctx: UserJobContext): Promise<RunResult> {
  const db = ctx.env.DB;
  const now = ctx.now();
  const months = await getSetting(db, "credentialsExpires");
  const reminderInDays = await getSetting(db, "credentialsExpiresReminderInDays");
  if (months === 0) {
    await say(ctx, "INFO", "Credentials expiry is not enabled (system setting credentialsExpires is 0)");
    return {
      message: "Credentials expiry is not enabled",
      summary: { responseType: "CredentialsExpiryAlertSummary", credentialsExpires: 0, reminderInDays, count: 0, users: [] },
    };
  }
  await stage(ctx, `Finding passwords that expire within ${reminderInDays} days (passwords expire after ${months} months)`);
  const { results } = await db
    .prepare(`SELECT uid, username, email, password_last_updated, created, disabled FROM users WHERE disabled = 0`)
    .all<CredentialsRow>();
  const alerts = expiringCredentials(results, now, { credentialsExpires: months, reminderInDays });
  await stageDone(ctx, `${alerts.length} found`);
  for (const a of alerts) {
    checkCancelled(ctx);
    await say(
      ctx,
      "WARN",
      a.expired
        ? `Password of user ${a.username} expired on ${date(ctx, a.passwordExpires)}`
        : `Password of user ${a.username} expires on ${date(ctx, a.passwordExpires)}`,
    );
  }
  const expired = alerts.filter((a) => a.expired).length;
  const n = alerts.length;
  return {
    message: n
      ? `${n} user password${n === 1 ? "" : "s"} expired or expiring (${expired} expired)`
      : `No passwords expire within ${reminderInDays} days`,
    summary: {
      responseType: "CredentialsExpiryAlertSummary",
      credentialsExpires: months,
      reminderInDays,
      count: n,
      expired,
      users: alerts.slice(0, LIST_CAP).map((a) => ({
        uid: a.uid,
        username: a.username,
        email: a.email,
        passwordExpires: date(ctx, a.passwordExpires),
        expired: a.expired,
      })),
    },
  };
}

// ---------------------------------------------------------------------------------------------

/** Expired personal access tokens are deleted after this many days (their owners may still look them up meanwhile). */
export const EXPIRED_TOKEN_GRACE_DAYS = 0;

/** REMOVE_USED_OR_EXPIRED_RESERVED_VALUES here: expired API tokens and expired executor bookkeeping. */
export async function removeExpired(ctx: UserJobContext): Promise<RunResult> {
  const db = ctx.env.DB;
  const now = ctx.now();
  await stage(ctx, "Removing expired API tokens");
  const { results } = await db
    .prepare(`SELECT uid, expire FROM api_tokens WHERE expire IS NOT NULL AND expire <= ?`)
    .bind(now)
    .all<TokenRowLite>();
  const uids = expiredTokens(results, now, EXPIRED_TOKEN_GRACE_DAYS);
  let removed = 0;
  for (let i = 0; i < uids.length; i += BATCH) {
    checkCancelled(ctx);
    const res = await db.batch(uids.slice(i, i + BATCH).map((uid) => db.prepare(`DELETE FROM api_tokens WHERE uid = ?`).bind(uid)));
    removed += res.reduce((n, r) => n + (r.meta.changes ?? 0), 0);
  }
  await stageDone(ctx, `Removed ${removed} expired API token${removed === 1 ? "" : "s"}`);
  await stage(ctx, "Removing expired executor run records and replay-cache entries");
  await purgeExpired(db, now);
  await stageDone(ctx);
  return {
    message: `Removed ${removed} expired API token${removed === 1 ? "" : "s"}`,
    summary: { responseType: "RemoveExpiredSummary", expiredApiTokensRemoved: removed },
  };
}

/** A handler of this module, assignable to the scheduler's `JobHandler`. */
export type UserJobHandler = (ctx: UserJobContext) => Promise<RunResult>;
