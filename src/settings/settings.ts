/**
 * System settings: one store for the whole service, in D1 (`system_settings`), validated per key.
 * Each key has a zod schema and a default; reads fall back to the default. The /api/systemSettings
 * endpoints (settings/routes.ts) and every component that needs a setting go through here.
 */
import { z } from "zod";

/** A Java locale or BCP 47 tag as DHIS2 stores it: `en`, `fr`, `pt_BR`, `uz_UZ_Cyrl`, `pt-BR`. */
export const LOCALE_PATTERN = /^[a-zA-Z]{2,3}(?:[_-][a-zA-Z0-9]{2,8}){0,3}$/;

export const SETTINGS = {
  applicationTitle: { schema: z.string().max(255), default: "HRHIS4 Edge" },
  helpPageLink: { schema: z.string().max(1024), default: "https://docs.dhis2.org" },
  /** Login page texts (`/api/loginConfig`). */
  keyApplicationIntro: { schema: z.string().max(10_000), default: "" },
  keyApplicationNotification: { schema: z.string().max(10_000), default: "" },
  keyApplicationFooter: { schema: z.string().max(10_000), default: "" },
  keyApplicationRightFooter: { schema: z.string().max(10_000), default: "" },
  loginPopup: { schema: z.string().max(10_000), default: "" },
  /** Flag key shown on the login page (`/api/system/flags`). */
  keyFlag: { schema: z.string().max(100), default: "dhis2" },
  /** System defaults for the user settings of the same name (used when a user has not chosen one). */
  keyUiLocale: { schema: z.string().regex(LOCALE_PATTERN, "Not a valid locale"), default: "en" },
  keyDbLocale: { schema: z.string().regex(LOCALE_PATTERN, "Not a valid locale"), default: "en" },
  keyStyle: { schema: z.string().max(255), default: "light_blue/light_blue.css" },
  keyAnalysisDisplayProperty: { schema: z.enum(["name", "shortName"]), default: "name" },
  keyMessageEmailNotification: { schema: z.boolean(), default: false },
  keyMessageSmsNotification: { schema: z.boolean(), default: false },
  /** Where `/api/auth/login` sends the browser after signing in (a hosted app path). */
  startModule: {
    schema: z
      .string()
      .max(255)
      .regex(/^[A-Za-z0-9._/-]*$/, "Not a valid app path"),
    default: "dhis-web-scheduler",
  },
  /** Browser sessions (`/api/auth/login`): idle timeout in seconds (DHIS2 default 3600). */
  keySessionTimeout: {
    schema: z
      .number()
      .int()
      .min(60)
      .max(30 * 24 * 3600),
    default: 3600,
  },
  /** Scheduler: how late (hours) a missed CRON occurrence may still run. DHIS2 default 4. */
  jobsMaxCronDelayHours: {
    schema: z
      .number()
      .int()
      .min(1)
      .max(24 * 7),
    default: 4,
  },
  /** Scheduler: RUNNING jobs whose heartbeat is older than this (minutes) are failed and rescheduled. */
  jobsRescheduleAfterMinutes: {
    schema: z
      .number()
      .int()
      .min(1)
      .max(24 * 60),
    default: 10,
  },
  /** Scheduler: finished run-once jobs are deleted after this many minutes. */
  jobsCleanupAfterMinutes: {
    schema: z
      .number()
      .int()
      .min(1)
      .max(366 * 24 * 60),
    default: 1440,
  },
  /** Quota: job configurations a user who is not a superuser may create (superusers: no limit). */
  jobsMaxPerUser: { schema: z.number().int().min(0).max(100_000), default: 50 },
  /** Quota: the shortest interval (seconds) between the runs a non-superuser may schedule (cron or delay). */
  jobsMinIntervalSeconds: {
    schema: z
      .number()
      .int()
      .min(1)
      .max(24 * 3600),
    default: 60,
  },
  /** Scheduler: run history rows kept per job (the oldest go first; trimmed at each run's end and by HOUSEKEEPING). */
  jobsRunHistoryPerJob: { schema: z.number().int().min(1).max(10_000), default: 1000 },
  /** Scheduler: run history older than this many days is deleted by HOUSEKEEPING (runs in progress stay). */
  jobsRunHistoryMaxDays: { schema: z.number().int().min(1).max(3650), default: 90 },
  /** ACCOUNT_EXPIRY_ALERT: warn about accounts expiring within this many days. */
  accountExpiresInDays: { schema: z.number().int().min(1).max(365), default: 7 },
  /** CREDENTIALS_EXPIRY_ALERT: passwords expire after this many months (0 = never, as DHIS2). */
  credentialsExpires: {
    schema: z
      .number()
      .int()
      .refine((n) => [0, 3, 6, 12].includes(n), "Valid values are: [0, 3, 6, 12]"),
    default: 0,
  },
  /** CREDENTIALS_EXPIRY_ALERT: remind users this many days before their password expires. */
  credentialsExpiresReminderInDays: { schema: z.number().int().min(1).max(365), default: 28 },
  /** Personal access tokens: the longest lifetime in days (0 = no cap), for new tokens and at every use of older ones. */
  apiTokenMaxLifetimeDays: { schema: z.number().int().min(0).max(36_500), default: 0 },
  notifierMaxMessagesPerJob: { schema: z.number().int().min(1).max(100_000), default: 500 },
  notifierMaxJobsPerType: { schema: z.number().int().min(1).max(100_000), default: 500 },
  notifierMaxAgeDays: { schema: z.number().int().min(1).max(3650), default: 7 },
  notifierGistOverview: { schema: z.boolean(), default: true },
} as const;

export type SettingKey = keyof typeof SETTINGS;
export type SettingValue<K extends SettingKey> = (typeof SETTINGS)[K]["default"] extends number
  ? number
  : (typeof SETTINGS)[K]["default"] extends boolean
    ? boolean
    : string;
export type Settings = { [K in SettingKey]: SettingValue<K> };

export function isSettingKey(key: string): key is SettingKey {
  return Object.hasOwn(SETTINGS, key);
}

export function defaultSettings(): Settings {
  const out: Record<string, unknown> = {};
  for (const [k, def] of Object.entries(SETTINGS)) out[k] = def.default;
  return out as Settings;
}

/** The query `settingsFromRows` reads (callers may run it inside their own D1 batch). */
export const SETTINGS_ROWS_SQL = `SELECT key, value FROM system_settings`;

/** Every setting from `system_settings` rows, stored values over defaults. Invalid stored values fall back. */
export function settingsFromRows(rows: readonly { key: string; value: string }[]): Settings {
  const settings = defaultSettings() as Record<string, unknown>;
  for (const row of rows) {
    if (!isSettingKey(row.key)) continue;
    try {
      const parsed = SETTINGS[row.key].schema.safeParse(JSON.parse(row.value));
      if (parsed.success) settings[row.key] = parsed.data;
    } catch {
      // Keep the default for an unreadable value.
    }
  }
  return settings as Settings;
}

/** Every setting, stored values over defaults (one D1 query). Invalid stored values fall back. */
export async function loadSettings(db: D1Database): Promise<Settings> {
  const { results } = await db.prepare(SETTINGS_ROWS_SQL).all<{ key: string; value: string }>();
  return settingsFromRows(results);
}

/** One setting's stored JSON text as its value (the default when absent or invalid). */
export function settingValue<K extends SettingKey>(key: K, stored: string | null | undefined): SettingValue<K> {
  if (stored !== null && stored !== undefined) {
    try {
      const parsed = SETTINGS[key].schema.safeParse(JSON.parse(stored));
      if (parsed.success) return parsed.data as SettingValue<K>;
    } catch {
      // Fall through to the default.
    }
  }
  return SETTINGS[key].default as SettingValue<K>;
}

export async function getSetting<K extends SettingKey>(db: D1Database, key: K): Promise<SettingValue<K>> {
  const row = await db.prepare(`SELECT value FROM system_settings WHERE key = ?`).bind(key).first<{ value: string }>();
  return settingValue(key, row?.value);
}

/** Validates and stores one setting; returns the error message when the value is invalid. */
export async function putSetting(db: D1Database, key: SettingKey, value: unknown): Promise<string | null> {
  const parsed = SETTINGS[key].schema.safeParse(value);
  if (!parsed.success) return parsed.error.issues[0]?.message ?? "Invalid value";
  await db
    .prepare(`INSERT INTO system_settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`)
    .bind(key, JSON.stringify(parsed.data))
    .run();
  return null;
}

export async function deleteSetting(db: D1Database, key: SettingKey): Promise<void> {
  await db.prepare(`DELETE FROM system_settings WHERE key = ?`).bind(key).run();
}

/**
 * Reads a value as sent over HTTP into the key's type, the way DHIS2 stores every setting as text:
 * `"12"` becomes 12 for number keys, `"true"`/`"false"` booleans for boolean keys; numbers and
 * booleans sent to string keys become their text. Anything else is passed on for the schema to judge.
 */
export function coerceSettingValue(key: SettingKey, raw: unknown): unknown {
  const def = SETTINGS[key].default as unknown;
  if (typeof def === "number" && typeof raw === "string" && /^\s*[+-]?\d+(?:\.\d+)?\s*$/.test(raw)) return Number(raw);
  if (typeof def === "boolean" && typeof raw === "string") {
    const t = raw.trim().toLowerCase();
    if (t === "true") return true;
    if (t === "false") return false;
  }
  if (typeof def === "string" && (typeof raw === "number" || typeof raw === "boolean")) return String(raw);
  return raw;
}

/** Validates a value for a key (after coercion); the parsed value or the zod reason. */
export function validateSetting(key: SettingKey, raw: unknown): { ok: true; value: unknown } | { ok: false; reason: string } {
  const parsed = SETTINGS[key].schema.safeParse(coerceSettingValue(key, raw));
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, reason: parsed.error.issues[0]?.message ?? "Invalid value" };
}

/** Stores several already validated values and deletes others, in one D1 batch. */
export async function writeSettings(db: D1Database, puts: [SettingKey, unknown][], deletes: SettingKey[]): Promise<void> {
  const stmts = [
    ...puts.map(([key, value]) =>
      db
        .prepare(`INSERT INTO system_settings (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`)
        .bind(key, JSON.stringify(value)),
    ),
    ...deletes.map((key) => db.prepare(`DELETE FROM system_settings WHERE key = ?`).bind(key)),
  ];
  if (stmts.length > 0) await db.batch(stmts);
}
