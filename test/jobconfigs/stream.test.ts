import { env } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseFields } from "../../src/http/fields";
import { columnsFor, jobJson } from "../../src/jobconfigs/serialize";
import { JOB_COLUMNS, type JobRow } from "../../src/jobconfigs/store";
import { api, json } from "../helpers";

const COUNT = 1203; // more than two streaming chunks of 500

beforeAll(async () => {
  const stmts = [];
  for (let i = 0; i < COUNT; i++) {
    stmts.push(
      env.DB.prepare(
        `INSERT INTO job_configurations (uid, name, job_type, scheduling_type, cron_expression, enabled, job_status, created, last_updated, system)
         VALUES (?, ?, 'RESOURCE_TABLE', 'CRON', ?, 1, 'SCHEDULED', ?, ?, 0)`,
      ).bind(
        `s${String(i).padStart(10, "0")}`,
        `Stream ${String(i).padStart(5, "0")}`,
        `${i % 60} ${Math.floor(i / 60) % 60} 1 ? * *`,
        i,
        i,
      ),
    );
  }
  for (let i = 0; i < stmts.length; i += 100) await env.DB.batch(stmts.slice(i, i + 100));
});
// These rows were written straight to D1 (no job object was ever synced): deleting them is enough.
afterAll(async () => {
  await env.DB.prepare(`DELETE FROM job_configurations WHERE system = 0`).run();
});

describe("paging=false streams every row once", () => {
  it("in order, across chunks, as valid JSON", async () => {
    const res = await api("/api/jobConfigurations?paging=false&fields=id,name&filter=name:$like:Stream");
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.pager).toBeUndefined();
    expect(body.jobConfigurations).toHaveLength(COUNT);
    expect(new Set(body.jobConfigurations.map((j: any) => j.id)).size).toBe(COUNT);
    expect(body.jobConfigurations[0]).toEqual({ id: "s0000000000", name: "Stream 00000" });
    expect(body.jobConfigurations[COUNT - 1]).toEqual({
      id: `s${String(COUNT - 1).padStart(10, "0")}`,
      name: `Stream ${String(COUNT - 1).padStart(5, "0")}`,
    });
  });

  it("with every field, and as a bare gist array", async () => {
    const all = await json(await api("/api/jobConfigurations?paging=false&fields=*&filter=name:$like:Stream&order=created:desc"));
    expect(all.jobConfigurations).toHaveLength(COUNT);
    expect(all.jobConfigurations[0]).toMatchObject({
      id: `s${String(COUNT - 1).padStart(10, "0")}`,
      schedulingType: "CRON",
      configurable: true,
    });
    expect(all.jobConfigurations[0].nextExecutionTime).toMatch(/^\d{4}-\d{2}-\d{2}T01:\d{2}:\d{2}\.000$/);
    const gist = await json(await api("/api/jobConfigurations/gist?headless=true&paging=false&fields=id&filter=name:$like:Stream"));
    expect(Array.isArray(gist)).toBe(true);
    expect(gist).toHaveLength(COUNT);
  });

  it("pages agree with the stream", async () => {
    const page = await json(await api("/api/jobConfigurations?fields=id&filter=name:$like:Stream&pageSize=500&page=3"));
    expect(page.pager).toMatchObject({ page: 3, total: COUNT, pageSize: 500, pageCount: 3 });
    expect(page.jobConfigurations).toHaveLength(COUNT - 1000);
    expect(page.jobConfigurations[0].id).toBe("s0000001000");
  });
});

describe("dates in the server time zone", () => {
  it("formats every date and the schedule in the configured zone", () => {
    const row: JobRow = {
      uid: "abcdefghijk",
      name: "tz",
      code: null,
      job_type: "RESOURCE_TABLE",
      scheduling_type: "CRON",
      cron_expression: "0 0 3 ? * *",
      delay: null,
      job_parameters: null,
      enabled: 1,
      job_status: "SCHEDULED",
      last_executed_status: "COMPLETED",
      last_executed: Date.UTC(2026, 5, 1, 0, 0, 0),
      last_finished: Date.UTC(2026, 5, 1, 0, 0, 5),
      last_alive: null,
      error_codes: null,
      executed_by: null,
      queue_name: null,
      queue_position: null,
      system: 0,
      version: 1,
      created: Date.UTC(2026, 0, 1, 12, 0, 0),
      last_updated: Date.UTC(2026, 0, 1, 12, 0, 0),
      created_by: null,
      last_updated_by: null,
    };
    const now = Date.UTC(2026, 5, 1, 12, 0, 0);
    const names = new Set([
      "created",
      "lastExecuted",
      "lastFinished",
      "lastRuntimeExecution",
      "nextExecutionTime",
      "maxDelayedExecutionTime",
    ]);
    expect(jobJson(row, names, { apiBase: "http://x/api", timeZone: "Africa/Nairobi", now, canWrite: true })).toEqual({
      created: "2026-01-01T15:00:00.000",
      lastExecuted: "2026-06-01T03:00:00.000",
      lastFinished: "2026-06-01T03:00:05.000",
      lastRuntimeExecution: "00:00:05.000",
      nextExecutionTime: "2026-06-02T03:00:00.000",
      maxDelayedExecutionTime: "2026-06-02T07:00:00.000",
    });
    expect(jobJson(row, names, { apiBase: "http://x/api", timeZone: "America/New_York", now, canWrite: true })).toMatchObject({
      created: "2026-01-01T07:00:00.000",
      lastExecuted: "2026-05-31T20:00:00.000",
      nextExecutionTime: "2026-06-02T03:00:00.000",
    });
  });
});

describe("column pruning", () => {
  it("reads only the columns a selection needs, and everything for schedule times", () => {
    expect(columnsFor(parseFields("id,displayName"), JOB_COLUMNS)).toBe("uid, name");
    expect(columnsFor(parseFields("id,jobStatus,createdBy[id]"), JOB_COLUMNS)).toBe("uid, job_status, enabled, created_by");
    expect(columnsFor(parseFields("id,nextExecutionTime"), JOB_COLUMNS)).toBe(JOB_COLUMNS);
    expect(columnsFor(parseFields("*"), JOB_COLUMNS)).toBe(JOB_COLUMNS);
    expect(columnsFor(parseFields(":identifiable"), JOB_COLUMNS)).toBe("uid, name, code, created, last_updated, last_updated_by");
    expect(columnsFor(parseFields("access,sharing"), JOB_COLUMNS)).toBe("uid");
  });
});
