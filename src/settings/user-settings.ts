/**
 * User settings: per-user preferences (UI locale, style, …) in D1 `user_settings`, validated per key.
 * A key a user has not set falls back to the system setting of the same name (DHIS2's
 * `useFallback=true`), then to the key's own default. `keyUiLanguageTag` is derived from the UI
 * locale (`pt_BR` → `pt-BR`) and cannot be set.
 */
import { z } from "zod";
import { LOCALE_PATTERN, loadSettings, type Settings } from "./settings";

type Fallback = keyof Settings;

interface UserSettingDef {
  schema: z.ZodType;
  default: string | boolean;
  /** System setting used when the user has no value of their own. */
  fallback?: Fallback;
}

export const USER_SETTINGS = {
  keyUiLocale: { schema: z.string().regex(LOCALE_PATTERN, "Not a valid locale"), default: "en", fallback: "keyUiLocale" },
  keyDbLocale: { schema: z.string().regex(LOCALE_PATTERN, "Not a valid locale"), default: "en", fallback: "keyDbLocale" },
  keyStyle: { schema: z.string().max(255), default: "light_blue/light_blue.css", fallback: "keyStyle" },
  keyAnalysisDisplayProperty: {
    schema: z.string().transform((v, ctx) => {
      const t = v.trim().toLowerCase();
      if (t === "name") return "name";
      if (t === "shortname") return "shortName";
      ctx.addIssue({ code: "custom", message: "Valid values are: [name, shortName]" });
      return z.NEVER;
    }),
    default: "name",
    fallback: "keyAnalysisDisplayProperty",
  },
  keyMessageEmailNotification: { schema: z.boolean(), default: false, fallback: "keyMessageEmailNotification" },
  keyMessageSmsNotification: { schema: z.boolean(), default: false, fallback: "keyMessageSmsNotification" },
  keyTrackerDashboardLayout: { schema: z.string().max(100_000), default: "" },
} satisfies Record<string, UserSettingDef>;

export type UserSettingKey = keyof typeof USER_SETTINGS;
/** Read-only key computed from `keyUiLocale`. */
export const DERIVED_USER_SETTING = "keyUiLanguageTag";
export type UserSettingValues = Record<string, string | boolean>;

export function isUserSettingKey(key: string): key is UserSettingKey {
  return Object.hasOwn(USER_SETTINGS, key);
}

/** `pt_BR` → `pt-BR` (the BCP 47 form the app platform's i18n and moment expect). */
export function languageTag(locale: string): string {
  return locale.replace(/_/g, "-");
}

/** Converts text (`"true"`) or JSON values into the key's type, then validates. */
export function validateUserSetting(
  key: UserSettingKey,
  raw: unknown,
): { ok: true; value: string | boolean } | { ok: false; reason: string } {
  const def = USER_SETTINGS[key];
  let value = raw;
  if (typeof def.default === "boolean" && typeof raw === "string") {
    const t = raw.trim().toLowerCase();
    if (t === "true") value = true;
    else if (t === "false") value = false;
  }
  if (typeof def.default === "string" && (typeof raw === "number" || typeof raw === "boolean")) value = String(raw);
  const parsed = def.schema.safeParse(value);
  if (!parsed.success) return { ok: false, reason: parsed.error.issues[0]?.message ?? "Invalid value" };
  return { ok: true, value: parsed.data as string | boolean };
}

/** The values a user stored (invalid stored rows are skipped). */
export async function storedUserSettings(db: D1Database, userUid: string): Promise<UserSettingValues> {
  const { results } = await db
    .prepare(`SELECT key, value FROM user_settings WHERE user_uid = ?`)
    .bind(userUid)
    .all<{ key: string; value: string }>();
  const out: UserSettingValues = {};
  for (const row of results) {
    if (!isUserSettingKey(row.key)) continue;
    try {
      const v = validateUserSetting(row.key, JSON.parse(row.value));
      if (v.ok) out[row.key] = v.value;
    } catch {
      // Unreadable value: ignored, the fallback applies.
    }
  }
  return out;
}

/**
 * A user's settings as `GET /api/userSettings` answers them. With `useFallback` (the default) every
 * key has a value: the user's, else the system setting's, else the key's default; without it only
 * the keys the user set. `keyUiLanguageTag` follows the effective UI locale.
 */
export async function loadUserSettings(db: D1Database, userUid: string, useFallback = true): Promise<UserSettingValues> {
  const stored = await storedUserSettings(db, userUid);
  if (!useFallback) {
    const own: UserSettingValues = { ...stored };
    if (typeof stored.keyUiLocale === "string") own[DERIVED_USER_SETTING] = languageTag(stored.keyUiLocale);
    return own;
  }
  const system = await loadSettings(db);
  const out: UserSettingValues = {};
  for (const [key, def] of Object.entries(USER_SETTINGS) as [UserSettingKey, UserSettingDef][]) {
    const fromSystem = def.fallback ? (system[def.fallback] as string | boolean) : undefined;
    out[key] = stored[key] ?? fromSystem ?? def.default;
  }
  out[DERIVED_USER_SETTING] = languageTag(String(out.keyUiLocale));
  return out;
}

export async function putUserSetting(db: D1Database, userUid: string, key: UserSettingKey, value: string | boolean): Promise<void> {
  await db
    .prepare(
      `INSERT INTO user_settings (user_uid, key, value) VALUES (?, ?, ?)
       ON CONFLICT(user_uid, key) DO UPDATE SET value = excluded.value`,
    )
    .bind(userUid, key, JSON.stringify(value))
    .run();
}

export async function deleteUserSetting(db: D1Database, userUid: string, key: UserSettingKey): Promise<void> {
  await db.prepare(`DELETE FROM user_settings WHERE user_uid = ? AND key = ?`).bind(userUid, key).run();
}
