/**
 * Issue 14, point 3: no route silently ignores DHIS2's `filter`, `order` or `fields`. The test walks
 * every GET route of the app: a parameter the route declares (in its OpenAPI query schema) must have
 * a probe below that shows its effect, so a route cannot declare what it does not apply; a parameter
 * it does not declare must be refused with a 400 WebMessage naming it. A route without probes for its
 * declared parameters fails the suite, as a route without a row fails the access matrix.
 */
import { env } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { OPTION_LISTS, setOptionSourceFactory } from "../../src/appshell/options";
import { OPENAPI_INFO } from "../../src/openapi/routes";
import { clearAllAlarms, createJob, fillPath, fixtures, uniqueCron, type Fixtures } from "./fixtures";
import { admin, appRoutes, call, erasePattern, type RouteDef } from "./support";

type Param = "filter" | "order" | "fields";
const PARAMS: Param[] = ["filter", "order", "fields"];
/** Values that every route that ignored the parameter would have answered 200 to. */
const PROBE_VALUES: Record<Param, string> = { filter: "id:eq:AAAAAAAAAAA", order: "id:desc", fields: "id" };

/** Routes that serve files rather than API resources (hosted app bundles). */
const NOT_API = new Set(["GET /{}", "GET /{}/*"]);

async function get(path: string): Promise<any> {
  const res = await call("GET", path, admin());
  expect(res.status, path).toBe(200);
  return res.json();
}

const keysOf = (items: unknown[]) => [...new Set(items.flatMap((i) => Object.keys(i as object)))];

/** The declared query parameters of every documented GET path, by erased path (`/api/users/{}`). */
function declaredParameters(): Map<string, Set<string>> {
  const doc: any = app.getOpenAPI31Document({ openapi: "3.1.0", info: OPENAPI_INFO });
  const out = new Map<string, Set<string>>();
  for (const [path, item] of Object.entries<any>(doc.paths)) {
    if (!item.get) continue;
    const names = (item.get.parameters ?? []).filter((p: any) => p.in === "query").map((p: any) => p.name);
    out.set(path.replace(/\{[^}]+\}/g, "{}"), new Set(names));
  }
  return out;
}

/** A list with the field selection applied: every item carries exactly the selected members. */
async function fieldsOnItems(path: string, member: string): Promise<void> {
  const sep = path.includes("?") ? "&" : "?";
  const body = await get(`${path}${sep}fields=id`);
  const items: unknown[] = Array.isArray(body) ? body : body[member];
  expect(items.length, path).toBeGreaterThan(0);
  expect(keysOf(items)).toEqual(["id"]);
}

async function fieldsOnObject(path: string, field = "id"): Promise<void> {
  expect(Object.keys(await get(`${path}?fields=${field}`))).toEqual([field]);
}

/** `filter` selects: one known item, then nothing. */
async function filterSelects(path: string, member: string, property: string, value: string): Promise<void> {
  const one = await get(`${path}?filter=${property}:eq:${encodeURIComponent(value)}&fields=${property}`);
  expect(one[member].map((i: any) => i[property])).toEqual([value]);
  const none = await get(`${path}?filter=id:eq:AAAAAAAAAAA`);
  expect(none[member]).toEqual([]);
}

/** `order` orders: descending is ascending reversed (with at least two items). */
async function orderSorts(path: string, member: string, property: string): Promise<void> {
  const asc = (await get(`${path}?order=${property}:asc&fields=${property}&paging=false`))[member].map((i: any) => i[property]);
  const desc = (await get(`${path}?order=${property}:desc&fields=${property}&paging=false`))[member].map((i: any) => i[property]);
  expect(asc.length).toBeGreaterThan(1);
  expect(desc).toEqual([...asc].reverse());
  expect(asc).not.toEqual(desc);
}

/** How each declared parameter shows its effect, by route. */
const HONOURED: Record<string, Partial<Record<Param, (fx: Fixtures, path: string) => Promise<void>>>> = {
  "GET /api/system/info": { fields: () => fieldsOnObject("/api/system/info", "version") },
  "GET /api/me": { fields: () => fieldsOnObject("/api/me") },
  "GET /api/users": {
    fields: () => fieldsOnItems("/api/users", "users"),
    filter: () => filterSelects("/api/users", "users", "username", "list_probe_b"),
    order: () => orderSorts("/api/users", "users", "username"),
  },
  "GET /api/users/{}": { fields: (_fx, path) => fieldsOnObject(path) },
  "GET /api/apiToken": { fields: () => fieldsOnItems("/api/apiToken", "apiToken") },
  "GET /api/apiToken/{}": { fields: (_fx, path) => fieldsOnObject(path) },
  "GET /api/jobConfigurations": {
    fields: () => fieldsOnItems("/api/jobConfigurations", "jobConfigurations"),
    filter: (fx) => filterSelects("/api/jobConfigurations", "jobConfigurations", "id", fx.jobUid),
    order: () => orderSorts("/api/jobConfigurations", "jobConfigurations", "name"),
  },
  "GET /api/jobConfigurations/gist": {
    fields: () => fieldsOnItems("/api/jobConfigurations/gist", "jobConfigurations"),
    filter: (fx) => filterSelects("/api/jobConfigurations/gist", "jobConfigurations", "id", fx.jobUid),
    order: () => orderSorts("/api/jobConfigurations/gist", "jobConfigurations", "name"),
  },
  "GET /api/jobConfigurations/{}": { fields: (_fx, path) => fieldsOnObject(path) },
  "GET /api/jobConfigurations/{}/gist": { fields: (_fx, path) => fieldsOnObject(path) },
  "GET /api/jobConfigurations/jobTypes": {
    fields: async () => {
      const body = await get("/api/jobConfigurations/jobTypes?fields=jobType");
      expect(keysOf(body.jobTypes)).toEqual(["jobType"]);
      // The Scheduler app's `fields=*` keeps every member.
      expect(await get("/api/jobConfigurations/jobTypes?fields=*&paging=false")).toEqual(await get("/api/jobConfigurations/jobTypes"));
    },
  },
  "GET /api/scheduler": {
    order: async () => {
      const names = (await get("/api/scheduler?order=name")).map((e: any) => e.name);
      expect(names.length).toBeGreaterThan(1);
      expect(names).toEqual([...names].sort());
    },
  },
  "GET /api/scheduler/queues/{}": { fields: (_fx, path) => fieldsOnObject(path, "name") },
  ...Object.fromEntries(OPTION_LISTS.map((name) => [`GET /api/${name}`, { fields: () => fieldsOnItems(`/api/${name}`, name) }])),
};

let fx: Fixtures;

beforeAll(async () => {
  fx = await fixtures();
  await createJob(`List probe ${uniqueCron()}`);
  for (const username of ["list_probe_a", "list_probe_b"]) {
    const res = await call("POST", "/api/users", admin(), { username, password: "List-Pr0be!x", firstName: "L", surname: "P" });
    expect(res.status).toBe(201);
  }
  const queue = await call("POST", `/api/scheduler/queues/${fx.queueName}`, admin(), {
    cronExpression: uniqueCron(),
    sequence: [await createJob(`List queue 1 ${uniqueCron()}`), await createJob(`List queue 2 ${uniqueCron()}`)],
  });
  expect(queue.status).toBe(201);
  setOptionSourceFactory(() => ({
    list: async () => [
      { id: "OptionAaaa1", displayName: "Alpha" },
      { id: "OptionBbbb2", displayName: "Beta" },
    ],
    dataIntegrityChecks: async () => [],
  }));
});

afterAll(async () => {
  setOptionSourceFactory(null);
  await clearAllAlarms();
});

describe("filter, order and fields on every GET route", () => {
  const routes = appRoutes().filter((r) => r.method === "GET" && !NOT_API.has(r.key));

  it("covers the app's GET routes", () => {
    expect(routes.length).toBeGreaterThan(40);
  });

  it.each(routes.map((r) => [r.key, r] as [string, RouteDef]))("%s", async (key, route) => {
    const declared = declaredParameters().get(erasePattern(route.path)) ?? new Set<string>();
    const path = fillPath(route, fx);
    for (const param of PARAMS) {
      if (declared.has(param)) {
        const probe = HONOURED[key]?.[param];
        expect(probe, `${key} declares \`${param}\`: add a probe showing its effect to HONOURED`).toBeDefined();
        await probe!(fx, path);
      } else {
        const res = await call(
          "GET",
          `${path}${path.includes("?") ? "&" : "?"}${param}=${encodeURIComponent(PROBE_VALUES[param])}`,
          admin(),
        );
        const body: any = await res.json().catch(() => ({}));
        expect(res.status, `${key} ?${param}=`).toBe(400);
        expect(body).toMatchObject({ httpStatus: "Bad Request", httpStatusCode: 400, status: "ERROR", errorCode: "E1003" });
        expect(body.message).toContain(`Query parameter \`${param}\` is not supported`);
      }
    }
  });

  it("every route with probes still declares what its probes test", () => {
    const declared = declaredParameters();
    for (const [key, probes] of Object.entries(HONOURED)) {
      const erased = key.replace(/^GET /, "");
      for (const param of Object.keys(probes)) expect(declared.get(erased)?.has(param), `${key} ${param}`).toBe(true);
    }
  });

  it("GET /api/users?filter=username:eq:<name> is that user only, not everyone (the issue's example)", async () => {
    const body = await get("/api/users?filter=username:eq:list_probe_a&fields=username");
    expect(body.users).toEqual([{ username: "list_probe_a" }]);
    expect(body.pager).toMatchObject({ total: 1 });
    const bad = await call("GET", "/api/users?filter=password:eq:x", admin());
    expect(bad.status).toBe(409);
    expect(((await bad.json()) as any).message).toBe("Unknown path property: password");
    // Anonymous callers still get 401 first.
    expect((await call("GET", "/api/system/ping?filter=x:eq:y", null)).status).toBe(401);
    expect(await env.DB.prepare(`SELECT COUNT(*) AS n FROM users WHERE username LIKE 'list_probe_%'`).first()).toEqual({ n: 2 });
  });
});
