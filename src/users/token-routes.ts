/**
 * DHIS2 personal access tokens: `POST /api/apiToken` (the secret is returned once, in
 * `response.key`), `GET /api/apiToken[/{id}]` (the caller's tokens; never the key or its hash) and
 * `DELETE /api/apiToken/{id}` (owner or superuser; anyone else gets 404, as if it did not exist).
 *
 * `expire` is epoch milliseconds (default: 30 days from now) and must lie in the future.
 * `attributes` are DHIS2's IP / method / referrer allow-lists, enforced at every authentication with
 * the token (token-attributes.ts); invalid ones are refused with 409.
 *
 * No credential is broader than its parent: a token created while authenticated with a token keeps
 * that token's restrictions (it may only narrow them), never expires after it (the default expiry is
 * shortened, a later `expire` is a 409) and is revoked with it. The system setting
 * `apiTokenMaxLifetimeDays` (0 = none) caps every token's lifetime the same way, and also stops older
 * tokens once they reach that age.
 */
import { WebMessageSchema } from "../http/openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { currentUser } from "./auth";
import { readJsonObject } from "../http/body";
import { clock } from "../http/clock";
import { applyFields, parseFields } from "../http/fields";
import { coerceNumber } from "../http/json-input";
import { uidParam } from "../http/params";
import { apiUrl, jsonResponse } from "../http/respond";
import type { AppEnv } from "../http/router";
import { ApiError, echo, type ErrorReport, importReportConflict, notFoundObject, objectReport, webMessage } from "../http/webmessage";
import { ERRORS, fieldsQuery, SECURITY } from "./openapi";
import { MAX_INSTANT } from "./manage";
import { inheritAttributes, parseTokenAttributes, readTokenAttributes, type TokenAttribute } from "./token-attributes";
import { createToken, deleteToken, findTokenByUid, listTokens, type TokenRow, tokenExpiry } from "./tokens";
import { getSetting } from "../settings/settings";
import { tokenJson } from "./views";
import { serverTimeZone } from "../http/dates";

export const TOKEN_KLASS = "org.hisp.dhis.security.apikey.ApiToken";
export const DEFAULT_TOKEN_LIFETIME_MS = 30 * 24 * 3600 * 1000;
const DAY_MS = 24 * 3600 * 1000;

const tz = (c: Context<AppEnv>) => serverTimeZone(c.env);

function tokenError(message: string, property: string): ErrorReport {
  return { message, mainKlass: TOKEN_KLASS, errorProperty: property, errorProperties: [property], errorCode: "E4027", args: [property] };
}

/** What bounds a new token: the token it is created with, if any, and the lifetime cap (0 = none). */
export interface TokenLimits {
  parent: Pick<TokenRow, "expire" | "created" | "attributes"> | null;
  maxLifetimeDays: number;
}

/** The latest expiry the limits allow, and why (null: no limit). */
function latestExpiry(limits: TokenLimits, now: number): { at: number; why: string } | null {
  let latest: { at: number; why: string } | null = null;
  if (limits.maxLifetimeDays > 0) {
    latest = { at: now + limits.maxLifetimeDays * DAY_MS, why: `the longest token lifetime (${limits.maxLifetimeDays} days)` };
  }
  const parentEnd = limits.parent ? tokenExpiry(limits.parent, limits.maxLifetimeDays) : Number.POSITIVE_INFINITY;
  if (parentEnd !== Number.POSITIVE_INFINITY && (latest === null || parentEnd < latest.at)) {
    latest = { at: parentEnd, why: "the expiry of the token used to create this one" };
  }
  return latest;
}

/**
 * Reads a token creation body; returns the errors (empty when valid). A token created with a token
 * never outlives it and keeps its restrictions; no token outlives the lifetime cap.
 */
export function readTokenInput(
  body: Record<string, unknown>,
  now: number,
  limits: TokenLimits = { parent: null, maxLifetimeDays: 0 },
): { expire: number; name: string | null; attributes: TokenAttribute[]; errors: ErrorReport[] } {
  const errors: ErrorReport[] = [];
  const latest = latestExpiry(limits, now);
  let expire = Math.min(now + DEFAULT_TOKEN_LIFETIME_MS, latest?.at ?? Number.POSITIVE_INFINITY);
  const ev = coerceNumber(body.expire);
  if (ev !== undefined && ev !== null) {
    if (typeof ev !== "number" || !Number.isSafeInteger(ev) || ev > MAX_INSTANT) {
      errors.push(tokenError(`Value \`${echo(body.expire)}\` is not valid for property \`expire\` (epoch milliseconds).`, "expire"));
    } else if (ev <= now) {
      errors.push(tokenError("Property `expire` must be a time in the future (epoch milliseconds).", "expire"));
    } else if (latest && ev > latest.at) {
      errors.push(tokenError(`Property \`expire\` must not be later than ${latest.at} (epoch milliseconds): ${latest.why}.`, "expire"));
    } else expire = ev;
  }
  let name: string | null = null;
  if (typeof body.name === "string" && body.name.trim() !== "") {
    if (body.name.length > 255) errors.push(tokenError("Maximum length of property `name` is 255.", "name"));
    else name = body.name.trim();
  }
  const read = readTokenAttributes(body.attributes);
  const { attributes, problems } = limits.parent
    ? read.problems.length
      ? read
      : inheritAttributes(parseTokenAttributes(limits.parent.attributes), read.attributes)
    : read;
  for (const p of problems) errors.push(tokenError(p, "attributes"));
  return { expire, name, attributes, errors };
}

const TokenSchema = z
  .object({ id: z.string(), type: z.string(), created: z.string(), expire: z.number().optional() })
  .passthrough()
  .openapi("ApiToken");

const createTokenRoute = createRoute({
  method: "post",
  path: "/apiToken",
  summary: "Create a personal access token for the caller; the key is in `response.key`, shown once",
  description: "Body: `{expire?: <epoch ms>, name?, attributes?: []}`. Authenticate later with `Authorization: ApiToken <key>`.",
  tags: ["users"],
  security: SECURITY,
  responses: {
    201: { description: "Created (ApiTokenCreationResponse)", content: { "application/json": { schema: WebMessageSchema } } },
    409: { description: "Invalid expiry or attributes (ObjectReport)" },
    ...ERRORS,
  },
});

const listTokenRoute = createRoute({
  method: "get",
  path: "/apiToken",
  summary: "The caller's tokens (never the key)",
  tags: ["users"],
  security: SECURITY,
  request: { query: z.object({ fields: fieldsQuery() }) },
  responses: {
    200: {
      description: "Tokens",
      content: { "application/json": { schema: z.object({ pager: z.unknown(), apiToken: z.array(TokenSchema) }) } },
    },
    ...ERRORS,
  },
});

const getTokenRoute = createRoute({
  method: "get",
  path: "/apiToken/{id}",
  summary: "One of the caller's tokens (a superuser may read any)",
  tags: ["users"],
  security: SECURITY,
  request: { params: z.object({ id: uidParam() }), query: z.object({ fields: fieldsQuery() }) },
  responses: {
    200: { description: "Token", content: { "application/json": { schema: TokenSchema } } },
    404: { description: "No such token" },
    ...ERRORS,
  },
});

const deleteTokenRoute = createRoute({
  method: "delete",
  path: "/apiToken/{id}",
  summary: "Revoke a token (owner or superuser)",
  tags: ["users"],
  security: SECURITY,
  request: { params: z.object({ id: uidParam() }) },
  responses: {
    200: { description: "Deleted (ObjectReport)", content: { "application/json": { schema: WebMessageSchema } } },
    404: { description: "No such token (or not yours)" },
    ...ERRORS,
  },
});

export function registerTokenRoutes(router: OpenAPIHono<AppEnv>): void {
  router.openapi(createTokenRoute, async (c) => {
    const user = currentUser(c);
    const body = await readJsonObject(c, false);
    const now = clock.now();
    const credential = c.get("credential");
    const parent = credential?.scheme === "token" ? await findTokenByUid(c.env.DB, credential.id) : null;
    // The token used was revoked meanwhile: nothing to inherit from, so nothing may be created.
    if (credential?.scheme === "token" && !parent) throw new ApiError(401, "Unauthorized");
    const limits = { parent, maxLifetimeDays: await getSetting(c.env.DB, "apiTokenMaxLifetimeDays") };
    const { expire, name, attributes, errors } = readTokenInput(body, now, limits);
    if (errors.length) throw importReportConflict(TOKEN_KLASS, undefined, errors);
    const { uid, key } = await createToken(c.env.DB, user.uid, expire, name, now, attributes, parent?.uid ?? null);
    const msg = webMessage(201, {
      response: { responseType: "ApiTokenCreationResponse", uid, klass: TOKEN_KLASS, errorReports: [], key },
    });
    return jsonResponse(msg, 201, { Location: apiUrl(c, `/apiToken/${uid}`), "Cache-Control": "no-store" });
  });

  router.openapi(listTokenRoute, async (c) => {
    const user = currentUser(c);
    const { fields } = c.req.valid("query");
    const rows = await listTokens(c.env.DB, user.uid);
    const sel = fields === undefined ? undefined : parseFields(fields);
    const apiToken = rows.map((r) => (sel ? applyFields(tokenJson(r, tz(c)), sel) : tokenJson(r, tz(c))));
    return jsonResponse({ pager: { page: 1, pageCount: 1, total: rows.length, pageSize: Math.max(rows.length, 1) }, apiToken });
  });

  router.openapi(getTokenRoute, async (c) => {
    const user = currentUser(c);
    const { id } = c.req.valid("param");
    const row = await findTokenByUid(c.env.DB, id);
    if (!row || (row.owner_uid !== user.uid && !user.isSuper)) throw notFoundObject("ApiToken", id);
    const { fields } = c.req.valid("query");
    const body = tokenJson(row, tz(c));
    return jsonResponse(fields === undefined ? body : applyFields(body, parseFields(fields)));
  });

  router.openapi(deleteTokenRoute, async (c) => {
    const user = currentUser(c);
    const { id } = c.req.valid("param");
    const row = await findTokenByUid(c.env.DB, id);
    if (!row || (row.owner_uid !== user.uid && !user.isSuper)) throw notFoundObject("ApiToken", id);
    await deleteToken(c.env.DB, id);
    return jsonResponse(webMessage(200, { response: objectReport(TOKEN_KLASS, id) }));
  });
}
