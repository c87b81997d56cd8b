/**
 * `/api/systemSettings` and `/api/userSettings`, as DHIS2 2.42 answers them.
 *
 * - Unknown keys are 404 `Setting does not exist: <key>` (DHIS2's `checkKeyExists`, E1005) for GET,
 *   POST and DELETE alike; bad values are 400 `Not a valid value for setting <key>: <value>` (DHIS2's
 *   BadRequestException), the zod reason in `devMessage`.
 * - A setting value is sent as `?value=`, as a `text/plain` body (what `@dhis2/app-runtime` sends), or
 *   as a JSON body (`12`, `true`, `"text"`). Posting an empty system setting value resets it to its
 *   default, as DHIS2 does; an empty user setting value is 409 `You need to specify a new value`.
 * - Writing system settings needs `ALL` or `F_SYSTEM_SETTING`; every user may change their own
 *   user settings, a superuser anyone's (`?user=<username>` or `?userId=<uid>`).
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { currentUser, requireAuthority } from "../users/auth";
import { parseJsonText, readBodyText } from "../http/body";
import { requestFormat } from "../http/path";
import { emptyResponse, jsonResponse, NO_STORE } from "../http/respond";
import { type AppEnv, createRouter, SECURED } from "../http/router";
import { ApiError, badRequest, conflict, echo, forbidden, notFound, notFoundObject, webMessage } from "../http/webmessage";
import { findUserByUid, findUserByUsername } from "../users/store";
import { isSettingKey, loadSettings, type SettingKey, SETTINGS, validateSetting, writeSettings } from "./settings";
import {
  DERIVED_USER_SETTING,
  deleteUserSetting,
  isUserSettingKey,
  loadUserSettings,
  putUserSetting,
  type UserSettingKey,
  validateUserSetting,
} from "./user-settings";

export const settingsRoutes = createRouter();

const SECURITY = SECURED;
const SYSTEM_SETTING_AUTHORITY = "F_SYSTEM_SETTING";
const PRIVATE_NO_CACHE = "no-cache, private";

const keyPath = z.object({ key: z.string().openapi({ param: { name: "key", in: "path" }, example: "applicationTitle" }) });
const keyList = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .openapi({ type: "string", description: "Only these keys (repeatable)" });
const valueQuery = z.object({ value: z.string().optional().openapi({ description: "The new value (instead of a body)" }) });
const userQuery = {
  user: z.string().optional().openapi({ description: "Username of another user (superusers only)" }),
  userId: z.string().optional().openapi({ description: "UID of another user (superusers only)" }),
};
const fallbackParam = z
  .enum(["true", "false", "TRUE", "FALSE", "True", "False"])
  .optional()
  .openapi({ type: "boolean", default: true, description: "Fill unset keys from the system settings" });

// Plain OpenAPI schemas (not zod) for bodies and responses: documented, but not validated by the
// router, because these handlers read the raw body themselves (text or JSON).
const OBJECT = { type: "object" as const, additionalProperties: true };
const wm = (description: string) => ({ description: `${description} (WebMessage)` });
const textBody = {
  content: {
    "text/plain": { schema: { type: "string" as const } },
    "application/json": { schema: { description: "The value as JSON (string, number or boolean)" } },
  },
  required: false,
};

const settingNotFound = (key: string) => notFound(`Setting does not exist: ${echo(key)}`);

function okMessage(message: string): Response {
  return jsonResponse(webMessage(200, { message }));
}

function requireSettingWriter(c: Context<AppEnv>) {
  const user = currentUser(c);
  requireAuthority(user, [SYSTEM_SETTING_AUTHORITY], `Access is denied, requires one Authority from [${SYSTEM_SETTING_AUTHORITY}]`);
  return user;
}

function isJsonContent(c: Context): boolean {
  const type = (c.req.header("Content-Type") ?? "").split(";")[0].trim().toLowerCase();
  return type === "application/json" || type.endsWith("+json");
}

/**
 * The value of a setting write: `?value=` wins, then the body (JSON when the content type says so,
 * else text). `undefined` when neither carries anything.
 */
async function readSettingValue(c: Context<AppEnv>): Promise<unknown> {
  const fromQuery = c.req.query("value");
  if (fromQuery !== undefined) return fromQuery;
  const text = await readBodyText(c);
  if (text === "") return undefined;
  if (!isJsonContent(c)) return text;
  return parseJsonText(text);
}

/** DHIS2 shows values in messages as Java strings: text raw, everything else as JSON. */
const asText = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v));

function invalidValue(key: string, value: unknown, reason: string): ApiError {
  return new ApiError(400, `Not a valid value for setting ${key}: ${echo(asText(value))}`, { errorCode: "E1003", devMessage: reason });
}

function wantsText(c: Context): boolean {
  if (requestFormat(c.req.raw) === "json") return false;
  const accept = (c.req.header("Accept") ?? "").toLowerCase();
  return accept.includes("text/plain") && !accept.includes("application/json");
}

function keysOf(c: Context): string[] {
  return (
    c.req
      .queries("key")
      ?.flatMap((k) => k.split(","))
      .filter(Boolean) ?? []
  );
}

// ---------------------------------------------------------------- system settings

const listSystemSettings = createRoute({
  method: "get",
  path: "/systemSettings",
  summary: 'All system settings: stored values over defaults, as `{"<key>": value}`',
  tags: ["settings"],
  security: SECURITY,
  request: { query: z.object({ key: keyList }) },
  responses: {
    200: { description: "Every setting", content: { "application/json": { schema: OBJECT } } },
    401: wm("Missing or bad credentials"),
  },
});

settingsRoutes.openapi(listSystemSettings, async (c) => {
  currentUser(c);
  const all = (await loadSettings(c.env.DB)) as Record<string, unknown>;
  const wanted = keysOf(c);
  const body: Record<string, unknown> = {};
  for (const key of wanted.length > 0 ? wanted : Object.keys(all)) if (isSettingKey(key)) body[key] = all[key];
  return jsonResponse(body, 200, { "Cache-Control": NO_STORE });
});

const getSystemSetting = createRoute({
  method: "get",
  path: "/systemSettings/{key}",
  summary: 'One system setting: `{"<key>": value}`, or the bare value with `Accept: text/plain`',
  tags: ["settings"],
  security: SECURITY,
  request: { params: keyPath },
  responses: {
    200: {
      description: "The value",
      content: { "application/json": { schema: OBJECT }, "text/plain": { schema: { type: "string" as const } } },
    },
    404: wm("No such setting"),
  },
});

settingsRoutes.openapi(getSystemSetting, async (c) => {
  currentUser(c);
  const key = c.req.valid("param").key;
  if (!isSettingKey(key)) throw settingNotFound(key);
  const value = (await loadSettings(c.env.DB))[key];
  if (wantsText(c)) {
    return new Response(asText(value), { status: 200, headers: { "Content-Type": "text/plain;charset=UTF-8", "Cache-Control": NO_STORE } });
  }
  return jsonResponse({ [key]: value }, 200, { "Cache-Control": NO_STORE });
});

const postSystemSetting = createRoute({
  method: "post",
  path: "/systemSettings/{key}",
  summary: "Set one system setting (`?value=`, text/plain or JSON body); an empty value resets it to its default",
  tags: ["settings"],
  security: SECURITY,
  request: { params: keyPath, query: valueQuery, body: textBody },
  responses: {
    200: wm("Saved (WebMessage)"),
    400: wm("Not a valid value for the setting"),
    403: wm("Needs ALL or F_SYSTEM_SETTING"),
    404: wm("No such setting"),
  },
});

settingsRoutes.openapi(postSystemSetting, async (c) => {
  requireSettingWriter(c);
  const key = c.req.valid("param").key;
  if (!isSettingKey(key)) throw settingNotFound(key);
  const raw = await readSettingValue(c);
  if (raw === undefined || raw === null || raw === "") {
    await writeSettings(c.env.DB, [], [key]);
    return okMessage(`System setting '${key}' set to value ''.`);
  }
  const checked = validateSetting(key, raw);
  if (!checked.ok) throw invalidValue(key, raw, checked.reason);
  await writeSettings(c.env.DB, [[key, checked.value]], []);
  return okMessage(`System setting '${key}' set to value '${asText(checked.value)}'.`);
});

const postSystemSettings = createRoute({
  method: "post",
  path: "/systemSettings",
  summary: 'Set several system settings from a JSON object `{"<key>": value}` (all or nothing)',
  tags: ["settings"],
  security: SECURITY,
  request: { body: { content: { "application/json": { schema: OBJECT } }, required: true } },
  responses: {
    200: wm("Imported"),
    400: wm("A value is not valid"),
    403: wm("Needs ALL or F_SYSTEM_SETTING"),
    404: wm("A key does not exist"),
  },
});

settingsRoutes.openapi(postSystemSettings, async (c) => {
  requireSettingWriter(c);
  const body = parseJsonText(await readBodyText(c));
  if (body === null || typeof body !== "object" || Array.isArray(body)) throw badRequest("Request body must be a JSON object.");
  const entries = Object.entries(body as Record<string, unknown>);
  const unknown = entries.map(([k]) => k).filter((k) => !isSettingKey(k));
  if (unknown.length > 0) throw settingNotFound(unknown.join(","));
  const puts: [SettingKey, unknown][] = [];
  const deletes: SettingKey[] = [];
  for (const [key, raw] of entries as [SettingKey, unknown][]) {
    if (raw === null || raw === "") {
      deletes.push(key);
      continue;
    }
    const checked = validateSetting(key, raw);
    if (!checked.ok) throw invalidValue(key, raw, checked.reason);
    puts.push([key, checked.value]);
  }
  await writeSettings(c.env.DB, puts, deletes);
  return okMessage("System settings imported");
});

const deleteSystemSetting = createRoute({
  method: "delete",
  path: "/systemSettings/{key}",
  summary: "Reset one system setting to its default",
  tags: ["settings"],
  security: SECURITY,
  request: { params: keyPath },
  responses: { 204: { description: "Reset" }, 403: wm("Needs ALL or F_SYSTEM_SETTING"), 404: wm("No such setting") },
});

settingsRoutes.openapi(deleteSystemSetting, async (c) => {
  requireSettingWriter(c);
  const key = c.req.valid("param").key;
  if (!isSettingKey(key)) throw settingNotFound(key);
  await writeSettings(c.env.DB, [], [key]);
  return emptyResponse(204);
});

const deleteSystemSettings = createRoute({
  method: "delete",
  path: "/systemSettings",
  summary: "Reset the system settings named by `?key=` (unknown keys are ignored, as in DHIS2)",
  tags: ["settings"],
  security: SECURITY,
  request: { query: z.object({ key: keyList }) },
  responses: { 204: { description: "Reset" }, 400: wm("No key given"), 403: wm("Needs ALL or F_SYSTEM_SETTING") },
});

settingsRoutes.openapi(deleteSystemSettings, async (c) => {
  requireSettingWriter(c);
  const keys = keysOf(c);
  if (keys.length === 0) throw badRequest("Required request parameter 'key' is not present");
  await writeSettings(c.env.DB, [], keys.filter(isSettingKey));
  return emptyResponse(204);
});

// ---------------------------------------------------------------- user settings

/** The user whose settings a request reads or writes: the caller, or (superusers) `?user=`/`?userId=`. */
async function targetUser(c: Context<AppEnv>): Promise<string> {
  const me = currentUser(c);
  const username = c.req.query("user");
  const userId = c.req.query("userId");
  if (!username && !userId) return me.uid;
  if (username === me.username || userId === me.uid) return me.uid;
  if (!me.isSuper) throw forbidden(`You are not authorized to access user: ${echo(username ?? userId)}`);
  const row = username ? await findUserByUsername(c.env.DB, username) : await findUserByUid(c.env.DB, userId!);
  if (!row) throw username ? conflict(`User with username ${echo(username)} could not be found.`) : notFoundObject("User", echo(userId));
  return row.uid;
}

const useFallback = (c: Context) => (c.req.query("useFallback") ?? "true").trim().toLowerCase() !== "false";

const listUserSettings = createRoute({
  method: "get",
  path: "/userSettings",
  summary: "The caller's user settings (`keyUiLocale`, `keyUiLanguageTag`, `keyDbLocale`, `keyStyle`, …)",
  tags: ["settings"],
  security: SECURITY,
  request: { query: z.object({ useFallback: fallbackParam, ...userQuery }) },
  responses: {
    200: { description: "Settings by key", content: { "application/json": { schema: OBJECT } } },
    403: wm("Another user's settings need superuser rights"),
  },
});

settingsRoutes.openapi(listUserSettings, async (c) => {
  const uid = await targetUser(c);
  return jsonResponse(await loadUserSettings(c.env.DB, uid, useFallback(c)), 200, { "Cache-Control": PRIVATE_NO_CACHE });
});

const getUserSetting = createRoute({
  method: "get",
  path: "/userSettings/{key}",
  summary: "One user setting as plain text (empty when unset and `useFallback=false`)",
  tags: ["settings"],
  security: SECURITY,
  request: { params: keyPath, query: z.object({ useFallback: fallbackParam, ...userQuery }) },
  responses: {
    200: { description: "The value", content: { "text/plain": { schema: { type: "string" as const } } } },
    404: wm("No such setting"),
  },
});

settingsRoutes.openapi(getUserSetting, async (c) => {
  const key = c.req.valid("param").key;
  if (!isUserSettingKey(key) && key !== DERIVED_USER_SETTING) throw settingNotFound(key);
  const uid = await targetUser(c);
  const value = (await loadUserSettings(c.env.DB, uid, useFallback(c)))[key];
  return new Response(value === undefined ? "" : asText(value), {
    status: 200,
    headers: { "Content-Type": "text/plain;charset=UTF-8", "Cache-Control": PRIVATE_NO_CACHE },
  });
});

const postUserSetting = createRoute({
  method: "post",
  path: "/userSettings/{key}",
  summary: "Set one user setting (`?value=`, text/plain or JSON body)",
  tags: ["settings"],
  security: SECURITY,
  request: { params: keyPath, query: valueQuery.extend(userQuery), body: textBody },
  responses: {
    200: wm("User setting saved"),
    400: wm("Not a valid value for the setting"),
    404: wm("No such setting"),
    409: wm("No value given, or a derived setting"),
  },
});

settingsRoutes.openapi(postUserSetting, async (c) => {
  const key = c.req.valid("param").key;
  if (key === DERIVED_USER_SETTING) throw conflict(`Setting ${key} follows keyUiLocale and cannot be set`);
  if (!isUserSettingKey(key)) throw settingNotFound(key);
  const uid = await targetUser(c);
  const raw = await readSettingValue(c);
  if (raw === undefined || raw === null || raw === "") throw conflict("You need to specify a new value");
  const checked = validateUserSetting(key as UserSettingKey, raw);
  if (!checked.ok) throw invalidValue(key, raw, checked.reason);
  await putUserSetting(c.env.DB, uid, key as UserSettingKey, checked.value);
  return okMessage("User setting saved");
});

const deleteUserSettingRoute = createRoute({
  method: "delete",
  path: "/userSettings/{key}",
  summary: "Remove one user setting (the system setting applies again)",
  tags: ["settings"],
  security: SECURITY,
  request: { params: keyPath, query: z.object(userQuery) },
  responses: { 200: { description: "Removed (empty body)" }, 404: wm("No such setting") },
});

settingsRoutes.openapi(deleteUserSettingRoute, async (c) => {
  const key = c.req.valid("param").key;
  if (!isUserSettingKey(key)) throw settingNotFound(key);
  const uid = await targetUser(c);
  await deleteUserSetting(c.env.DB, uid, key);
  return emptyResponse(200);
});

/** Keys of the system settings store, for documentation and tests. */
export const SYSTEM_SETTING_KEYS = Object.keys(SETTINGS) as SettingKey[];
