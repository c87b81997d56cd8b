import { env } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, json } from "../helpers";
import { cleanupJobs } from "./support";

const T0 = Date.UTC(2026, 0, 1, 0, 0, 0);

interface Seed {
  uid: string;
  name: string;
  type: string;
  cron?: string | null;
  delay?: number | null;
  enabled?: number;
  code?: string | null;
  created?: number;
}

// Names chosen to exercise case-insensitive ordering and the match operators.
const SEEDS: Seed[] = [
  { uid: "aJob0000001", name: "alpha analytics", type: "ANALYTICS_TABLE", cron: "0 0 1 ? * *", code: "ALPHA" },
  { uid: "aJob0000002", name: "Beta integrity", type: "DATA_INTEGRITY", cron: "0 0 2 ? * *" },
  { uid: "aJob0000003", name: "gamma Integrity", type: "DATA_INTEGRITY", cron: "0 0 3 ? * *", enabled: 0 },
  { uid: "aJob0000004", name: "Delta continuous", type: "CONTINUOUS_ANALYTICS_TABLE", cron: null, delay: 120 },
  { uid: "aJob0000005", name: "epsilon 100%_off", type: "RESOURCE_TABLE", cron: "0 0 5 ? * *" },
  { uid: "aJob0000006", name: "Zeta inactive users", type: "DISABLE_INACTIVE_USERS", cron: "0 0 6 ? * *" },
  { uid: "aJob0000007", name: "eta run once", type: "RESOURCE_TABLE", cron: null, delay: null },
];

beforeAll(async () => {
  const stmts = SEEDS.map((s, i) =>
    env.DB.prepare(
      `INSERT INTO job_configurations (uid, name, code, job_type, scheduling_type, cron_expression, delay, enabled, job_status, created, last_updated, system)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)`,
    ).bind(
      s.uid,
      s.name,
      s.code ?? null,
      s.type,
      s.cron ? "CRON" : s.delay ? "FIXED_DELAY" : "ONCE_ASAP",
      s.cron ?? null,
      s.delay ?? null,
      s.enabled ?? 1,
      s.enabled === 0 ? "DISABLED" : s.cron || s.delay ? "SCHEDULED" : "NOT_STARTED",
      T0 + i * 1000,
      T0 + i * 1000,
    ),
  );
  await env.DB.batch(stmts);
});
afterAll(cleanupJobs);

async function list(query: string): Promise<{ status: number; body: any }> {
  const res = await api(`/api/jobConfigurations${query}`);
  return { status: res.status, body: await json(res) };
}

const ids = (body: any) => body.jobConfigurations.map((j: any) => j.id);
const names = (body: any) => body.jobConfigurations.map((j: any) => j.displayName ?? j.name);
const mine = (body: any) => ids(body).filter((id: string) => id.startsWith("aJob"));

describe("GET /api/jobConfigurations", () => {
  it("defaults: id,displayName, name order ignoring case, pager of 50, system jobs included", async () => {
    const { status, body } = await list("");
    expect(status).toBe(200);
    expect(body.pager).toEqual({ page: 1, total: 17, pageSize: 50, pageCount: 1 });
    expect(Object.keys(body.jobConfigurations[0]).sort()).toEqual(["displayName", "id"]);
    const n = names(body);
    expect(n).toEqual([...n].sort((a: string, b: string) => a.toLowerCase().localeCompare(b.toLowerCase())));
    expect(ids(body)).toContain("DHIS2rocks1");
    expect(body.jobConfigurations.find((j: any) => j.id === "DHIS2rocks1")).toEqual({ id: "DHIS2rocks1", displayName: "Housekeeping" });
  });

  it("pages with absolute next/prev URLs that keep the other parameters", async () => {
    const { body } = await list("?pageSize=5&page=2&fields=id&filter=system:eq:false".replace("&filter=system:eq:false", ""));
    expect(body.pager).toEqual({
      page: 2,
      total: 17,
      pageSize: 5,
      pageCount: 4,
      nextPage: "http://localhost:8787/api/jobConfigurations?pageSize=5&page=3&fields=id",
      prevPage: "http://localhost:8787/api/jobConfigurations?pageSize=5&page=1&fields=id",
    });
    expect(body.jobConfigurations).toHaveLength(5);
    const first = await list("?pageSize=5&fields=id");
    expect(first.body.pager.prevPage).toBeUndefined();
    expect(first.body.pager.nextPage).toBe("http://localhost:8787/api/jobConfigurations?pageSize=5&fields=id&page=2");
    const last = await list("?pageSize=5&page=4&fields=id");
    expect(last.body.jobConfigurations).toHaveLength(2);
    expect(last.body.pager.nextPage).toBeUndefined();
    const all = new Set([...ids(first.body), ...ids(body), ...ids((await list("?pageSize=5&page=3&fields=id")).body), ...ids(last.body)]);
    expect(all.size).toBe(17);
    const beyond = await list("?pageSize=5&page=9&fields=id");
    expect(beyond.body.jobConfigurations).toEqual([]);
  });

  it("paging=false: every job, no pager", async () => {
    const res = await api("/api/jobConfigurations?paging=false&fields=id,name");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/json;charset=UTF-8");
    const body = await json(res);
    expect(body.pager).toBeUndefined();
    expect(body.jobConfigurations).toHaveLength(17);
    const none = await json(await api("/api/jobConfigurations?paging=false&filter=name:eq:nothing"));
    expect(none).toEqual({ jobConfigurations: [] });
  });

  it("bad paging parameters are 400 with DHIS2's wording", async () => {
    const r = await list("?page=abc");
    expect(r.status).toBe(400);
    expect(r.body.message).toBe(`Value 'abc' is not valid for parameter page. For input string: "abc"`);
    expect((await list("?paging=maybe")).status).toBe(400);
    expect((await list("?rootJunction=XOR")).status).toBe(400);
  });

  it("fields: presets, nested, exclusions on lists", async () => {
    const { body } = await list("?fields=id,jobType,createdBy[id],!id&filter=id:eq:aJob0000001");
    expect(body.jobConfigurations).toEqual([{ jobType: "ANALYTICS_TABLE" }]);
    const star = await list("?fields=*&filter=id:eq:aJob0000004");
    expect(star.body.jobConfigurations[0]).toMatchObject({
      id: "aJob0000004",
      schedulingType: "FIXED_DELAY",
      delay: 120,
      configurable: true,
      jobStatus: "SCHEDULED",
    });
    const scheduler = await list(
      "?fields=created,configurable,cronExpression,delay,id,jobParameters,jobType,lastExecuted,lastExecutedStatus,name&filter=id:eq:aJob0000002",
    );
    expect(scheduler.body.jobConfigurations).toEqual([
      {
        id: "aJob0000002",
        created: "2026-01-01T00:00:01.000",
        name: "Beta integrity",
        jobType: "DATA_INTEGRITY",
        cronExpression: "0 0 2 ? * *",
        lastExecutedStatus: "NOT_STARTED",
        configurable: true,
      },
    ]);
  });
});

describe("filters", () => {
  const cases: [string, string[]][] = [
    ["jobType:eq:DATA_INTEGRITY", ["aJob0000002", "aJob0000003"]],
    ["jobType:ieq:data_integrity", ["aJob0000002", "aJob0000003"]],
    ["name:eq:alpha analytics", ["aJob0000001"]],
    ["name:eq:ALPHA ANALYTICS", []],
    ["name:ieq:ALPHA ANALYTICS", ["aJob0000001"]],
    ["name:like:Integrity", ["aJob0000003"]],
    ["name:ilike:integrity", ["aJob0000002", "aJob0000003"]],
    ["name:!ilike:a", ["aJob0000005"]],
    ["name:$like:Beta", ["aJob0000002"]],
    ["name:$ilike:BETA", ["aJob0000002"]],
    ["name:startsWith:beta", ["aJob0000002"]],
    ["name:like$:users", ["aJob0000006"]],
    ["name:ilike$:USERS", ["aJob0000006"]],
    ["name:endsWith:Users", ["aJob0000006"]],
    ["name:!like$:s", ["aJob0000002", "aJob0000003", "aJob0000007", "aJob0000005"]],
    ["name:ilike:100%_", ["aJob0000005"]],
    ["name:ilike:%", ["aJob0000005"]],
    ["name:ilike:_", ["aJob0000005"]],
    ["name:token:integ BET", ["aJob0000002"]],
    ["delay:eq:120", ["aJob0000004"]],
    ["delay:gt:100", ["aJob0000004"]],
    ["delay:ge:120", ["aJob0000004"]],
    ["delay:lt:121", ["aJob0000004"]],
    ["delay:le:119", []],
    ["enabled:eq:false", ["aJob0000003"]],
    ["jobStatus:eq:NOT_STARTED", ["aJob0000007"]],
    ["jobStatus:eq:DISABLED", ["aJob0000003"]],
    ["schedulingType:eq:ONCE_ASAP", ["aJob0000007"]],
    ["schedulingType:eq:FIXED_DELAY", ["aJob0000004"]],
    ["code:eq:ALPHA", ["aJob0000001"]],
    ["code:!null", ["aJob0000001"]],
    ["id:in:[aJob0000001,aJob0000006,nope]", ["aJob0000001", "aJob0000006"]],
    ["id:in:aJob0000002", ["aJob0000002"]],
    ["cronExpression:null", ["aJob0000004", "aJob0000007"]],
    ["cronExpression:empty", ["aJob0000004", "aJob0000007"]],
    ["created:gt:2026-01-01T00:00:04", ["aJob0000006", "aJob0000007"]],
    ["created:le:2026-01-01T00:00:00.000", ["aJob0000001"]],
    ["configurable:eq:true", ["aJob0000001", "aJob0000002", "aJob0000003", "aJob0000004", "aJob0000005", "aJob0000006", "aJob0000007"]],
    ["leaderOnlyJob:eq:true", ["aJob0000001", "aJob0000002", "aJob0000003", "aJob0000004", "aJob0000005", "aJob0000006", "aJob0000007"]],
    ["lastExecuted:null", ["aJob0000001", "aJob0000002", "aJob0000003", "aJob0000004", "aJob0000005", "aJob0000006", "aJob0000007"]],
  ];
  for (const [filter, expected] of cases) {
    it(filter, async () => {
      const { status, body } = await list(`?paging=false&fields=id&filter=${encodeURIComponent(filter)}`);
      expect(status).toBe(200);
      expect(mine(body).sort()).toEqual([...expected].sort());
    });
  }

  it("negations and not-in", async () => {
    const r = await list(
      `?paging=false&fields=id&filter=${encodeURIComponent("jobType:!in:[DATA_INTEGRITY,RESOURCE_TABLE]")}&filter=id:$like:aJob`,
    );
    expect(mine(r.body).sort()).toEqual(["aJob0000001", "aJob0000004", "aJob0000006"]);
    const ne = await list(`?paging=false&fields=id&filter=jobType:!eq:DATA_INTEGRITY&filter=id:$like:aJob`);
    expect(mine(ne.body)).toHaveLength(5);
    const neq = await list(`?paging=false&fields=id&filter=jobType:ne:DATA_INTEGRITY&filter=id:$like:aJob`);
    expect(mine(neq.body)).toHaveLength(5);
    const nl = await list(`?paging=false&fields=id&filter=name:!like:a&filter=id:$like:aJob`);
    expect(mine(nl.body)).toEqual(["aJob0000005"]);
    const nempty = await list(`?paging=false&fields=id&filter=cronExpression:!empty&filter=id:$like:aJob`);
    expect(mine(nempty.body)).toHaveLength(5);
  });

  it("repeated filters are ANDed unless rootJunction=OR", async () => {
    const and = await list("?paging=false&fields=id&filter=jobType:eq:DATA_INTEGRITY&filter=enabled:eq:true");
    expect(mine(and.body)).toEqual(["aJob0000002"]);
    const or = await list("?paging=false&fields=id&filter=jobType:eq:DATA_INTEGRITY&filter=delay:eq:120&rootJunction=OR");
    expect(mine(or.body).sort()).toEqual(["aJob0000002", "aJob0000003", "aJob0000004"]);
    const orLower = await list("?paging=false&fields=id&filter=jobType:eq:DATA_INTEGRITY&filter=delay:eq:120&rootJunction=or");
    expect(mine(orLower.body)).toHaveLength(3);
  });

  it("the tool-user-disabler query", async () => {
    const r = await list("?fields=id,name,enabled&filter=jobType:eq:DISABLE_INACTIVE_USERS&paging=false");
    expect(r.body).toEqual({ jobConfigurations: [{ id: "aJob0000006", name: "Zeta inactive users", enabled: true }] });
  });

  it("409 for unknown properties, bad operators and unparsable values", async () => {
    const unknown = await list("?filter=colour:eq:red");
    expect(unknown.status).toBe(409);
    expect(unknown.body).toMatchObject({ httpStatusCode: 409, status: "ERROR", message: "Unknown path property: colour" });
    const op = await list("?filter=name:contains:x");
    expect(op.status).toBe(409);
    expect(op.body.message).toBe("`contains` is not a valid operator.");
    expect((await list("?filter=delay:eq:soon")).status).toBe(409);
    expect((await list("?filter=enabled:eq:maybe")).status).toBe(409);
    expect((await list("?filter=created:gt:yesterday")).status).toBe(409);
    expect((await list("?filter=name")).status).toBe(409);
    expect((await list("?filter=name:eq")).status).toBe(409);
    expect((await list("?filter=nextExecutionTime:null")).status).toBe(409);
  });

  it("values are bound, never SQL", async () => {
    const r = await list(`?paging=false&fields=id&filter=${encodeURIComponent("name:eq:x' OR '1'='1")}`);
    expect(r.status).toBe(200);
    expect(r.body.jobConfigurations).toEqual([]);
    const inj = await list(`?paging=false&fields=id&filter=${encodeURIComponent("name);DROP TABLE job_configurations;--:eq:x")}`);
    expect(inj.status).toBe(409);
    expect((await list("?fields=id")).body.pager.total).toBe(17);
  });
});

describe("order and query", () => {
  it("orders by any persisted property, asc/desc/iasc/idesc, comma-separated or repeated", async () => {
    const desc = await list("?paging=false&fields=id,name&filter=id:$like:aJob&order=name:idesc");
    expect(names(desc.body)[0]).toBe("Zeta inactive users");
    const cs = await list("?paging=false&fields=id,name&filter=id:$like:aJob&order=name:asc");
    expect(names(cs.body)[0]).toBe("Beta integrity");
    const created = await list("?paging=false&fields=id&filter=id:$like:aJob&order=created:desc");
    expect(mine(created.body)).toEqual(SEEDS.map((s) => s.uid).reverse());
    const multi = await list("?paging=false&fields=id&filter=id:$like:aJob&order=jobType:asc,created:desc");
    expect(mine(multi.body).slice(0, 3)).toEqual(["aJob0000001", "aJob0000004", "aJob0000003"]);
    const repeated = await list("?paging=false&fields=id&filter=id:$like:aJob&order=enabled:desc&order=jobStatus&order=nextExecutionTime");
    expect(mine(repeated.body).at(-1)).toBe("aJob0000003");
    const ignored = await list("?paging=false&fields=id&filter=id:$like:aJob&order=bogus:desc");
    expect(ignored.status).toBe(200);
  });

  it("query= matches id, code, or name", async () => {
    expect(mine((await list("?query=aJob0000003&fields=id")).body)).toEqual(["aJob0000003"]);
    expect(mine((await list("?query=ALPHA&fields=id")).body)).toEqual(["aJob0000001"]);
    expect(mine((await list("?query=integrity&fields=id")).body).sort()).toEqual(["aJob0000002", "aJob0000003"]);
  });
});

describe("gist", () => {
  it("headless=true returns a bare array with the requested fields", async () => {
    const { status, body } = await list("/gist?headless=true&fields=id,jobStatus&filter=id:$like:aJob&order=created:asc");
    expect(status).toBe(200);
    expect(body).toEqual(
      SEEDS.map((s) => ({ id: s.uid, jobStatus: s.enabled === 0 ? "DISABLED" : s.cron || s.delay ? "SCHEDULED" : "NOT_STARTED" })),
    );
  });

  it("without headless: a pager and the list", async () => {
    const { body } = await list("/gist?fields=id&pageSize=2&filter=id:$like:aJob");
    expect(body.pager).toMatchObject({ page: 1, pageSize: 2, total: 7, pageCount: 4 });
    expect(body.pager.nextPage).toBe(
      "http://localhost:8787/api/jobConfigurations/gist?fields=id&pageSize=2&filter=id%3A%24like%3AaJob&page=2",
    );
    expect(body.jobConfigurations).toHaveLength(2);
  });

  it("/{id}/gist returns an object", async () => {
    const res = await api("/api/jobConfigurations/aJob0000003/gist?fields=id,jobStatus");
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ id: "aJob0000003", jobStatus: "DISABLED" });
    const def = await json(await api("/api/jobConfigurations/aJob0000001/gist"));
    expect(def).toMatchObject({ id: "aJob0000001", name: "alpha analytics", jobType: "ANALYTICS_TABLE", enabled: true });
    expect(def.access).toBeUndefined();
    expect((await api("/api/jobConfigurations/abcdefghijk/gist")).status).toBe(404);
  });
});

describe("limits", () => {
  it("keeps within D1's 100 bound parameters (409, never a 500)", async () => {
    const many = Array.from({ length: 97 }, (_, i) => `x${i}`).join(",");
    const r = await list(`?filter=${encodeURIComponent(`id:in:[${many}]`)}`);
    expect(r.status).toBe(409);
    const tokens = Array.from({ length: 40 }, (_, i) => `t${i}`).join(" ");
    const t = await list(
      `?filter=${encodeURIComponent(`name:token:${tokens}`)}&filter=${encodeURIComponent(`name:token:${tokens}`)}&filter=${encodeURIComponent(`name:token:${tokens}`)}`,
    );
    expect(t.status).toBe(409);
    const ok = Array.from({ length: 90 }, (_, i) => `x${i}`).join(",");
    expect((await list(`?filter=${encodeURIComponent(`id:in:[${ok}]`)}`)).status).toBe(200);
    const filters = Array.from({ length: 31 }, () => "filter=name:!null").join("&");
    expect((await list(`?${filters}`)).status).toBe(409);
  });
});
