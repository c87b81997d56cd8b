/**
 * `/api/users` for superusers (authority `ALL`): list (DHIS2's `filter`, `order`, `fields`, `query` and
 * paging), read, create, full replace, delete.
 * Writes answer DHIS2 ObjectReport WebMessages (201 + Location on create); validation problems are
 * a 409 ObjectReport listing every error report. The last enabled superuser cannot be removed,
 * disabled, expired or stripped of `ALL` (409), and nobody deletes their own account, so the service
 * never locks its administrators out.
 */
import { WebMessageSchema } from "../http/openapi";
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { currentUser, requireAuthority } from "./auth";
import { readJsonObject } from "../http/body";
import { clock } from "../http/clock";
import { applyFields, parseFields } from "../http/fields";
import { FILTER_OPERATORS_DOC, queryList, repeatableQuery, rootJunctionQuery, uidParam } from "../http/params";
import { apiUrl, jsonResponse } from "../http/respond";
import type { AppEnv } from "../http/router";
import { generateUid, isValidUid } from "../http/uid";
import {
  type ApiError,
  badRequest,
  conflict,
  echo,
  importReportConflict,
  notFoundObject,
  objectReport,
  webMessage,
} from "../http/webmessage";
import {
  deleteUser,
  duplicateUsernameError,
  findUidByUsername,
  insertUser,
  listUsers,
  missingRoles,
  otherEnabledSuperusers,
  readUserInput,
  replaceUser,
  roleReferenceError,
  USER_KLASS,
  type UserInput,
} from "./manage";
import { ERRORS, fieldsQuery, pagingQuery, SECURITY } from "./openapi";

/** Every user route is for superusers only: 403 for anyone else. */
const SUPERUSER_ERRORS = { ...ERRORS, 403: { description: "Not a superuser (WebMessage)" } } as const;
import { effectiveAuthorities, findUserByUid, type UserRow } from "./store";
import { userJson } from "./views";
import { serverTimeZone } from "../http/dates";

const LIST_DEFAULT_FIELDS = "id,username,displayName";
const MAX_PAGE_SIZE = 1000;

const tz = (c: Context<AppEnv>) => serverTimeZone(c.env);

function requireSuperuser(c: Context<AppEnv>, action: "read" | "create" | "update" | "delete"): void {
  const message =
    action === "read"
      ? "You don't have the proper permissions to read objects of this type."
      : `You don't have the proper permissions to ${action} this object.`;
  requireAuthority(currentUser(c), [], message);
}

const UserSchema = z
  .object({ id: z.string(), username: z.string(), firstName: z.string(), surname: z.string(), disabled: z.boolean() })
  .passthrough()
  .openapi("User");

const BODY_DOC =
  "Body: `{username, password, firstName, surname, email?, disabled?, userRoles?: [{id}], authorities?: [..], accountExpiry?}` " +
  "(DHIS2's nested `userCredentials` is accepted too). Password policy: 8-256 characters, an upper-case letter, a digit and a special character, not containing the username.";

const listRoute = createRoute({
  method: "get",
  path: "/users",
  summary: "List users (superusers only)",
  tags: ["users"],
  security: SECURITY,
  request: {
    query: z.object({
      fields: fieldsQuery(),
      filter: repeatableQuery(
        `${FILTER_OPERATORS_DOC} Properties: id, username, firstName, surname, name, email, disabled, created, lastUpdated, lastLogin, passwordLastUpdated, accountExpiry.`,
      ),
      rootJunction: rootJunctionQuery(),
      order: repeatableQuery("`property[:asc|desc|iasc|idesc]`, repeatable or comma-separated. Default `username`."),
      query: z.string().max(255).optional(),
      ...pagingQuery(),
    }),
  },
  responses: {
    200: {
      description: "Users",
      content: { "application/json": { schema: z.object({ pager: z.unknown().optional(), users: z.array(UserSchema) }) } },
    },
    ...SUPERUSER_ERRORS,
  },
});

const getRoute = createRoute({
  method: "get",
  path: "/users/{id}",
  summary: "One user (superusers only)",
  tags: ["users"],
  security: SECURITY,
  request: { params: z.object({ id: uidParam() }), query: z.object({ fields: fieldsQuery() }) },
  responses: {
    200: { description: "User", content: { "application/json": { schema: UserSchema } } },
    ...SUPERUSER_ERRORS,
    404: { description: "No such user" },
  },
});

const createUserRoute = createRoute({
  method: "post",
  path: "/users",
  summary: "Create a user (superusers only)",
  description: BODY_DOC,
  tags: ["users"],
  security: SECURITY,
  responses: {
    201: {
      description: "Created: ObjectReport with the new uid, Location header",
      content: { "application/json": { schema: WebMessageSchema } },
    },
    409: { description: "Validation errors (ObjectReport)" },
    ...SUPERUSER_ERRORS,
  },
});

const replaceRoute = createRoute({
  method: "put",
  path: "/users/{id}",
  summary: "Replace a user (superusers only); a password is optional and changes it",
  description: BODY_DOC,
  tags: ["users"],
  security: SECURITY,
  request: { params: z.object({ id: uidParam() }) },
  responses: {
    200: { description: "Updated (ObjectReport)", content: { "application/json": { schema: WebMessageSchema } } },
    409: { description: "Validation errors (ObjectReport)" },
    404: { description: "No such user" },
    ...SUPERUSER_ERRORS,
  },
});

const deleteRoute = createRoute({
  method: "delete",
  path: "/users/{id}",
  summary: "Delete a user and their API tokens (superusers only)",
  tags: ["users"],
  security: SECURITY,
  request: { params: z.object({ id: uidParam() }) },
  responses: {
    200: { description: "Deleted (ObjectReport)", content: { "application/json": { schema: WebMessageSchema } } },
    404: { description: "No such user" },
    409: { description: "The last enabled superuser cannot be deleted" },
    ...SUPERUSER_ERRORS,
  },
});

async function checkReferences(db: D1Database, uid: string, input: UserInput, existingUid: string | undefined): Promise<void> {
  const errors = [];
  const holder = await findUidByUsername(db, input.username);
  if (holder && holder !== existingUid) errors.push(duplicateUsernameError(input.username, uid, holder));
  for (const role of await missingRoles(db, input.roles)) errors.push(roleReferenceError(role, uid, input.username));
  if (errors.length) throw importReportConflict(USER_KLASS, uid, errors);
}

function wouldBeSuper(input: UserInput, roleAuthorities: Map<string, string[]>, now: number): boolean {
  if (input.disabled || (input.accountExpiry !== null && input.accountExpiry <= now)) return false;
  if (input.authorities.includes("ALL")) return true;
  return input.roles.some((r) => roleAuthorities.get(r)?.includes("ALL"));
}

async function roleAuthorityMap(db: D1Database, roles: string[]): Promise<Map<string, string[]>> {
  const map = new Map<string, string[]>();
  if (roles.length === 0) return map;
  const { results } = await db
    .prepare(`SELECT uid, authorities FROM user_roles WHERE uid IN (${roles.map(() => "?").join(",")})`)
    .bind(...roles)
    .all<{ uid: string; authorities: string }>();
  for (const r of results) {
    try {
      const v = JSON.parse(r.authorities);
      map.set(r.uid, Array.isArray(v) ? v : []);
    } catch {
      map.set(r.uid, []);
    }
  }
  return map;
}

/** A superuser who can sign in: enabled, not expired, holding ALL. */
const isEnabledSuper = (row: UserRow, now: number) =>
  row.disabled === 0 && (row.account_expiry === null || row.account_expiry > now) && effectiveAuthorities(row).includes("ALL");

function lastSuperuserConflict(uid: string, username: string, action: string): ApiError {
  return importReportConflict(USER_KLASS, uid, [
    {
      message: `Cannot ${action} ${username}: at least one enabled user with authority ALL must remain.`,
      mainKlass: USER_KLASS,
      mainId: uid,
      errorCode: "E4030",
      errorProperties: [],
      args: [uid],
    },
  ]);
}

function objectMessage(status: 200 | 201, uid: string) {
  return webMessage(status, { response: objectReport(USER_KLASS, uid) });
}

function pageOf(page: number | undefined, pageSize: number | undefined) {
  const p = page ?? 1;
  const size = pageSize ?? 50;
  if (p < 1) throw badRequest("Page must be at least 1.");
  if (size < 1 || size > MAX_PAGE_SIZE) throw badRequest(`Page size must be between 1 and ${MAX_PAGE_SIZE}.`);
  return { page: p, pageSize: size };
}

export function registerUserRoutes(router: OpenAPIHono<AppEnv>): void {
  router.openapi(listRoute, async (c) => {
    requireSuperuser(c, "read");
    const q = c.req.valid("query");
    const now = clock.now();
    const { page, pageSize } = pageOf(q.page, q.pageSize);
    const paging = q.paging !== false;
    const { rows, total } = await listUsers(c.env.DB, {
      filters: queryList(q.filter),
      rootJunction: q.rootJunction,
      query: q.query?.trim() || undefined,
      orders: queryList(q.order),
      timeZone: tz(c),
      limit: paging ? pageSize : undefined,
      offset: paging ? (page - 1) * pageSize : 0,
    });
    const sel = parseFields(q.fields ?? LIST_DEFAULT_FIELDS);
    const users = rows.map((r) => applyFields(userJson(r, tz(c), now), sel));
    const body = paging ? { pager: { page, pageCount: Math.max(1, Math.ceil(total / pageSize)), total, pageSize }, users } : { users };
    return jsonResponse(body);
  });

  router.openapi(getRoute, async (c) => {
    requireSuperuser(c, "read");
    const { id } = c.req.valid("param");
    const row = await findUserByUid(c.env.DB, id);
    if (!row) throw notFoundObject("User", id);
    const body = userJson(row, tz(c), clock.now());
    const { fields } = c.req.valid("query");
    return jsonResponse(fields === undefined ? body : applyFields(body, parseFields(fields)));
  });

  router.openapi(createUserRoute, async (c) => {
    requireSuperuser(c, "create");
    const raw = await readJsonObject(c);
    const now = clock.now();
    let uid = generateUid();
    if (raw.id !== undefined && raw.id !== null && raw.id !== "") {
      if (!isValidUid(raw.id)) throw badRequest(`Invalid UID \`${echo(String(raw.id))}\` for property \`id\`.`, "E4014");
      if (await findUserByUid(c.env.DB, raw.id)) {
        throw importReportConflict(USER_KLASS, raw.id, [
          {
            message: `Found matching object for reference, but import mode is CREATE. Identifier was ${raw.id}, and object was User.`,
            mainKlass: USER_KLASS,
            mainId: raw.id,
            errorCode: "E5000",
            errorProperties: [],
            args: [raw.id],
          },
        ]);
      }
      uid = raw.id;
    }
    const { input, errors } = readUserInput(raw, { timeZone: tz(c), mainId: uid });
    if (!input) throw importReportConflict(USER_KLASS, uid, errors);
    await checkReferences(c.env.DB, uid, input, undefined);
    try {
      await insertUser(c.env.DB, uid, input, now);
    } catch (e) {
      if (/UNIQUE/i.test(String((e as Error).message))) {
        const holder = (await findUidByUsername(c.env.DB, input.username)) ?? "";
        throw importReportConflict(USER_KLASS, uid, [duplicateUsernameError(input.username, uid, holder)]);
      }
      throw e;
    }
    return jsonResponse(objectMessage(201, uid), 201, { Location: apiUrl(c, `/users/${uid}`) });
  });

  router.openapi(replaceRoute, async (c) => {
    requireSuperuser(c, "update");
    const { id } = c.req.valid("param");
    const existing = await findUserByUid(c.env.DB, id);
    if (!existing) throw notFoundObject("User", id);
    const raw = await readJsonObject(c);
    const { input, errors } = readUserInput(raw, { existing, timeZone: tz(c), mainId: id });
    if (!input) throw importReportConflict(USER_KLASS, id, errors);
    await checkReferences(c.env.DB, id, input, id);
    const now = clock.now();
    if (isEnabledSuper(existing, now) && !wouldBeSuper(input, await roleAuthorityMap(c.env.DB, input.roles), now)) {
      if ((await otherEnabledSuperusers(c.env.DB, id, now)) === 0)
        throw lastSuperuserConflict(id, existing.username, "disable, expire or demote");
    }
    await replaceUser(c.env.DB, id, input, now);
    return jsonResponse(objectMessage(200, id));
  });

  router.openapi(deleteRoute, async (c) => {
    requireSuperuser(c, "delete");
    const { id } = c.req.valid("param");
    const existing = await findUserByUid(c.env.DB, id);
    if (!existing) throw notFoundObject("User", id);
    const now = clock.now();
    if (isEnabledSuper(existing, now) && (await otherEnabledSuperusers(c.env.DB, id, now)) === 0) {
      throw lastSuperuserConflict(id, existing.username, "delete");
    }
    if (id === currentUser(c).uid) throw conflict("You cannot delete your own account; another superuser can.");
    await deleteUser(c.env.DB, id);
    return jsonResponse(objectMessage(200, id));
  });
}
