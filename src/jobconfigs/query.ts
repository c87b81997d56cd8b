/**
 * DHIS2's list query language for `/api/jobConfigurations`, compiled to SQL: `filter=prop:op[:value]`
 * (repeatable, AND unless `rootJunction=OR`), `order=prop:dir`, `query=` and paging. API property
 * names map to column expressions through a fixed whitelist; every value is a bound parameter.
 */
import { ApiError } from "../http/webmessage";
import { parseDate } from "../http/dates";
import { parseJavaInt } from "../http/params";
import { type MatchMode, type SqlFragment, textMatch } from "../http/sql-text";
import { CONFIGURABLE_JOB_TYPE_NAMES } from "../jobs/registry";

type ValueType = "text" | "int" | "bool" | "date";

interface PropertyDef {
  /** SQL expression (a column or an expression over columns; never contains user input). */
  sql: string;
  type: ValueType;
  /** Java type named in parse errors. */
  javaType: string;
}

// Catalogue constants (never request input), checked to be plain enum names before they enter SQL.
const configurableList = CONFIGURABLE_JOB_TYPE_NAMES.map((t) => {
  if (!/^[A-Z0-9_]+$/.test(t)) throw new Error(`Bad job type name in catalogue: ${t}`);
  return `'${t}'`;
}).join(", ");

/** The persisted (SQL-backed) properties a filter or order may name. */
export const QUERY_PROPERTIES: Record<string, PropertyDef> = {
  id: { sql: "uid", type: "text", javaType: "java.lang.String" },
  code: { sql: "code", type: "text", javaType: "java.lang.String" },
  name: { sql: "name", type: "text", javaType: "java.lang.String" },
  displayName: { sql: "name", type: "text", javaType: "java.lang.String" },
  jobType: { sql: "job_type", type: "text", javaType: "org.hisp.dhis.scheduling.JobType" },
  schedulingType: {
    sql: "COALESCE(scheduling_type, CASE WHEN cron_expression IS NOT NULL THEN 'CRON' WHEN delay IS NOT NULL THEN 'FIXED_DELAY' ELSE 'ONCE_ASAP' END)",
    type: "text",
    javaType: "org.hisp.dhis.scheduling.SchedulingType",
  },
  cronExpression: { sql: "cron_expression", type: "text", javaType: "java.lang.String" },
  delay: { sql: "delay", type: "int", javaType: "java.lang.Integer" },
  enabled: { sql: "enabled", type: "bool", javaType: "boolean" },
  jobStatus: {
    sql: "(CASE WHEN job_status = 'DISABLED' AND enabled = 1 THEN 'SCHEDULED' ELSE job_status END)",
    type: "text",
    javaType: "org.hisp.dhis.scheduling.JobStatus",
  },
  lastExecutedStatus: { sql: "last_executed_status", type: "text", javaType: "org.hisp.dhis.scheduling.JobStatus" },
  lastExecuted: { sql: "last_executed", type: "date", javaType: "java.util.Date" },
  lastFinished: { sql: "last_finished", type: "date", javaType: "java.util.Date" },
  lastAlive: { sql: "last_alive", type: "date", javaType: "java.util.Date" },
  created: { sql: "created", type: "date", javaType: "java.util.Date" },
  lastUpdated: { sql: "last_updated", type: "date", javaType: "java.util.Date" },
  executedBy: { sql: "executed_by", type: "text", javaType: "java.lang.String" },
  userUid: { sql: "executed_by", type: "text", javaType: "java.lang.String" },
  queueName: { sql: "queue_name", type: "text", javaType: "java.lang.String" },
  queuePosition: { sql: "queue_position", type: "int", javaType: "java.lang.Integer" },
  errorCodes: { sql: "error_codes", type: "text", javaType: "java.lang.String" },
  createdBy: { sql: "created_by", type: "text", javaType: "java.lang.String" },
  "createdBy.id": { sql: "created_by", type: "text", javaType: "java.lang.String" },
  lastUpdatedBy: { sql: "last_updated_by", type: "text", javaType: "java.lang.String" },
  "lastUpdatedBy.id": { sql: "last_updated_by", type: "text", javaType: "java.lang.String" },
  configurable: {
    sql: `(CASE WHEN system = 0 AND job_type IN (${configurableList}) THEN 1 ELSE 0 END)`,
    type: "bool",
    javaType: "boolean",
  },
  leaderOnlyJob: { sql: "1", type: "bool", javaType: "boolean" },
};

/** Properties that exist but are computed on read, so SQL cannot filter on them. */
const COMPUTED_PROPERTIES = new Set([
  "href",
  "access",
  "sharing",
  "nextExecutionTime",
  "maxDelayedExecutionTime",
  "lastRuntimeExecution",
  "jobParameters",
  "favorite",
  "favorites",
  "translations",
  "attributeValues",
  "externalAccess",
  "userAccesses",
  "userGroupAccesses",
]);

export type { SqlFragment };

const conflict = (message: string) => new ApiError(409, message, { errorCode: "E1004" });

function propertyOf(path: string): PropertyDef {
  const def = Object.hasOwn(QUERY_PROPERTIES, path) ? QUERY_PROPERTIES[path] : undefined;
  if (def) return def;
  if (COMPUTED_PROPERTIES.has(path)) throw conflict(`Filtering on property \`${path}\` is not supported: it is computed on read.`);
  throw conflict(`Unknown path property: ${path}`);
}

function parseValue(def: PropertyDef, text: string, timeZone: string): unknown {
  switch (def.type) {
    case "text":
      return text;
    case "int": {
      const n = parseJavaInt(text);
      if (n === null) throw conflict(`Unable to parse \`${text}\` as \`${def.javaType}\`.`);
      return n;
    }
    case "bool": {
      const t = text.trim().toLowerCase();
      if (t === "true") return 1;
      if (t === "false") return 0;
      throw conflict(`Unable to parse \`${text}\` as \`${def.javaType}\`.`);
    }
    case "date": {
      const ms = parseDate(text, timeZone);
      if (ms === null) throw conflict(`Unable to parse \`${text}\` as \`${def.javaType}\`.`);
      return ms;
    }
  }
}

function listValues(text: string): string[] {
  const t = text.trim();
  const inner = t.startsWith("[") && t.endsWith("]") ? t.slice(1, -1) : t;
  return inner === "" ? [] : inner.split(",").map((s) => s.trim());
}

const NO_VALUE_OPERATORS = new Set(["null", "!null", "empty", "!empty"]);

const OPERATORS = new Set([
  "eq",
  "ieq",
  "!eq",
  "neq",
  "ne",
  "gt",
  "lt",
  "ge",
  "gte",
  "le",
  "lte",
  "like",
  "!like",
  "$like",
  "!$like",
  "like$",
  "!like$",
  "ilike",
  "!ilike",
  "$ilike",
  "startsWith",
  "!$ilike",
  "ilike$",
  "endsWith",
  "!ilike$",
  "token",
  "!token",
  "in",
  "!in",
  "null",
  "!null",
  "empty",
  "!empty",
]);

/** One `prop:op[:value]` filter as SQL. */
export function compileFilter(filter: string, timeZone: string): SqlFragment {
  const first = filter.indexOf(":");
  if (first <= 0) throw conflict(`Invalid filter \`${filter}\`: expected property:operator[:value].`);
  const path = filter.slice(0, first).trim();
  const rest = filter.slice(first + 1);
  const second = rest.indexOf(":");
  const op = (second === -1 ? rest : rest.slice(0, second)).trim();
  const value = second === -1 ? undefined : rest.slice(second + 1);
  const def = propertyOf(path);
  if (!OPERATORS.has(op)) throw conflict(`\`${op}\` is not a valid operator.`);
  if (value === undefined && !NO_VALUE_OPERATORS.has(op)) throw conflict(`Operator \`${op}\` in filter \`${filter}\` needs a value.`);
  const col = def.sql;
  const text = def.type === "text" ? col : `CAST(${col} AS TEXT)`;
  const v = value ?? "";
  const frag = (sql: string, ...binds: unknown[]): SqlFragment => ({ sql, binds });
  const match = (mode: MatchMode, ci: boolean, text_ = v) => textMatch(text, mode, text_, ci);
  const not = (f: SqlFragment): SqlFragment => ({ sql: `NOT (${f.sql})`, binds: f.binds });
  switch (op) {
    case "eq":
      return frag(`${col} = ?`, parseValue(def, v, timeZone));
    case "ieq":
      return def.type === "text" ? frag(`lower(${col}) = lower(?)`, v) : frag(`${col} = ?`, parseValue(def, v, timeZone));
    case "!eq":
    case "neq":
    case "ne":
      return frag(`${col} <> ?`, parseValue(def, v, timeZone));
    case "gt":
      return frag(`${col} > ?`, parseValue(def, v, timeZone));
    case "lt":
      return frag(`${col} < ?`, parseValue(def, v, timeZone));
    case "ge":
    case "gte":
      return frag(`${col} >= ?`, parseValue(def, v, timeZone));
    case "le":
    case "lte":
      return frag(`${col} <= ?`, parseValue(def, v, timeZone));
    case "like":
      return match("contains", false);
    case "!like":
      return not(match("contains", false));
    case "$like":
      return match("starts", false);
    case "!$like":
      return not(match("starts", false));
    case "like$":
      return match("ends", false);
    case "!like$":
      return not(match("ends", false));
    case "ilike":
      return match("contains", true);
    case "!ilike":
      return not(match("contains", true));
    case "$ilike":
    case "startsWith":
      return match("starts", true);
    case "!$ilike":
      return not(match("starts", true));
    case "ilike$":
    case "endsWith":
      return match("ends", true);
    case "!ilike$":
      return not(match("ends", true));
    case "token":
    case "!token": {
      const tokens = v.split(/\s+/).filter(Boolean);
      if (tokens.length === 0) return op === "token" ? frag("1 = 1") : frag("1 = 0");
      const matches = tokens.map((t) => match("contains", true, t));
      const parts = matches.map((m) => m.sql);
      const binds = matches.flatMap((m) => m.binds);
      const sql = `(${parts.join(" AND ")})`;
      return op === "token" ? { sql, binds } : { sql: `NOT ${sql}`, binds };
    }
    case "in":
    case "!in": {
      const values = listValues(v).map((x) => parseValue(def, x, timeZone));
      if (values.length === 0) return op === "in" ? frag("1 = 0") : frag("1 = 1");
      if (values.length > MAX_BOUND_VALUES) throw conflict(`Too many values in \`${op}\` filter (maximum ${MAX_BOUND_VALUES}).`);
      return frag(`${col} ${op === "in" ? "IN" : "NOT IN"} (${values.map(() => "?").join(", ")})`, ...values);
    }
    case "null":
      return frag(`${col} IS NULL`);
    case "!null":
      return frag(`${col} IS NOT NULL`);
    case "empty":
      return frag(`(${col} IS NULL OR ${text} = '')`);
    case "!empty":
      return frag(`(${col} IS NOT NULL AND ${text} <> '')`);
  }
  throw conflict(`\`${op}\` is not a valid operator.`);
}

const MAX_FILTERS = 30;
/** D1 allows 100 bound parameters per statement; LIMIT and OFFSET take two. */
export const MAX_BOUND_VALUES = 96;

/** All filters plus `query=`, joined by the root junction; empty SQL when there is nothing. */
export function compileWhere(filters: string[], rootJunction: "AND" | "OR", query: string | undefined, timeZone: string): SqlFragment {
  if (filters.length > MAX_FILTERS) throw conflict(`Too many filters (maximum ${MAX_FILTERS}).`);
  const parts = filters.filter((f) => f.trim() !== "").map((f) => compileFilter(f, timeZone));
  const clauses: string[] = [];
  const binds: unknown[] = [];
  if (parts.length > 0) {
    clauses.push(`(${parts.map((p) => p.sql).join(rootJunction === "OR" ? " OR " : " AND ")})`);
    for (const p of parts) binds.push(...p.binds);
  }
  if (query !== undefined && query.trim() !== "") {
    const q = query.trim();
    const byName = textMatch("name", "contains", q, true);
    clauses.push(`(uid = ? OR code = ? OR ${byName.sql})`);
    binds.push(q, q, ...byName.binds);
  }
  if (binds.length > MAX_BOUND_VALUES) throw conflict(`The filters need too many values (${binds.length}; maximum ${MAX_BOUND_VALUES}).`);
  return { sql: clauses.length ? `WHERE ${clauses.join(" AND ")}` : "", binds };
}

/**
 * `order=prop[:asc|desc|iasc|idesc]`, repeatable and comma-separated. Unknown or computed
 * properties are ignored (as DHIS2 ignores orders it cannot apply); `uid` always breaks ties.
 */
export function compileOrder(orders: string[]): SqlFragment {
  const parts: string[] = [];
  const binds: unknown[] = [];
  const seen = new Set<string>();
  for (const text of orders) {
    for (const item of text.split(",")) {
      const [rawPath, rawDir] = item.trim().split(":");
      const path = (rawPath ?? "").trim();
      if (!path || seen.has(path)) continue;
      const def = Object.hasOwn(QUERY_PROPERTIES, path) ? QUERY_PROPERTIES[path] : undefined;
      if (!def) continue;
      seen.add(path);
      const dir = (rawDir ?? "asc").trim().toLowerCase();
      const desc = dir === "desc" || dir === "idesc";
      const nocase = (dir === "iasc" || dir === "idesc") && def.type === "text";
      parts.push(`${def.sql}${nocase ? " COLLATE NOCASE" : ""} ${desc ? "DESC" : "ASC"}`);
    }
  }
  if (parts.length === 0) return { sql: "ORDER BY name COLLATE NOCASE ASC, uid ASC", binds: [] };
  parts.push("uid ASC");
  return { sql: `ORDER BY ${parts.join(", ")}`, binds };
}
