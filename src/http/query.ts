/**
 * DHIS2's list query language compiled to SQL, for any list backed by one table: `filter=prop:op[:value]`
 * (repeatable, AND unless `rootJunction=OR`) and `order=prop:dir`. A list names its properties in a
 * fixed whitelist (`QueryProperties`) that maps API names to column expressions; every value is a
 * bound parameter. Used by `/api/jobConfigurations` (src/jobconfigs/query.ts) and `/api/users`.
 */
import { ApiError, echo } from "./webmessage";
import { parseDate } from "./dates";
import { parseJavaInt } from "./params";
import { type MatchMode, type SqlFragment, textMatch } from "./sql-text";

export type ValueType = "text" | "int" | "bool" | "date";

export interface PropertyDef {
  /** SQL expression (a column or an expression over columns; never contains user input). */
  sql: string;
  type: ValueType;
  /** Java type named in parse errors. */
  javaType: string;
}

/** A list's query vocabulary: the properties SQL can filter and order on, and those computed on read. */
export interface QueryProperties {
  properties: Record<string, PropertyDef>;
  /** Properties that exist but are computed on read, so SQL cannot filter on them. */
  computed?: ReadonlySet<string>;
}

export type { SqlFragment };

const conflict = (message: string) => new ApiError(409, message, { errorCode: "E1004" });

function propertyOf(vocabulary: QueryProperties, path: string): PropertyDef {
  const def = Object.hasOwn(vocabulary.properties, path) ? vocabulary.properties[path] : undefined;
  if (def) return def;
  if (vocabulary.computed?.has(path)) throw conflict(`Filtering on property \`${echo(path)}\` is not supported: it is computed on read.`);
  throw conflict(`Unknown path property: ${echo(path)}`);
}

function parseValue(def: PropertyDef, text: string, timeZone: string): unknown {
  switch (def.type) {
    case "text":
      return text;
    case "int": {
      const n = parseJavaInt(text);
      if (n === null) throw conflict(`Unable to parse \`${echo(text)}\` as \`${def.javaType}\`.`);
      return n;
    }
    case "bool": {
      const t = text.trim().toLowerCase();
      if (t === "true") return 1;
      if (t === "false") return 0;
      throw conflict(`Unable to parse \`${echo(text)}\` as \`${def.javaType}\`.`);
    }
    case "date": {
      const ms = parseDate(text, timeZone);
      if (ms === null) throw conflict(`Unable to parse \`${echo(text)}\` as \`${def.javaType}\`.`);
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
export function compileFilter(vocabulary: QueryProperties, filter: string, timeZone: string): SqlFragment {
  const first = filter.indexOf(":");
  if (first <= 0) throw conflict(`Invalid filter \`${echo(filter)}\`: expected property:operator[:value].`);
  const path = filter.slice(0, first).trim();
  const rest = filter.slice(first + 1);
  const second = rest.indexOf(":");
  const op = (second === -1 ? rest : rest.slice(0, second)).trim();
  const value = second === -1 ? undefined : rest.slice(second + 1);
  const def = propertyOf(vocabulary, path);
  if (!OPERATORS.has(op)) throw conflict(`\`${echo(op)}\` is not a valid operator.`);
  if (value === undefined && !NO_VALUE_OPERATORS.has(op)) throw conflict(`Operator \`${op}\` in filter \`${echo(filter)}\` needs a value.`);
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
  throw conflict(`\`${echo(op)}\` is not a valid operator.`);
}

const MAX_FILTERS = 30;
/** D1 allows 100 bound parameters per statement; LIMIT and OFFSET take two. */
export const MAX_BOUND_VALUES = 96;

/**
 * All filters joined by the root junction, and the list's own extra clause (e.g. `query=`), as one
 * WHERE; empty SQL when there is nothing.
 */
export function compileWhere(
  vocabulary: QueryProperties,
  filters: string[],
  rootJunction: "AND" | "OR",
  timeZone: string,
  extra?: SqlFragment,
): SqlFragment {
  if (filters.length > MAX_FILTERS) throw conflict(`Too many filters (maximum ${MAX_FILTERS}).`);
  const parts = filters.filter((f) => f.trim() !== "").map((f) => compileFilter(vocabulary, f, timeZone));
  const clauses: string[] = [];
  const binds: unknown[] = [];
  if (parts.length > 0) {
    clauses.push(`(${parts.map((p) => p.sql).join(rootJunction === "OR" ? " OR " : " AND ")})`);
    for (const p of parts) binds.push(...p.binds);
  }
  if (extra && extra.sql !== "") {
    clauses.push(`(${extra.sql})`);
    binds.push(...extra.binds);
  }
  if (binds.length > MAX_BOUND_VALUES) throw conflict(`The filters need too many values (${binds.length}; maximum ${MAX_BOUND_VALUES}).`);
  return { sql: clauses.length ? `WHERE ${clauses.join(" AND ")}` : "", binds };
}

/**
 * `order=prop[:asc|desc|iasc|idesc]`, repeatable and comma-separated. Unknown or computed
 * properties are ignored (as DHIS2 ignores orders it cannot apply); `tieBreaker` (a unique column)
 * always ends the order; without any usable order, `fallback` is the whole ORDER BY.
 */
export function compileOrder(vocabulary: QueryProperties, orders: string[], fallback: string, tieBreaker: string): SqlFragment {
  const parts: string[] = [];
  const seen = new Set<string>();
  for (const text of orders) {
    for (const item of text.split(",")) {
      const [rawPath, rawDir] = item.trim().split(":");
      const path = (rawPath ?? "").trim();
      if (!path || seen.has(path)) continue;
      const def = Object.hasOwn(vocabulary.properties, path) ? vocabulary.properties[path] : undefined;
      if (!def) continue;
      seen.add(path);
      const dir = (rawDir ?? "asc").trim().toLowerCase();
      const desc = dir === "desc" || dir === "idesc";
      const nocase = (dir === "iasc" || dir === "idesc") && def.type === "text";
      parts.push(`${def.sql}${nocase ? " COLLATE NOCASE" : ""} ${desc ? "DESC" : "ASC"}`);
    }
  }
  if (parts.length === 0) return { sql: `ORDER BY ${fallback}`, binds: [] };
  parts.push(`${tieBreaker} ASC`);
  return { sql: `ORDER BY ${parts.join(", ")}`, binds: [] };
}
