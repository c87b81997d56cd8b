/**
 * Shared machinery of the reliability and security suite (issue #8): route discovery from the app,
 * path filling with real fixtures, test users per authority, raw requests, the WebMessage invariant
 * and D1 snapshots. Everything here adapts to the routes that exist: nothing assumes a module landed.
 */
import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { app } from "../../src/app";
import { BOOTSTRAP_ADMIN_UID, ensureBootstrapAdmin } from "../../src/users/bootstrap";
import { forgetUser } from "../../src/users/credential-cache";
import { hashPassword } from "../../src/users/password";
import { forgetRows } from "../../src/users/user-row-cache";
import { BASE, adminAuth, basic } from "../helpers";

// ---------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------

export interface RouteDef {
  method: string;
  /** Hono pattern, e.g. `/api/jobConfigurations/:uid/execute`. */
  path: string;
  /** `METHOD /api/jobConfigurations/{}/execute`: parameter names and regexes erased. */
  key: string;
}

/** `/a/:id{[0-9]+}/b` → `/a/{}/b`. */
export function erasePattern(path: string): string {
  return path.replace(/:[A-Za-z0-9_]+(\{[^}]*\})?\??/g, "{}");
}

/** Every concrete route the app serves (middleware entries, `ALL`, are left out), deduplicated. */
export function appRoutes(): RouteDef[] {
  const out = new Map<string, RouteDef>();
  for (const r of app.routes) {
    if (r.method === "ALL") continue;
    const key = `${r.method} ${erasePattern(r.path)}`;
    if (!out.has(key)) out.set(key, { method: r.method, path: r.path, key });
  }
  return [...out.values()].sort((a, b) => a.key.localeCompare(b.key));
}

export function hasRoute(method: string, erased: string): boolean {
  return appRoutes().some((r) => r.key === `${method} ${erased}`);
}

// ---------------------------------------------------------------------------------------------
// Users per authority
// ---------------------------------------------------------------------------------------------

export type Role = "anon" | "none" | "sched" | "maint" | "log" | "all";
export const ROLES: Role[] = ["anon", "none", "sched", "maint", "log", "all"];
export const ROLE_AUTHORITIES: Record<Exclude<Role, "anon">, string[]> = {
  none: [],
  sched: ["F_SCHEDULING_ADMIN"],
  maint: ["F_PERFORM_MAINTENANCE"],
  log: ["F_JOB_LOG_READ"],
  all: ["ALL"],
};

export interface TestUser {
  role: Role;
  uid: string;
  username: string;
  password: string;
  auth: string | null;
}

const USER_UIDS: Record<Exclude<Role, "anon">, string> = {
  none: "RelUserNone",
  sched: "RelUserSchd",
  maint: "RelUserMain",
  log: "RelUserLogR",
  all: "RelUserAllA",
};
const ROLE_UIDS: Record<Exclude<Role, "anon">, string> = {
  none: "RelRoleNone",
  sched: "RelRoleSchd",
  maint: "RelRoleMain",
  log: "RelRoleLogR",
  all: "RelRoleAllA",
};

export function passwordOf(role: Role): string {
  return `Rel-${role}-Pa55word!`;
}

/**
 * Creates (once per file: storage is per file) one user per role, straight in D1, each holding
 * its authority through a user role as DHIS2 does. The hash uses a low PBKDF2 cost to keep the
 * suite fast; verification reads the cost from the stored hash.
 */
export async function ensureRoleUsers(): Promise<Record<Role, TestUser>> {
  await ensureBootstrapAdmin(env, Date.now());
  const now = Date.now();
  const out = { anon: { role: "anon", uid: "", username: "", password: "", auth: null } } as Record<Role, TestUser>;
  const stmts: D1PreparedStatement[] = [];
  for (const role of Object.keys(ROLE_AUTHORITIES) as Exclude<Role, "anon">[]) {
    const username = `rel_${role}`;
    const password = passwordOf(role);
    out[role] = { role, uid: USER_UIDS[role], username, password, auth: basic(username, password) };
    const exists = await env.DB.prepare(`SELECT 1 AS x FROM users WHERE uid = ?`).bind(USER_UIDS[role]).first();
    if (exists) continue;
    const hash = await hashPassword(password, 1000);
    stmts.push(
      env.DB.prepare(`INSERT OR IGNORE INTO user_roles (uid, name, authorities, created, last_updated) VALUES (?, ?, ?, ?, ?)`).bind(
        ROLE_UIDS[role],
        `Reliability ${role}`,
        JSON.stringify(ROLE_AUTHORITIES[role]),
        now,
        now,
      ),
      env.DB.prepare(
        `INSERT INTO users (uid, username, first_name, surname, password_hash, authorities, password_last_updated, created, last_updated)
         VALUES (?, ?, 'Rel', ?, ?, '[]', ?, ?, ?)`,
      ).bind(USER_UIDS[role], username, role, hash, now, now, now),
      env.DB.prepare(`INSERT OR IGNORE INTO user_role_members (user_uid, role_uid) VALUES (?, ?)`).bind(USER_UIDS[role], ROLE_UIDS[role]),
    );
  }
  if (stmts.length) await env.DB.batch(stmts);
  return out;
}

/** One more user with these authorities (through a role of its own); returns its Basic header and uid. */
export async function createRoleUser(uid: string, username: string, authorities: string[]): Promise<TestUser> {
  await ensureBootstrapAdmin(env, Date.now());
  const now = Date.now();
  const password = `Rel-${username}-Pa55!`;
  const roleUid = `R${uid.slice(1)}`;
  await env.DB.batch([
    env.DB.prepare(`INSERT OR IGNORE INTO user_roles (uid, name, authorities, created, last_updated) VALUES (?, ?, ?, ?, ?)`).bind(
      roleUid,
      `Reliability ${username}`,
      JSON.stringify(authorities),
      now,
      now,
    ),
    env.DB.prepare(
      `INSERT OR IGNORE INTO users (uid, username, first_name, surname, password_hash, authorities, password_last_updated, created, last_updated)
       VALUES (?, ?, 'Rel', ?, ?, '[]', ?, ?, ?)`,
    ).bind(uid, username, username, await hashPassword(password, 1000), now, now, now),
    env.DB.prepare(`INSERT OR IGNORE INTO user_role_members (user_uid, role_uid) VALUES (?, ?)`).bind(uid, roleUid),
  ]);
  return { role: "none", uid, username, password, auth: basic(username, password) };
}

/** Clears failed-login counters and locks (hostile Authorization headers may have raised them). */
export async function resetLockouts(): Promise<void> {
  await env.DB.batch([
    env.DB.prepare(`DELETE FROM login_failures`),
    env.DB.prepare(`UPDATE users SET failed_logins = 0, locked_until = NULL WHERE failed_logins <> 0 OR locked_until IS NOT NULL`),
  ]);
}

/**
 * Puts the bootstrap admin back as it was first seen. Hostile requests that a route accepts may
 * legitimately change or even delete it (a PUT or DELETE on `/api/users/{admin}`: another superuser
 * exists), and every later admin request of the suite would then be refused.
 */
let adminAsFirstSeen: { row: Record<string, unknown>; roles: string[] } | null = null;
export async function restoreAdmin(): Promise<void> {
  const read = async () => ({
    row: await env.DB.prepare(`SELECT * FROM users WHERE uid = ?`).bind(BOOTSTRAP_ADMIN_UID).first<Record<string, unknown>>(),
    roles: (
      await env.DB.prepare(`SELECT role_uid FROM user_role_members WHERE user_uid = ? ORDER BY role_uid`)
        .bind(BOOTSTRAP_ADMIN_UID)
        .all<{ role_uid: string }>()
    ).results.map((r) => r.role_uid),
  });
  const now = await read();
  if (!adminAsFirstSeen) {
    if (now.row) adminAsFirstSeen = { row: now.row, roles: now.roles };
    return;
  }
  const first = adminAsFirstSeen;
  const same = (a: Record<string, unknown> | null) =>
    a !== null && ["username", "password_hash", "disabled", "authorities", "account_expiry"].every((k) => a[k] === first.row[k]);
  if (same(now.row) && JSON.stringify(now.roles) === JSON.stringify(first.roles)) return;
  const cols = Object.keys(first.row);
  await env.DB.batch([
    env.DB.prepare(`DELETE FROM users WHERE uid = ? OR username = ?`).bind(BOOTSTRAP_ADMIN_UID, first.row.username),
    env.DB.prepare(`INSERT INTO users (${cols.join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`).bind(
      ...cols.map((k) => first.row[k]),
    ),
    env.DB.prepare(`DELETE FROM user_role_members WHERE user_uid = ?`).bind(BOOTSTRAP_ADMIN_UID),
    ...first.roles.map((role) =>
      env.DB.prepare(`INSERT OR IGNORE INTO user_role_members (user_uid, role_uid) VALUES (?, ?)`).bind(BOOTSTRAP_ADMIN_UID, role),
    ),
  ]);
  forgetRows(BOOTSTRAP_ADMIN_UID);
  forgetUser(BOOTSTRAP_ADMIN_UID);
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

export interface RawRequest {
  method: string;
  /** Path plus query, sent as is (not re-encoded). */
  target: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

/** A request to the Worker exactly as given: no default credentials, no JSON encoding. */
export async function send(req: RawRequest): Promise<Response> {
  await ensureBootstrapAdmin(env, Date.now());
  const init: RequestInit = { method: req.method, headers: req.headers ?? {} };
  if (req.body !== undefined && req.method !== "GET" && req.method !== "HEAD") init.body = req.body;
  return (exports as any).default.fetch(BASE + req.target, init);
}

/** JSON request as a role (`null` auth for anonymous). */
export async function call(method: string, target: string, auth: string | null, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = {};
  if (auth) headers.Authorization = auth;
  let payload: string | undefined;
  if (body !== undefined) {
    payload = typeof body === "string" ? body : JSON.stringify(body);
    headers["Content-Type"] = "application/json";
  }
  return send({ method, target, headers, body: payload });
}

export const admin = () => adminAuth();

// ---------------------------------------------------------------------------------------------
// The invariant: 2xx/3xx, or a 4xx JSON WebMessage; never a 5xx; never a stack trace
// ---------------------------------------------------------------------------------------------

const STACK_PATTERNS = [
  /\n\s+at\s+\S+/, // V8 stack frame
  /at\s+[\w$.<>]+\s+\((?:file|node|\/)[^)]*:\d+:\d+\)/,
  /\/src\/[\w/.-]+\.ts:\d+/,
  /\bnode_modules\//,
  /\bD1_ERROR\b/,
  /SQLITE_[A-Z]+/,
];

export function looksLikeStackTrace(text: string): boolean {
  return STACK_PATTERNS.some((p) => p.test(text));
}

/** Checks one answer; returns a description of the violation or null. */
export async function violation(res: Response, method: string, opts: { allow5xxWebMessage?: boolean } = {}): Promise<string | null> {
  const text = await res.text();
  const status = res.status;
  if (looksLikeStackTrace(text)) return `stack trace or driver error leaked in a ${status} body: ${text.slice(0, 300)}`;
  if (status >= 500 && !opts.allow5xxWebMessage) return `status ${status}: ${text.slice(0, 300)}`;
  const type0 = res.headers.get("Content-Type") ?? "";
  // JSONP: only a plain identifier path may wrap the JSON (no script injection through `callback`).
  if (status < 400 && /javascript/i.test(type0) && !/^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*\(/.test(text)) {
    return `JSONP answer does not start with a plain callback name: ${text.slice(0, 120)}`;
  }
  if (status < 400) return null;
  if (method === "HEAD") return null; // no body by definition
  const type = res.headers.get("Content-Type") ?? "";
  if (!type.includes("json")) return `status ${status} with Content-Type '${type}' (not a JSON WebMessage): ${text.slice(0, 200)}`;
  let msg: any;
  try {
    msg = JSON.parse(text);
  } catch {
    return `status ${status} with a body that is not JSON: ${text.slice(0, 200)}`;
  }
  if (msg === null || typeof msg !== "object" || Array.isArray(msg)) return `status ${status}: body is not a WebMessage object`;
  if (msg.httpStatusCode !== status) return `httpStatusCode ${msg.httpStatusCode} differs from HTTP status ${status}`;
  if (typeof msg.httpStatus !== "string" || msg.httpStatus === "") return `status ${status}: missing httpStatus`;
  if (msg.status !== "ERROR" && msg.status !== "WARNING") return `status ${status}: WebMessage status '${msg.status}'`;
  if (typeof msg.message !== "string") return `status ${status}: WebMessage without message`;
  return null;
}

// ---------------------------------------------------------------------------------------------
// D1 snapshots
// ---------------------------------------------------------------------------------------------

/** Columns that legitimately change outside a request's own effect (logins, background runs). */
export const VOLATILE_COLUMNS: Record<string, string[]> = {
  users: ["last_login", "failed_logins", "locked_until"],
  api_tokens: ["last_used"],
  job_configurations: [
    "job_status",
    "last_executed_status",
    "last_executed",
    "last_finished",
    "last_alive",
    "error_codes",
    "scheduling_type",
    "queue_position",
  ],
  system_settings: [],
};

export const SNAPSHOT_TABLES = ["job_configurations", "users", "api_tokens", "system_settings"];

const columnCache = new Map<string, string[]>();

async function tableColumns(table: string): Promise<string[]> {
  let cols = columnCache.get(table);
  if (!cols) {
    const { results } = await env.DB.prepare(`SELECT name FROM pragma_table_info(?)`).bind(table).all<{ name: string }>();
    cols = results.map((r) => r.name);
    if (cols.length) columnCache.set(table, cols);
  }
  return cols;
}

/** A canonical string of the stable content of the snapshot tables (one D1 batch). */
export async function snapshot(): Promise<string> {
  const stmts: D1PreparedStatement[] = [];
  const names: string[] = [];
  for (const table of SNAPSHOT_TABLES) {
    const cols = (await tableColumns(table)).filter((c) => !(VOLATILE_COLUMNS[table] ?? []).includes(c));
    if (cols.length === 0) continue;
    // Table and column names come from the schema itself, never from input.
    stmts.push(env.DB.prepare(`SELECT ${cols.map((c) => `"${c}"`).join(", ")} FROM ${table} ORDER BY 1`));
    names.push(table);
  }
  const results = await env.DB.batch(stmts);
  return results.map((r, i) => `${names[i]}:${JSON.stringify(r.results)}`).join("\n");
}

export function diffSnapshots(a: string, b: string): string {
  const al = a.split("\n");
  const bl = b.split("\n");
  const out: string[] = [];
  for (let i = 0; i < Math.max(al.length, bl.length); i++) {
    if (al[i] !== bl[i]) out.push(`- ${(al[i] ?? "").slice(0, 400)}\n+ ${(bl[i] ?? "").slice(0, 400)}`);
  }
  return out.join("\n");
}
