/**
 * User management for /api/users: reading a DHIS2-style user payload into a validated change set
 * (collecting every problem as an ErrorReport), and the D1 writes. Every write that can affect a
 * login (password, username, disabled flag, deletion) drops the user's cached credentials.
 */
import { echo, type ErrorReport } from "../http/webmessage";
import { parseDate } from "../http/dates";
import { compileOrder, compileWhere, type QueryProperties } from "../http/query";
import { type SqlFragment, textMatch } from "../http/sql-text";
import { isValidUid } from "../http/uid";
import { forgetUser } from "./credential-cache";
import { clearAllFailuresStatements } from "./lockout";
import { hashPassword } from "./password";
import { isValidAuthority, isValidEmail, isValidUsername, passwordViolations, USERNAME_MAX_LENGTH } from "./policy";
import { SELECT_USER, type UserRow } from "./store";

export const USER_KLASS = "org.hisp.dhis.user.User";
export const USER_ROLE_KLASS = "org.hisp.dhis.user.UserRole";
export const MAX_ROLES = 100;
export const MAX_AUTHORITIES = 200;
/** 9999-12-31T23:59:59.999Z: later instants cannot be formatted as DHIS2 dates. */
export const MAX_INSTANT = 253_402_300_799_999;

export interface UserInput {
  username: string;
  password?: string;
  firstName: string;
  surname: string;
  email: string | null;
  disabled: boolean;
  accountExpiry: number | null;
  authorities: string[];
  roles: string[];
}

function report(errorCode: string, message: string, property: string | undefined, args: string[], mainId?: string): ErrorReport {
  const r: ErrorReport = { message, mainKlass: USER_KLASS, errorCode, errorProperties: property ? [property] : [], args };
  if (mainId) r.mainId = mainId;
  if (property) r.errorProperty = property;
  return r;
}

const blank = (v: unknown) => v === undefined || v === null || v === "";

function readString(body: Record<string, unknown>, name: string, errors: ErrorReport[], max = 255): string | undefined {
  const v = body[name];
  if (blank(v)) return undefined;
  if (typeof v !== "string") {
    errors.push(report("E4027", `Value \`${echo(v)}\` is not valid for property \`${name}\`.`, name, [echo(String(v)), name]));
    return undefined;
  }
  const t = v.trim();
  if (t.length > max) {
    errors.push(
      report("E4001", `Maximum length of property \`${name}\` is ${max}, but given length was ${t.length}.`, name, [
        name,
        String(max),
        String(t.length),
      ]),
    );
    return undefined;
  }
  return t === "" ? undefined : t;
}

function readBool(body: Record<string, unknown>, name: string, errors: ErrorReport[]): boolean | undefined {
  const v = body[name];
  if (blank(v)) return undefined;
  if (v === true || v === "true") return true;
  if (v === false || v === "false") return false;
  errors.push(report("E4027", `Value \`${echo(v)}\` is not valid for property \`${name}\`.`, name, [echo(String(v)), name]));
  return undefined;
}

/**
 * Reads a create (`existing` undefined) or full-replace payload. DHIS2's legacy nested
 * `userCredentials` object is accepted too; its members fill in what the top level lacks.
 */
export function readUserInput(
  raw: Record<string, unknown>,
  opts: { existing?: UserRow; timeZone: string; mainId?: string },
): { input?: UserInput; errors: ErrorReport[] } {
  const errors: ErrorReport[] = [];
  const creds =
    raw.userCredentials && typeof raw.userCredentials === "object" && !Array.isArray(raw.userCredentials)
      ? (raw.userCredentials as Record<string, unknown>)
      : {};
  const body: Record<string, unknown> = { ...creds };
  for (const [k, v] of Object.entries(raw)) if (!blank(v) || !(k in body)) body[k] = v;

  const username = readString(body, "username", errors, USERNAME_MAX_LENGTH) ?? opts.existing?.username;
  if (!username) errors.push(report("E4000", "Missing required property `username`.", "username", ["username"]));
  else if (!isValidUsername(username)) {
    errors.push(
      report("E4049", `Property \`username\` requires a valid username, was given \`${echo(username)}\`.`, "username", [
        "username",
        echo(username),
      ]),
    );
  }
  const firstName = readString(body, "firstName", errors);
  if (!firstName) errors.push(report("E4000", "Missing required property `firstName`.", "firstName", ["firstName"]));
  const surname = readString(body, "surname", errors);
  if (!surname) errors.push(report("E4000", "Missing required property `surname`.", "surname", ["surname"]));
  const email = readString(body, "email", errors) ?? null;
  if (email && !isValidEmail(email)) {
    errors.push(
      report("E4003", `Property \`email\` requires a valid email address, was given \`${echo(email)}\`.`, "email", ["email", echo(email)]),
    );
  }
  const disabled = readBool(body, "disabled", errors) ?? false;

  let password: string | undefined;
  const pv = body.password;
  if (!blank(pv)) {
    if (typeof pv !== "string") errors.push(report("E4027", "Value is not valid for property `password`.", "password", ["password"]));
    else {
      password = pv;
      for (const v of passwordViolations(pv, username)) errors.push(report(v.errorCode, v.message, "password", ["password"]));
    }
  } else if (!opts.existing) {
    errors.push(report("E4000", "Missing required property `password`.", "password", ["password"]));
  }

  let accountExpiry: number | null = null;
  const ae = body.accountExpiry;
  if (!blank(ae)) {
    const t = typeof ae === "number" ? ae : typeof ae === "string" ? (/^\d+$/.test(ae) ? Number(ae) : parseDate(ae, opts.timeZone)) : null;
    if (t === null || !Number.isInteger(t) || t < 0 || t > MAX_INSTANT) {
      errors.push(
        report("E4027", `Value \`${echo(String(ae))}\` is not valid for property \`accountExpiry\`.`, "accountExpiry", [
          echo(String(ae)),
          "accountExpiry",
        ]),
      );
    } else accountExpiry = t;
  }

  const authorities: string[] = [];
  const av = body.authorities;
  if (!blank(av)) {
    if (!Array.isArray(av) || av.length > MAX_AUTHORITIES) {
      errors.push(
        report("E4027", `Property \`authorities\` must be a list of at most ${MAX_AUTHORITIES} authority names.`, "authorities", [
          "authorities",
        ]),
      );
    } else {
      for (const a of av) {
        if (typeof a === "string" && isValidAuthority(a)) {
          if (!authorities.includes(a)) authorities.push(a);
        } else
          errors.push(
            report("E4027", `Value \`${echo(String(a))}\` is not a valid authority.`, "authorities", [echo(String(a)), "authorities"]),
          );
      }
    }
  }

  const roles: string[] = [];
  const rv = body.userRoles;
  if (!blank(rv)) {
    if (!Array.isArray(rv) || rv.length > MAX_ROLES) {
      errors.push(
        report("E4027", `Property \`userRoles\` must be a list of at most ${MAX_ROLES} references like {"id": "<uid>"}.`, "userRoles", [
          "userRoles",
        ]),
      );
    } else {
      for (const r of rv) {
        const id = typeof r === "string" ? r : r && typeof r === "object" ? (r as { id?: unknown }).id : undefined;
        if (typeof id === "string" && isValidUid(id)) {
          if (!roles.includes(id)) roles.push(id);
        } else
          errors.push(
            report("E4014", `Invalid UID \`${echo(String(id))}\` for property \`userRoles\`.`, "userRoles", [
              echo(String(id)),
              "userRoles",
            ]),
          );
      }
    }
  }

  if (errors.length > 0) return { errors: errors.map((e) => (opts.mainId ? { ...e, mainId: opts.mainId } : e)) };
  return {
    errors,
    input: { username: username!, password, firstName: firstName!, surname: surname!, email, disabled, accountExpiry, authorities, roles },
  };
}

/** Role uids among `roles` that do not exist. */
export async function missingRoles(db: D1Database, roles: string[]): Promise<string[]> {
  if (roles.length === 0) return [];
  const placeholders = roles.map(() => "?").join(",");
  const { results } = await db
    .prepare(`SELECT uid FROM user_roles WHERE uid IN (${placeholders})`)
    .bind(...roles)
    .all<{ uid: string }>();
  const found = new Set(results.map((r) => r.uid));
  return roles.filter((r) => !found.has(r));
}

export function roleReferenceError(role: string, uid: string, username: string): ErrorReport {
  return {
    message: `Invalid reference [${role}] (UserRole) on object ${username} [${uid}] (User) for association \`userRoles\`.`,
    mainKlass: USER_KLASS,
    mainId: uid,
    errorKlass: USER_ROLE_KLASS,
    errorProperty: "userRoles",
    errorProperties: ["userRoles"],
    errorCode: "E5002",
    args: [role, uid, "userRoles"],
  };
}

export function duplicateUsernameError(username: string, uid: string, existingUid: string): ErrorReport {
  return {
    message: `Property \`username\` with value \`${username}\` on object ${username} [${uid}] (User) already exists on object ${existingUid}.`,
    mainKlass: USER_KLASS,
    mainId: uid,
    errorProperty: "username",
    errorProperties: ["username"],
    errorCode: "E5003",
    args: ["username", username, uid, existingUid],
    value: username,
  };
}

export async function findUidByUsername(db: D1Database, username: string): Promise<string | null> {
  const row = await db.prepare(`SELECT uid FROM users WHERE username = ?`).bind(username).first<{ uid: string }>();
  return row?.uid ?? null;
}

function memberStatements(db: D1Database, uid: string, roles: string[]): D1PreparedStatement[] {
  return roles.map((r) => db.prepare(`INSERT OR IGNORE INTO user_role_members (user_uid, role_uid) VALUES (?, ?)`).bind(uid, r));
}

export async function insertUser(db: D1Database, uid: string, input: UserInput, now: number): Promise<void> {
  const hash = await hashPassword(input.password!);
  await db.batch([
    db
      .prepare(
        `INSERT INTO users (uid, username, first_name, surname, email, password_hash, disabled, authorities, account_expiry, password_last_updated, created, last_updated)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .bind(
        uid,
        input.username,
        input.firstName,
        input.surname,
        input.email,
        hash,
        input.disabled ? 1 : 0,
        JSON.stringify(input.authorities),
        input.accountExpiry,
        now,
        now,
        now,
      ),
    ...memberStatements(db, uid, input.roles),
  ]);
}

/** Full replace of a user's editable state; a new password also ends every address's lockout. */
export async function replaceUser(db: D1Database, uid: string, input: UserInput, now: number): Promise<void> {
  const stmts: D1PreparedStatement[] = [
    db
      .prepare(
        `UPDATE users SET username = ?, first_name = ?, surname = ?, email = ?, disabled = ?, authorities = ?, account_expiry = ?, last_updated = ? WHERE uid = ?`,
      )
      .bind(
        input.username,
        input.firstName,
        input.surname,
        input.email,
        input.disabled ? 1 : 0,
        JSON.stringify(input.authorities),
        input.accountExpiry,
        now,
        uid,
      ),
  ];
  if (input.password !== undefined) {
    stmts.push(
      db
        .prepare(`UPDATE users SET password_hash = ?, password_last_updated = ? WHERE uid = ?`)
        .bind(await hashPassword(input.password), now, uid),
      ...clearAllFailuresStatements(db, input.username),
    );
  }
  stmts.push(db.prepare(`DELETE FROM user_role_members WHERE user_uid = ?`).bind(uid), ...memberStatements(db, uid, input.roles));
  await db.batch(stmts);
  forgetUser(uid);
}

export async function deleteUser(db: D1Database, uid: string): Promise<void> {
  await db.batch([
    db.prepare(`DELETE FROM api_tokens WHERE owner_uid = ?`).bind(uid),
    db.prepare(`DELETE FROM user_role_members WHERE user_uid = ?`).bind(uid),
    db.prepare(`DELETE FROM users WHERE uid = ?`).bind(uid),
  ]);
  forgetUser(uid);
}

/** Enabled, unexpired users other than `exceptUid` that hold ALL directly or through a role. */
export async function otherEnabledSuperusers(db: D1Database, exceptUid: string, now: number): Promise<number> {
  const row = await db
    .prepare(
      `SELECT COUNT(*) AS n FROM users u WHERE u.uid != ? AND u.disabled = 0 AND (u.account_expiry IS NULL OR u.account_expiry > ?) AND (
         EXISTS (SELECT 1 FROM json_each(u.authorities) a WHERE a.value = 'ALL')
         OR EXISTS (SELECT 1 FROM user_role_members m JOIN user_roles r ON r.uid = m.role_uid, json_each(r.authorities) j
                    WHERE m.user_uid = u.uid AND j.value = 'ALL'))`,
    )
    .bind(exceptUid, now)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/** The properties `/api/users?filter=…&order=…` may name (src/http/query.ts). */
export const USER_QUERY: QueryProperties = {
  properties: {
    id: { sql: "u.uid", type: "text", javaType: "java.lang.String" },
    username: { sql: "u.username", type: "text", javaType: "java.lang.String" },
    firstName: { sql: "u.first_name", type: "text", javaType: "java.lang.String" },
    surname: { sql: "u.surname", type: "text", javaType: "java.lang.String" },
    name: { sql: "trim(u.first_name || ' ' || u.surname)", type: "text", javaType: "java.lang.String" },
    displayName: { sql: "trim(u.first_name || ' ' || u.surname)", type: "text", javaType: "java.lang.String" },
    email: { sql: "u.email", type: "text", javaType: "java.lang.String" },
    disabled: { sql: "u.disabled", type: "bool", javaType: "boolean" },
    created: { sql: "u.created", type: "date", javaType: "java.util.Date" },
    lastUpdated: { sql: "u.last_updated", type: "date", javaType: "java.util.Date" },
    lastLogin: { sql: "u.last_login", type: "date", javaType: "java.util.Date" },
    passwordLastUpdated: { sql: "u.password_last_updated", type: "date", javaType: "java.util.Date" },
    accountExpiry: { sql: "u.account_expiry", type: "date", javaType: "java.util.Date" },
  },
  computed: new Set(["accountNonLocked", "authorities", "effectiveAuthorities", "userRoles", "href", "access"]),
};

export interface UserListQuery {
  filters: string[];
  rootJunction: "AND" | "OR";
  /** Free text: username, first name or surname contains it (case-insensitive). */
  query?: string;
  orders: string[];
  timeZone: string;
  limit?: number;
  offset: number;
}

export async function listUsers(db: D1Database, q: UserListQuery): Promise<{ rows: UserRow[]; total: number }> {
  let text: SqlFragment | undefined;
  if (q.query) {
    const fields = ["u.username", "u.first_name", "u.surname"].map((f) => textMatch(f, "contains", q.query ?? "", true));
    text = { sql: fields.map((f) => f.sql).join(" OR "), binds: fields.flatMap((f) => f.binds) };
  }
  const where = compileWhere(USER_QUERY, q.filters, q.rootJunction, q.timeZone, text);
  const order = compileOrder(USER_QUERY, q.orders, "u.username", "u.uid");
  const limit = q.limit ?? -1;
  const [rows, count] = await db.batch([
    db.prepare(`${SELECT_USER} ${where.sql} ${order.sql} LIMIT ? OFFSET ?`).bind(...where.binds, limit, q.offset),
    db.prepare(`SELECT COUNT(*) AS n FROM users u ${where.sql}`).bind(...where.binds),
  ]);
  return { rows: rows.results as UserRow[], total: (count.results[0] as { n: number } | undefined)?.n ?? 0 };
}
