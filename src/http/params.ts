/**
 * Query and path parameters with DHIS2's parsing rules and error wording. These zod schemas are used
 * in route definitions (so they appear in the OpenAPI document); the router's validation hook turns
 * a failed parse into `400 Value 'x' is not valid for [path ]parameter name. <detail>`.
 */
import { z } from "@hono/zod-openapi";
import { DEFAULT_TIME_ZONE, parseDate } from "./dates";
import { UID_PATTERN } from "./uid";
import { echo } from "./webmessage";

const INT_MIN = -2147483648;
const INT_MAX = 2147483647;

/** Spring's Integer conversion: decimal, or hexadecimal with `0x`/`#`. Null for anything else. */
export function parseJavaInt(text: string): number | null {
  const t = text.trim();
  let n: number;
  const hex = /^([+-]?)(?:0[xX]|#)([0-9a-fA-F]+)$/.exec(t);
  if (hex) n = (hex[1] === "-" ? -1 : 1) * parseInt(hex[2], 16);
  else if (/^[+-]?\d+$/.test(t)) n = Number(t);
  else return null;
  return n >= INT_MIN && n <= INT_MAX ? n : null;
}

export const UID_DETAIL = "UID must be an alphanumeric string of 11 characters";

/** Integer query parameter; an empty value means "use the default". */
export function queryInt(defaultValue?: number) {
  return z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === "") return defaultValue;
      const n = parseJavaInt(v);
      if (n === null) {
        ctx.addIssue({ code: "custom", message: `For input string: "${echo(v)}"` });
        return z.NEVER;
      }
      return n;
    })
    .openapi({ type: "integer", ...(defaultValue !== undefined ? { default: defaultValue } : {}) });
}

/** Boolean query parameter (`true`/`false`, case-insensitive). */
export function queryBool(defaultValue?: boolean) {
  return z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === "") return defaultValue;
      const t = v.trim().toLowerCase();
      if (t === "true") return true;
      if (t === "false") return false;
      ctx.addIssue({ code: "custom", message: `Invalid boolean value '${echo(v)}'` });
      return z.NEVER;
    })
    .openapi({ type: "boolean", ...(defaultValue !== undefined ? { default: defaultValue } : {}) });
}

/** A query parameter that may be repeated (`?filter=a&filter=b`). */
export function repeatableQuery(description: string) {
  return z
    .union([z.string(), z.array(z.string())])
    .optional()
    .openapi({ description });
}

/** The values of a repeatable query parameter as a list. */
export const queryList = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** DHIS2's `rootJunction` (AND unless OR), joining the `filter`s of a list. */
export function rootJunctionQuery() {
  return z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === "") return "AND" as const;
      const t = v.trim().toUpperCase();
      if (t === "AND" || t === "OR") return t;
      ctx.addIssue({ code: "custom", message: "Valid values are: [AND, OR]" });
      return z.NEVER;
    })
    .openapi({ type: "string", enum: ["AND", "OR"], default: "AND" });
}

/** The operators `filter=property:operator[:value]` accepts (src/http/query.ts). */
export const FILTER_OPERATORS_DOC =
  "`property:operator[:value]`, repeatable. Operators: eq ieq !eq ne neq gt ge gte lt le lte like !like $like !$like like$ !like$ ilike !ilike $ilike startsWith !$ilike ilike$ endsWith !ilike$ token !token in !in null !null empty !empty.";

/** A UID path (or query) value. */
export function uidParam() {
  return z
    .string()
    .refine((v) => UID_PATTERN.test(v), { message: UID_DETAIL })
    .openapi({ pattern: UID_PATTERN.source, example: "KBcP6Qw37gT" });
}

/** Case-insensitive enum value, normalised to its canonical (upper-case) name. */
export function enumParam<T extends string>(values: readonly T[]) {
  const byUpper = new Map(values.map((v) => [v.toUpperCase(), v]));
  return z
    .string()
    .transform((v, ctx) => {
      const hit = byUpper.get(v.trim().toUpperCase());
      if (!hit) {
        ctx.addIssue({ code: "custom", message: `Valid values are: [${values.join(", ")}]` });
        return z.NEVER;
      }
      return hit;
    })
    .openapi({ type: "string", enum: [...values] });
}

/** The message DHIS2 gives for a bad parameter value. */
export function invalidParamMessage(kind: "query" | "path", name: string, value: string, detail: string): string {
  return `Value '${echo(value)}' is not valid for ${kind === "path" ? "path parameter" : "parameter"} ${echo(name)}. ${detail}`;
}

/** Integer query parameter within [min, max] (Spring's int conversion, then the range). */
export function queryIntRange(defaultValue: number, min: number, max: number) {
  return queryInt(defaultValue)
    .refine((n) => n === undefined || (n >= min && n <= max), { message: `Must be between ${min} and ${max}` })
    .transform((n) => n ?? defaultValue)
    .openapi({ type: "integer", minimum: min, maximum: max, default: defaultValue });
}

/**
 * A list query parameter, repeated (`a=x&a=y`) or comma-separated (`a=x,y`), as Spring binds a
 * `List`: each value trimmed, blank ones dropped, each checked by `parse` (null: invalid, `detail`
 * names the value). No value at all: undefined (no filter).
 */
export function queryValueList<T>(parse: (value: string) => T | null, detail: (value: string) => string, maxValues = 100) {
  return z
    .union([z.string(), z.array(z.string())])
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return undefined;
      const parts = (Array.isArray(v) ? v : [v])
        .flatMap((s) => s.split(","))
        .map((s) => s.trim())
        .filter((s) => s !== "");
      if (parts.length > maxValues) {
        ctx.addIssue({ code: "custom", message: `At most ${maxValues} values are allowed` });
        return z.NEVER;
      }
      const out: T[] = [];
      for (const part of parts) {
        const value = parse(part);
        if (value === null) {
          ctx.addIssue({ code: "custom", message: detail(part) });
          return z.NEVER;
        }
        out.push(value);
      }
      return out.length ? out : undefined;
    })
    .openapi({ type: "array", items: { type: "string" }, description: "Repeat the parameter or separate the values with commas" });
}

/** `yyyy-MM-dd[THH:mm[:ss[.SSS]]]` (the server zone) or an ISO instant with an offset; checked here, read by the handler. */
export function queryDate() {
  return z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === "") return undefined;
      if (parseDate(v, DEFAULT_TIME_ZONE) === null) {
        ctx.addIssue({ code: "custom", message: "Not a date: use yyyy-MM-dd, yyyy-MM-ddTHH:mm:ss[.SSS] or an ISO 8601 instant" });
        return z.NEVER;
      }
      return v.trim();
    })
    .openapi({ type: "string", example: "2026-01-01" });
}
