/**
 * The published OpenAPI document as a contract (issue 15): checks an actual answer of a route against
 * what `/api/openapi.json` declares for its operation — the status (or its `4XX`-style range), the
 * media type of a declared body, and a JSON body against the declared schema. Used on every answer of
 * the access control matrix (test/security/access-control.test.ts), which calls every route with
 * callers that succeed and callers that are refused; `test/openapi/contract.test.ts` checks the
 * document itself.
 *
 * The hosted app routes (Hono patterns `/:app{dhis-web-…}` and `…/*`) are documented as
 * `/dhis-web-{app}/{file}`. The JSON Schema check covers what the document uses: `$ref`, `type` (also as a list with "null"),
 * `properties`/`required`, `additionalProperties: false`, `items`, `enum`, `const`, `anyOf`/`oneOf`/`allOf`.
 */
import { api } from "../helpers";
import { erasePattern, type RouteDef } from "../security/support";

type Schema = Record<string, any>;
export interface Operation {
  operationId?: string;
  security?: unknown[];
  parameters?: { name: string; in: string }[];
  responses?: Record<string, { description?: string; content?: Record<string, { schema?: Schema }> }>;
}
export interface Contract {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema> };
}

export async function publishedContract(): Promise<Contract> {
  const res = await api("/api/openapi.json", { auth: null });
  if (res.status !== 200) throw new Error(`/api/openapi.json answered ${res.status}`);
  return (await res.json()) as Contract;
}

/** `/api/jobConfigurations/{id}` → `/api/jobConfigurations/{}` (as erasePattern does for Hono paths). */
const eraseTemplate = (path: string) => path.replace(/\{[^}]+\}/g, "{}");

/** The document's operation of a route, matched by method and path with parameter names erased. */
const ALIASES: Record<string, string> = { "/{}": "/dhis-web-{}/{}", "/{}/*": "/dhis-web-{}/{}" };

export function operationOf(contract: Contract, route: RouteDef): Operation | undefined {
  const erased = ALIASES[erasePattern(route.path)] ?? erasePattern(route.path);
  for (const [path, item] of Object.entries(contract.paths)) {
    if (eraseTemplate(path) === erased) return item[route.method.toLowerCase()];
  }
  return undefined;
}

function resolve(contract: Contract, schema: Schema): Schema {
  let s = schema;
  for (let i = 0; i < 20 && typeof s.$ref === "string"; i++) {
    const name = s.$ref.replace("#/components/schemas/", "");
    s = contract.components?.schemas?.[name] ?? {};
  }
  return s;
}

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

/** Problems of `value` against `schema` (empty: it conforms). */
export function schemaProblems(contract: Contract, schema: Schema, value: unknown, at = "$", partial = false): string[] {
  const s = resolve(contract, schema);
  const sub = (sch: Schema, v: unknown, where: string) => schemaProblems(contract, sch, v, where, partial);
  if (s.allOf) return s.allOf.flatMap((one: Schema) => sub(one, value, at));
  const alternatives = s.anyOf ?? s.oneOf;
  if (alternatives) {
    const all = alternatives.map((one: Schema) => sub(one, value, at));
    return all.some((p: string[]) => p.length === 0) ? [] : [`${at}: matches none of ${alternatives.length} alternatives (${all[0][0]})`];
  }
  if (s.const !== undefined && JSON.stringify(s.const) !== JSON.stringify(value)) return [`${at}: expected ${JSON.stringify(s.const)}`];
  if (s.enum && !s.enum.some((e: unknown) => JSON.stringify(e) === JSON.stringify(value))) {
    return [`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(s.enum)}`];
  }
  if (s.type !== undefined) {
    const types: string[] = Array.isArray(s.type) ? s.type : [s.type];
    const t = typeOf(value);
    if (!types.includes(t) && !(t === "integer" && types.includes("number"))) return [`${at}: expected ${types.join("|")}, got ${t}`];
  }
  const out: string[] = [];
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    if (!partial) for (const name of s.required ?? []) if (!(name in obj)) out.push(`${at}.${name}: required, missing`);
    for (const [name, one] of Object.entries((s.properties ?? {}) as Record<string, Schema>)) {
      if (name in obj) out.push(...sub(one, obj[name], `${at}.${name}`));
    }
    if (s.additionalProperties === false) {
      for (const name of Object.keys(obj)) if (!(name in (s.properties ?? {}))) out.push(`${at}.${name}: not declared`);
    } else if (s.additionalProperties && typeof s.additionalProperties === "object") {
      for (const [name, v] of Object.entries(obj)) {
        if (!(name in (s.properties ?? {}))) out.push(...sub(s.additionalProperties, v, `${at}.${name}`));
      }
    }
  }
  if (Array.isArray(value) && s.items) {
    for (const [i, v] of value.entries()) out.push(...sub(s.items, v, `${at}[${i}]`));
  }
  return out;
}

/** Problems of one answer of `route` against the document (empty: it keeps the contract). */
export function answerProblems(contract: Contract, route: RouteDef, status: number, contentType: string | null, text: string): string[] {
  const op = operationOf(contract, route);
  if (!op) return [`${route.key} is not in /api/openapi.json`];
  const responses = op.responses ?? {};
  const declared = responses[String(status)] ?? responses[`${String(status)[0]}XX`] ?? responses.default;
  if (!declared) return [`${status} is not a declared response (declared: ${Object.keys(responses).join(", ")})`];
  if (!declared.content || text === "") return [];
  const media = (contentType ?? "").split(";")[0].trim().toLowerCase();
  const entry = declared.content[media];
  if (!entry) return [`${status}: Content-Type ${media || "(none)"} is not declared (${Object.keys(declared.content).join(", ")})`];
  if (!media.endsWith("json") || !entry.schema) return [];
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return [`${status}: declared JSON, the body is not JSON`];
  }
  // A field-filtered answer (`?fields=`, DHIS2's default field list) holds any subset of the members:
  // their types are checked, not that the required ones are there.
  const filtered = (op.parameters ?? []).some((p) => p.in === "query" && p.name === "fields");
  return schemaProblems(contract, entry.schema, body, "$", filtered).map((p) => `${status} body ${p}`);
}
