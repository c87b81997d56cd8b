/**
 * Hostile input on every endpoint (issue #8). Property-based: fast-check draws a route from the
 * app's own route table, then a method, path parameters, query string, headers, body and caller,
 * many of them adversarial. Invariants for every answer:
 *   - 2xx/3xx, or a 4xx JSON WebMessage whose httpStatusCode equals the HTTP status;
 *   - never a 5xx, never a stack trace or driver error in the body;
 *   - a rejected request (≥ 400) leaves the D1 tables unchanged (volatile columns excluded).
 * Seeds are fixed (printed by fast-check on failure, and in the test names) so a failure replays.
 */
import { env } from "cloudflare:test";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { webhookUrlProblem } from "../../src/alerts/model";
import { app } from "../../src/app";
import { clearAllAlarms, createJob, fillPath, fixtures } from "./fixtures";
import {
  admin,
  appRoutes,
  diffSnapshots,
  ensureRoleUsers,
  resetLockouts,
  restoreAdmin,
  send,
  snapshot,
  violation,
  type RawRequest,
  type RouteDef,
} from "./support";

const SEED = 0x8e11ab1e;
const RUNS = { paths: 200, queries: 200, headers: 150, bodies: 200, all: 150 };
/**
 * Each property also stops after this much time (the runs done so far must all pass), so the file
 * stays under a minute on a busy 2-core machine. The seed fixes the sequence; a slow machine only
 * runs a shorter prefix of it.
 */
const TIME_LIMIT_MS = 8_000;
const opts = (seed: number, numRuns: number) => ({
  seed,
  numRuns,
  endOnFailure: true,
  interruptAfterTimeLimit: TIME_LIMIT_MS,
  markInterruptAsFailure: false,
});

// ---------------------------------------------------------------------------------------------
// Adversarial building blocks
// ---------------------------------------------------------------------------------------------

const SQL = [
  "' OR '1'='1",
  "'; DROP TABLE job_configurations; --",
  '" OR 1=1 --',
  "1; DELETE FROM users",
  "name') UNION SELECT password_hash FROM users --",
  "%' AND 1=0 UNION SELECT key_hash, 1 FROM api_tokens --",
];
const TRAVERSAL = ["..", "../..", "..%2F..%2Fetc%2Fpasswd", "%2e%2e", "%2e%2e%2f%2e%2e", "....//", "%252e%252e", "..\\..\\windows"];
const ENCODED = [
  "%00",
  "%FF",
  "%C0%AF",
  "%E2%80%AE",
  "%uFFFD",
  "%",
  "%%",
  "%zz",
  "%F0%9F%92%A9",
  "%0d%0aSet-Cookie:%20x=1",
  "%3Cscript%3E",
];
const WEIRD = [
  "",
  " ",
  "null",
  "undefined",
  "NaN",
  "-1",
  "0",
  "1e309",
  "0x7fffffff",
  "99999999999999999999",
  "true",
  "{}",
  "[]",
  "*",
  "__proto__",
  "constructor",
  "prototype",
];

const adversarialText = fc.oneof(
  fc.constantFrom(...SQL, ...TRAVERSAL, ...ENCODED, ...WEIRD),
  fc.string({ maxLength: 30 }),
  fc.string({ unit: "binary", maxLength: 20 }),
  fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9]{10}$/), // a valid but unknown UID
  fc.integer({ min: 1, max: 20_000 }).map((n) => "A".repeat(n)), // huge segment
);

/** Percent-encodes what a URL cannot carry raw, keeping `%xx` sequences the generator meant. */
function encodeChar(ch: string): string {
  try {
    return encodeURIComponent(ch);
  } catch {
    return "%EF%BF%BD"; // a lone surrogate cannot be encoded: send U+FFFD's bytes
  }
}
function pathSafe(text: string): string {
  return text.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@%/]/gu, encodeChar);
}
function querySafe(text: string): string {
  return text.replace(/[^A-Za-z0-9\-._~!$'()*,;:@%/?[\]]/gu, encodeChar);
}

const QUERY_NAMES = [
  "fields",
  "filter",
  "order",
  "limit",
  "page",
  "pageSize",
  "paging",
  "callback",
  "gist",
  "maxAge",
  "maxCount",
  "query",
  "rootJunction",
  "seconds",
  "minutes",
  "includeWaiting",
  "name",
];
const QUERY_VALUES = fc.oneof(
  adversarialText,
  fc.integer({ min: 30, max: 300 }).map((n) => "a".repeat(n)), // around the 50-byte LIKE limit and the 255-character caps
  fc
    .tuple(fc.constantFrom("id", "name", "jobType", "code"), fc.integer({ min: 1, max: 200 }))
    .map(([p, n]) => `${p}:in:[${Array.from({ length: n }, (_, i) => `v${i}`).join(",")}]`),
  fc
    .tuple(
      fc.constantFrom("name", "code", "displayName"),
      fc.constantFrom("like", "ilike", "token", "$ilike", "ilike$", "!ilike"),
      fc.integer({ min: 30, max: 120 }),
    )
    .map(([p, op, n]) => `${p}:${op}:${"%_".repeat(n / 2)}`),
  fc.constantFrom(
    "*",
    ":all",
    ":owner,!id",
    "id,name,jobParameters[*]",
    "a[b[c[d[e[f[g[h[i[j[k[l]]]]]]]]]]]",
    "[".repeat(2000),
    `${"]".repeat(50)},,,,!`,
    "name:eq:x",
    "name:like:%",
    "name:in:[a,b,c",
    `name:in:${"[".repeat(200)}`,
    `jobType:neq:${"'".repeat(30)}`,
    "id:gt",
    "::::",
    "password_hash:!null",
    "name:ilike:%_%",
    "lastExecuted:gt:2020-13-45",
    "name:asc",
    "name:sideways",
    "password_hash:desc",
    "alert(1)",
    "<script>alert(1)</script>",
    "jQuery1_2",
    "a.b.c",
    "alert(document.cookie)//",
    "x\ny",
    "cb;alert(1)",
    "-2147483649",
    "2147483648",
    "1.5",
    "#ff",
  ),
);

/** The query parameters a route declares in the app's OpenAPI document (its zod schemas). */
const openApi = app.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "reliability", version: "1" } }) as {
  paths?: Record<string, Record<string, { parameters?: { name: string; in: string }[] }>>;
};
function declaredQueryParams(route: RouteDef): string[] {
  const p = route.path.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, "{$1}");
  const op = openApi.paths?.[p]?.[route.method.toLowerCase()];
  return (op?.parameters ?? []).filter((x) => x.in === "query").map((x) => x.name);
}

/** A query string for a route: its own declared parameters first, then the usual DHIS2 ones. */
function queryStringFor(route: RouteDef, ownOnly = false): fc.Arbitrary<string> {
  const own = declaredQueryParams(route);
  const name =
    ownOnly && own.length
      ? fc.constantFrom(...own)
      : fc.oneof(
          ...(own.length ? [{ weight: 5, arbitrary: fc.constantFrom(...own) }] : []),
          { weight: 3, arbitrary: fc.constantFrom(...QUERY_NAMES) },
          { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
        );
  return fc
    .array(fc.tuple(name, QUERY_VALUES), { maxLength: 6 })
    .map((pairs) => (pairs.length ? `?${pairs.map(([k, v]) => `${querySafe(k)}=${querySafe(v)}`).join("&")}` : ""));
}

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

// Callers. Garbage credentials never name an existing user with a wrong password more than the
// lockout allows in one run; lockouts are reset after each request anyway.
const garbageAuth = fc.oneof(
  fc.constantFrom(
    "Basic",
    "Basic ",
    "Basic !!!!",
    `Basic ${btoa("no-colon")}`,
    `Basic ${btoa(":")}`,
    `Basic ${btoa("ghost:ghost")}`,
    `Basic ${btoa(`admin:${"x".repeat(2000)}`)}`,
    `Basic ${btoa(`${"u".repeat(300)}:p`)}`,
    `Basic ${"A".repeat(9000)}`,
    "Bearer abc.def.ghi",
    "ApiToken d2pat_00000000000000000000000000000000" + "0000000000",
    `ApiToken d2pat_${"x".repeat(40)}`,
    "ApiToken ",
    "Digest username=admin",
    `basic ${btoa("ADMIN:district")}`,
    `Basic\t${btoa("admin:district")}`,
  ),
  fc.string({ maxLength: 60 }).map((s) => s.replace(/[^\x20-\x7e]/g, "")),
);
type Caller = { kind: "admin" | "anon" | "garbage"; auth?: string };
const caller: fc.Arbitrary<Caller> = fc.oneof(
  { weight: 5, arbitrary: fc.constant<Caller>({ kind: "admin" }) },
  { weight: 3, arbitrary: fc.constant<Caller>({ kind: "anon" }) },
  { weight: 1, arbitrary: garbageAuth.map<Caller>((auth) => ({ kind: "garbage", auth })) },
);

const headerValue = fc.oneof(
  fc.constantFrom(
    "application/json",
    "application/xml",
    "text/csv",
    "application/javascript",
    "*/*",
    "text/html;q=0.1, */*;q=0",
    "application/json; charset=latin1",
    "text/plain",
    "multipart/form-data; boundary=",
    "application/x-www-form-urlencoded",
    "garbage/",
    ";;;",
    "",
    "a".repeat(4000),
  ),
  fc.string({ maxLength: 40 }).map((s) => s.replace(/[^\x20-\x7e]/g, "")),
);
const forwarded = fc.record(
  {
    "X-Forwarded-Host": fc.constantFrom("evil.example", "a/b@c", "[::1]:99999", "x".repeat(500), ",,,", "host:notaport"),
    "X-Forwarded-Proto": fc.constantFrom("javascript", "https", "HTTP", "ftp", "", "https,http"),
    "X-Forwarded-Port": fc.constantFrom("-1", "99999", "abc", "443", "0x50"),
    "X-Requested-With": fc.constantFrom("XMLHttpRequest", "x"),
    Origin: fc.constantFrom("null", "http://evil.example", "*"),
    Cookie: fc.constantFrom(
      "JSESSIONID=",
      "JSESSIONID=garbage",
      `JSESSIONID=${"A".repeat(5000)}`,
      "JSESSIONID=%FF%00; JSESSIONID=x",
      "a=b; ;;",
    ),
  },
  { requiredKeys: [] },
);

/** A JSON-ish value with hostile keys and types, as text. */
const hostileKey = fc.oneof(
  fc.constantFrom(
    "__proto__",
    "constructor",
    "prototype",
    "name",
    "jobType",
    "cronExpression",
    "delay",
    "jobParameters",
    "enabled",
    "id",
    "uid",
    "password",
    "authorities",
    "userRoles",
    "executedBy",
    "schedulingType",
    "jobStatus",
    "value",
    "key",
  ),
  fc.string({ maxLength: 10 }),
);
const hostileLeaf = fc.oneof(
  fc.constantFrom<unknown>(
    null,
    true,
    false,
    0,
    -1,
    1e308,
    -0,
    "",
    " ",
    "120",
    "-5",
    "1e3",
    "true",
    "DATA_INTEGRITY",
    "0 0 3 * * ?",
    "* * * * * *",
    "ONCE_ASAP",
    "ALL",
    ...SQL,
  ),
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double(),
  fc.integer({ min: 1000, max: 300_000 }).map((n) => "Z".repeat(n)),
);
const { tree: hostileJson } = fc.letrec<{ tree: unknown }>((tie) => ({
  tree: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    hostileLeaf,
    fc.array(tie("tree"), { maxLength: 4 }),
    fc.dictionary(hostileKey, tie("tree"), { maxKeys: 5 }),
  ),
}));
const jobLike = fc.record(
  {
    name: hostileLeaf,
    jobType: fc.oneof(fc.constantFrom("DATA_INTEGRITY", "data_integrity", "ANALYTICS_TABLE", "FOO", "HOUSEKEEPING"), hostileLeaf),
    cronExpression: fc.oneof(
      fc.constantFrom("0 0 3 * * ?", "* * * * *", "0 0 3 ? * MON-", "0/0 * * * * *", "60 * * * * *", "0 0 3 L W #"),
      hostileLeaf,
    ),
    delay: hostileLeaf,
    schedulingType: hostileLeaf,
    enabled: hostileLeaf,
    jobParameters: hostileJson,
    __proto__: fc.constant({ admin: true }),
    constructor: fc.constant({ prototype: { polluted: true } }),
  },
  { requiredKeys: [] },
);

/** A body, built lazily and printed short (fast-check prints counterexamples with toStringMethod). */
interface Body {
  make(): string | Uint8Array | undefined;
  contentType?: string;
  label: string;
}
function mkBody(make: () => string | Uint8Array | undefined, contentType?: string): Body {
  const b: Body = {
    make,
    contentType,
    get label() {
      const v = make();
      if (v === undefined) return "<none>";
      if (v instanceof Uint8Array) return `<bytes ${[...v].map((x) => x.toString(16).padStart(2, "0")).join(" ")}>`;
      return v.length > 160 ? `${JSON.stringify(v.slice(0, 160))}…(${v.length} chars)` : JSON.stringify(v);
    },
  };
  Object.defineProperty(b, fc.toStringMethod, { value: () => b.label });
  return b;
}
const NO_BODY = mkBody(() => undefined);
const text = (t: string, contentType?: string) => mkBody(() => t, contentType);

const body: fc.Arbitrary<Body> = fc.oneof(
  fc.constant(NO_BODY),
  hostileJson.map((v) => mkBody(() => JSON.stringify(v) ?? "null")),
  jobLike.map((v) => mkBody(() => JSON.stringify(v).replace('"admin":true', '"admin":true,"__proto__":{"isAdmin":true}'))),
  fc.integer({ min: 100, max: 5000 }).map((n) => mkBody(() => "[".repeat(n) + "]".repeat(n))), // deep nesting
  fc.integer({ min: 100, max: 3000 }).map((n) => mkBody(() => `${'{"a":'.repeat(n)}1${"}".repeat(n)}`)),
  fc.constantFrom(
    text(""),
    text("null"),
    text("[]"),
    text('"string"'),
    text("42"),
    text("{"),
    text('{"name":'),
    text("{'single':'quotes'}"),
    text('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}'),
    text('{"name":"x","name":"duplicate"}'),
    text("\uFEFF{}"),
    text('{"name":"\\ud800"}'),
    text("name=x&jobType=DATA_INTEGRITY", "application/x-www-form-urlencoded"),
    text("<jobConfiguration><name>x</name></jobConfiguration>", "application/xml"),
    mkBody(() => new Uint8Array([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc0, 0xaf, 0x22, 0x7d])), // {"n":"<invalid utf-8>"}
    mkBody(() => new Uint8Array([0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1])),
    mkBody(() => new Uint8Array([0, 0, 0, 0])),
  ),
  fc.integer({ min: 1_048_577, max: 1_300_000 }).map((n) => mkBody(() => JSON.stringify({ name: "x".repeat(n) }))), // over the body limit
);

// ---------------------------------------------------------------------------------------------
// Running one case
// ---------------------------------------------------------------------------------------------

interface Case {
  route: RouteDef;
  /** `/api/41/…` style version and `.json`/`.csv`/… suffix, as DHIS2 clients send them. */
  version: string;
  suffix: string;
  method: string;
  params: (string | null)[];
  query: string;
  headers: Record<string, string>;
  caller: Caller;
  body: Body;
}

const short = (v: string, n = 120) => (v.length > n ? `${v.slice(0, n)}…(${v.length} chars)` : v);

function describeCase(c: Case, target?: string): string {
  const params = c.params.map((p) => (p === null ? "<real>" : JSON.stringify(short(p, 60)))).join(", ");
  return `${c.method} ${target ? short(target, 300) : c.route.path}${target ? "" : ` version=${c.version} suffix=${c.suffix}`} params=[${params}] query=${short(c.query, 200)} caller=${c.caller.kind}${c.caller.auth ? `(${short(c.caller.auth, 40)})` : ""} headers=${short(JSON.stringify(c.headers), 200)} body=${c.body.label}`;
}

async function runCase(c: Case): Promise<void> {
  const fx = await fixtures();
  const path = fillPath(c.route, fx, (i) => {
    const v = c.params[i];
    return v === null || v === undefined ? undefined : pathSafe(v);
  });
  const versioned = c.version && path.startsWith("/api/") ? `/api${c.version}${path.slice(4)}` : path;
  const target = versioned + c.suffix + c.query;
  const headers: Record<string, string> = { ...c.headers };
  if (c.caller.kind === "admin") headers.Authorization = admin();
  if (c.caller.kind === "garbage" && c.caller.auth !== undefined) headers.Authorization = c.caller.auth;
  const payload = c.body.make();
  if (c.body.contentType) headers["Content-Type"] = c.body.contentType;
  else if (payload !== undefined && !("Content-Type" in headers)) headers["Content-Type"] = "application/json";
  const req: RawRequest = { method: c.method, target, headers, body: payload };

  const before = await snapshot();
  let res: Response;
  try {
    res = await send(req);
  } catch (e) {
    throw new Error(`request threw (${(e as Error).message}): ${describeCase(c, target)}`);
  }
  const status = res.status;
  const problem = await violation(res, c.method);
  if (problem) throw new Error(`${problem}\n  case: ${describeCase(c, target)}`);
  if (status >= 400) {
    const after = await snapshot();
    if (after !== before)
      throw new Error(
        `rejected request (${status}) changed stored data:\n${diffSnapshots(before, after)}\n  case: ${describeCase(c, target)}`,
      );
  }
  await resetLockouts();
  await restoreAdmin();
}

function caseArb(
  routes: RouteDef[],
  parts: { params?: boolean; query?: boolean; headers?: boolean; body?: boolean; method?: boolean; ownParamsOnly?: boolean },
): fc.Arbitrary<Case> {
  // Query strings matter most on the listing endpoints (GET without path parameters): favour them.
  const lists = routes.filter((r) => r.method === "GET" && !r.path.includes(":"));
  const routeArb =
    parts.query && lists.length
      ? fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...lists) }, { weight: 1, arbitrary: fc.constantFrom(...routes) })
      : fc.constantFrom(...routes);
  return routeArb.chain((route) =>
    fc
      .record({
        route: fc.constant(route),
        otherMethod: parts.method ? fc.option(fc.constantFrom(...METHODS), { freq: 4 }) : fc.constant(null),
        version: parts.params ? fc.constantFrom("", "", "", "/41", "/28", "/99", "/27", "/042") : fc.constant(""),
        suffix: parts.params ? fc.constantFrom("", "", "", ".json", ".csv", ".xml", ".jsonp", ".html", ".json.json") : fc.constant(""),
        params: parts.params
          ? fc.array(fc.option(adversarialText, { freq: 3 }), { minLength: 3, maxLength: 3 })
          : fc.constant<(string | null)[]>([null, null, null]),
        query: parts.query ? queryStringFor(route, parts.ownParamsOnly) : fc.constant(""),
        accept: parts.headers ? fc.option(headerValue) : fc.constant(null),
        contentType: parts.headers ? fc.option(headerValue) : fc.constant(null),
        fwd: parts.headers ? forwarded : fc.constant({}),
        caller,
        body: parts.body ? body : fc.constant(NO_BODY),
      })
      .map(({ route, otherMethod, version, suffix, params, query, accept, contentType, fwd, caller, body }) => {
        const headers: Record<string, string> = { ...(fwd as Record<string, string>) };
        if (accept !== null) headers.Accept = accept;
        if (contentType !== null) headers["Content-Type"] = contentType;
        const c: Case = { route, version, suffix, method: otherMethod ?? route.method, params, query, headers, caller, body };
        Object.defineProperty(c, fc.toStringMethod, { value: () => describeCase(c) });
        return c;
      }),
  );
}

/** Runs a property; reports how many cases ran (a busy machine runs a shorter prefix of the seed). */
async function runProperty(arb: fc.Arbitrary<Case>, seed: number, numRuns: number): Promise<void> {
  const out = await fc.check(fc.asyncProperty(arb, runCase), opts(seed, numRuns));
  if (out.failed) throw new Error(fc.defaultReportMessage(out) ?? `property failed (seed ${seed})`);
  console.log(`hostile input, seed ${seed}: ${out.numRuns} cases${out.interrupted ? ` (stopped by the ${TIME_LIMIT_MS} ms limit)` : ""}`);
  expect(out.numRuns).toBeGreaterThanOrEqual(Math.min(numRuns, 10));
}

// ---------------------------------------------------------------------------------------------

const routes = appRoutes();

describe(`hostile input on every endpoint (${routes.length} routes, seed ${SEED})`, () => {
  beforeAll(async () => {
    await ensureRoleUsers();
    await fixtures();
  });
  afterAll(async () => {
    await clearAllAlarms();
  });

  it("discovers the app's routes", () => {
    expect(routes.length).toBeGreaterThan(0);
    for (const r of routes) expect(r.path.startsWith("/")).toBe(true);
  });

  it("random and adversarial path parameters and methods", async () => {
    await runProperty(caseArb(routes, { params: true, method: true }), SEED, RUNS.paths);
  });

  it("adversarial query strings (fields, filter, order, limit, page, pageSize, callback, gist, maxAge)", async () => {
    await runProperty(caseArb(routes, { query: true }), SEED + 1, RUNS.queries);
  });

  it("query-language parameters (filter, order, fields, query, paging) on the endpoints that declare them", async () => {
    const queryLanguage = routes.filter((r) => declaredQueryParams(r).some((p) => p === "filter" || p === "query" || p === "order"));
    expect(queryLanguage.length).toBeGreaterThan(0);
    await runProperty(caseArb(queryLanguage, { query: true, ownParamsOnly: true }), SEED + 5, RUNS.queries);
  });

  it("adversarial headers (Accept, Content-Type, Authorization garbage, X-Forwarded-*)", async () => {
    await runProperty(caseArb(routes, { headers: true, method: true }), SEED + 2, RUNS.headers);
  });

  it("hostile JSON bodies (nesting, huge strings, wrong types, __proto__, invalid UTF-8, SQL)", async () => {
    await runProperty(caseArb(routes, { body: true, params: false }), SEED + 3, RUNS.bodies);
  });

  it("everything at once", async () => {
    await runProperty(caseArb(routes, { params: true, query: true, headers: true, body: true, method: true }), SEED + 4, RUNS.all);
  });

  it("paths outside the route table: traversal, encoded bytes, huge segments", async () => {
    const targets = [
      "/api/../api/system/info",
      "/api/%2e%2e/%2e%2e/etc/passwd",
      "/api/system/%FF",
      "/api/%C0%AF",
      `/api/${"a".repeat(50_000)}`,
      `/api/jobConfigurations/${"%00".repeat(100)}`,
      "/api/41/../../jobConfigurations",
      "/api/99/system/info",
      "/api/system/info.exe",
      "/api/system/info.json.json",
      "//api//system//info",
      "/api/jobConfigurations/%2F..%2F..%2F",
      "/%",
      "/api/%",
    ];
    for (const t of targets) {
      for (const auth of [admin(), null]) {
        const res = await send({ method: "GET", target: t, headers: auth ? { Authorization: auth } : {} });
        const problem = await violation(res, "GET");
        expect(problem, `GET ${t.slice(0, 80)} as ${auth ? "admin" : "anonymous"}`).toBeNull();
      }
    }
  });

  it("/api/scheduling {type} values: adversarial, encoded and huge types answer WebMessages and change nothing", async () => {
    const values = [...SQL, ...TRAVERSAL, ...ENCODED, ...WEIRD, "a".repeat(20_000), "test", "TeSt", "PUSH_ANALYSIS", "%00TEST"];
    const routes: [string, string][] = [
      ["GET", "/api/scheduling/running/"],
      ["GET", "/api/scheduling/completed/"],
      ["POST", "/api/scheduling/cancel/"],
    ];
    for (const v of values) {
      for (const [method, prefix] of routes) {
        for (const auth of [admin(), null]) {
          const before = await snapshot();
          const res = await send({ method, target: prefix + pathSafe(v), headers: auth ? { Authorization: auth } : {} });
          const status = res.status;
          const problem = await violation(res, method);
          expect(problem, `${method} ${prefix}${v.slice(0, 40)} as ${auth ? "admin" : "anonymous"}`).toBeNull();
          if (status >= 400) expect(await snapshot()).toBe(before);
          if (auth && /^[a-z_]+$/i.test(v) && status !== 400) expect([200, 204]).toContain(status);
        }
      }
    }
  });

  it("run history and job errors: each declared query parameter, hostile or repeated, answers 200 or a 400 WebMessage and changes nothing", async () => {
    const fx = await fixtures();
    const keys = [
      "GET /api/scheduler/runs",
      "GET /api/jobConfigurations/{}/runs",
      "GET /api/jobConfigurations/errors",
      "GET /api/jobConfigurations/{}/errors",
      "GET /api/jobConfigurations/{}/progress/errors",
    ];
    const values = [
      ...SQL,
      ...TRAVERSAL,
      ...ENCODED,
      ...WEIRD,
      "a".repeat(20_000),
      Array.from({ length: 101 }, (_, i) => `E${i}`).join(","), // one value over the list limit
      ",,,",
      "COMPLETED,,FAILED",
      "failed",
      "2035-01-01T00:00:00.000Z",
      "2035-13-01",
      "9999-12-31T23:59:59.999",
      "AbCdEfGhIj1",
      "ANALYTICS_TABLE,test",
      "E4000",
      "2147483648",
    ];
    for (const key of keys) {
      const route = routes.find((r) => r.key === key);
      expect(route, key).toBeDefined();
      const path = fillPath(route!, fx);
      const names = declaredQueryParams(route!);
      if (key.endsWith("/runs")) expect(names).toEqual(expect.arrayContaining(["status", "trigger", "since", "until", "page", "pageSize"]));
      if (key.endsWith("/jobConfigurations/errors"))
        expect(names).toEqual(expect.arrayContaining(["user", "from", "to", "code", "object", "type", "includeInput"]));
      const before = await snapshot();
      const queries = [
        ...names.flatMap((name) => values.map((v) => `${name}=${querySafe(v)}`)),
        // Repeated list parameters, one of them bad; 101 repetitions.
        ...names.map((name) => `${name}=FAILED&${name}=%00`),
        ...names.map((name) => Array.from({ length: 101 }, (_, i) => `${name}=v${i}`).join("&")),
        names.map((name) => `${name}=${querySafe(SQL[1])}`).join("&"),
      ];
      for (const query of queries) {
        const res = await send({ method: "GET", target: `${path}?${query}`, headers: { Authorization: admin() } });
        const status = res.status;
        expect(await violation(res, "GET"), `${key}?${query.slice(0, 80)}`).toBeNull();
        expect([200, 400], `${key}?${query.slice(0, 80)}: ${status}`).toContain(status);
      }
      const anonymous = await send({ method: "GET", target: `${path}?${names.map((n) => `${n}=x`).join("&")}`, headers: {} });
      expect(anonymous.status, key).toBe(401);
      expect(await violation(anonymous, "GET")).toBeNull();
      expect(await snapshot(), key).toBe(before);
    }
  });

  it("queue names: control characters, line breaks and over-long names are 409 WebMessages; nothing is stored", async () => {
    const fx = await fixtures();
    const other = await createJob(`Hostile queue member ${Date.now()}`);
    const body = () => JSON.stringify({ cronExpression: "0 0 4 ? * *", sequence: [fx.jobUid, other] });
    const refused = [
      "%00",
      "a%0d%0aSet-Cookie:%20x=1",
      "tab%09tab",
      "%E2%80%A8",
      "%C2%85",
      "%7F",
      "A".repeat(51),
      "B".repeat(20_000),
      "%20%20",
    ];
    for (const name of [...refused, ...SQL.map(pathSafe), ...TRAVERSAL.map(pathSafe), "%FF", "%F0%9F%92%A9", "__proto__"]) {
      const before = await snapshot();
      const res = await send({
        method: "POST",
        target: `/api/scheduler/queues/${name}`,
        headers: { Authorization: admin(), "Content-Type": "application/json" },
        body: body(),
      });
      const status = res.status;
      const text = await res.clone().text();
      expect(await violation(res, "POST"), `POST queue ${name.slice(0, 40)}`).toBeNull();
      if (refused.includes(name)) {
        expect(status, `${name.slice(0, 40)}: ${text.slice(0, 200)}`).toBe(409);
        expect(["E4000", "E4002", "E4027"]).toContain(JSON.parse(text).errorCode);
      }
      if (status >= 400) {
        expect(await snapshot(), name.slice(0, 40)).toBe(before);
        continue;
      }
      // Accepted (a printable name up to 50 characters): delete it again, so the jobs stay free.
      const names: string[] = await (
        await send({ method: "GET", target: "/api/scheduler/queues", headers: { Authorization: admin() } })
      ).json();
      expect(names.length, name.slice(0, 40)).toBe(1);
      const del = await send({
        method: "DELETE",
        target: `/api/scheduler/queues/${encodeURIComponent(names[0])}`,
        headers: { Authorization: admin() },
      });
      expect(del.status, JSON.stringify(names[0])).toBe(204);
      for (const n of names[0]) expect(n.codePointAt(0)! >= 0x20 && n !== "\u007f", JSON.stringify(names[0])).toBe(true);
    }
  });

  it("alert rule bodies: hostile URLs, secrets, scopes and conditions are WebMessages; what is stored is safe; secrets never shown", async () => {
    const fx = await fixtures();
    const urls = [
      "javascript:alert(1)",
      "file:///etc/passwd",
      "http://169.254.169.254/latest/meta-data/",
      "http://evil.example/hook",
      "https://user:pw@evil.example/hook",
      "https://evil.example/hook#fragment",
      `https://${"a".repeat(3000)}.example/`,
      "https://evil.example/a\r\nX-Injected: 1",
      "https://例え.jp/hook",
      "//evil.example/hook",
      "ws://evil.example/",
      "https://",
      "http://localhost.evil.example/",
      "https://hooks.example.org/T0/B0/ok",
    ];
    // Secrets carry a marker no other generated value has, so any leak of one is visible.
    const secret = fc.oneof(
      fc.string({ minLength: 0, maxLength: 300 }).map((t) => `s3cr3t-${t}`),
      hostileLeaf,
    );
    const list = fc.oneof(
      fc.constant(undefined),
      fc.array(fc.oneof(fc.constantFrom("ANALYTICS_TABLE", "TEST", fx.jobUid, "abcdefghijk", ...SQL), hostileLeaf), { maxLength: 150 }),
      hostileLeaf,
    );
    const alertLike = fc.record(
      {
        id: fc.oneof(fc.constant(undefined), fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9]{10}$/), hostileLeaf),
        name: hostileLeaf,
        enabled: hostileLeaf,
        scope: fc.oneof(fc.constantFrom("ALL_JOBS", "JOB_TYPES", "JOBS", "all_jobs"), hostileLeaf),
        jobTypes: list,
        jobs: list,
        conditions: fc.oneof(
          fc.record(
            {
              failed: fc.oneof(fc.boolean(), hostileLeaf),
              lost: fc.boolean(),
              lateSeconds: fc.oneof(fc.integer({ min: -10, max: 200_000 }), fc.constantFrom(1e300, 4.5, "30"), hostileLeaf),
              failuresInARow: fc.oneof(fc.integer({ min: -1, max: 1000 }), hostileLeaf),
              recovered: fc.boolean(),
              __proto__: fc.constant({ polluted: true }),
            },
            { requiredKeys: [] },
          ),
          hostileJson,
        ),
        channel: fc.oneof(
          fc.record(
            {
              type: fc.constantFrom("WEBHOOK", "webhook", "EMAIL", "SMS"),
              url: fc.oneof(fc.constantFrom(...urls), hostileLeaf),
              secret,
              address: hostileLeaf,
            },
            { requiredKeys: ["type"] },
          ),
          hostileJson,
        ),
      },
      { requiredKeys: [] },
    );
    const arb = fc.tuple(fc.constantFrom("POST", "PUT"), alertLike);
    const out = await fc.check(
      fc.asyncProperty(arb, async ([method, rule]) => {
        const target = method === "POST" ? "/api/scheduler/alerts" : `/api/scheduler/alerts/${(await fixtures()).alertId}`;
        const before = await snapshot();
        const res = await send({
          method,
          target,
          headers: { Authorization: admin(), "Content-Type": "application/json" },
          body: JSON.stringify(rule),
        });
        const status = res.status;
        const problem = await violation(res, method);
        if (problem) throw new Error(`${problem}\n  case: ${method} ${JSON.stringify(rule).slice(0, 400)}`);
        if (status >= 400 && (await snapshot()) !== before) throw new Error(`rejected alert rule (${status}) changed stored data`);
      }),
      opts(SEED + 6, 150),
    );
    if (out.failed) throw new Error(fc.defaultReportMessage(out) ?? "alert rule property failed");
    expect(out.numRuns).toBeGreaterThanOrEqual(10);
    // Whatever was accepted is safe: https (or http to localhost in local development), and never shown.
    const { results } = await env.DB.prepare(
      `SELECT uid, webhook_url, webhook_secret FROM alert_rules WHERE channel_type = 'WEBHOOK'`,
    ).all<{
      uid: string;
      webhook_url: string;
      webhook_secret: string;
    }>();
    for (const r of results) expect(webhookUrlProblem(r.webhook_url, true), r.webhook_url).toBeNull();
    const shown = await (await send({ method: "GET", target: "/api/scheduler/alerts", headers: { Authorization: admin() } })).text();
    expect(shown).not.toContain("s3cr3t-");
    for (const r of results) expect(shown.includes(r.webhook_secret), "a stored secret is shown").toBe(false);
  });

  it("prototype pollution through a body does not reach Object.prototype", async () => {
    const fx = await fixtures();
    for (const r of routes.filter((x) => x.method === "POST" || x.method === "PUT" || x.method === "PATCH")) {
      await send({
        method: r.method,
        target: fillPath(r, fx),
        headers: { Authorization: admin(), "Content-Type": "application/json" },
        body: '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}',
      }).then((res) => res.arrayBuffer());
    }
    expect(({} as any).polluted).toBeUndefined();
    expect((Object.prototype as any).polluted).toBeUndefined();
  });
});
