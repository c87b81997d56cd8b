import { env } from "cloudflare:test";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { manualClock, setClock } from "../../src/http/clock";
import { apiScheduleTimesFromRow } from "../../src/scheduling/schedule";
import { api, json } from "../helpers";
import { cleanupJobs, create, createOk, getJob, KLASS, row, uniqueName, userAuth } from "./support";

const T0 = Date.UTC(2026, 2, 2, 10, 0, 0); // Monday 2026-03-02 10:00 UTC

beforeEach(() => setClock(manualClock(T0)));
afterEach(() => setClock(null));
afterAll(cleanupJobs);

describe("POST /api/jobConfigurations", () => {
  it("creates a job: 201, absolute Location, ObjectReport with the uid", async () => {
    const { res, body } = await create({ name: "Integrity nightly", jobType: "DATA_INTEGRITY", cronExpression: "0 0 3 ? * *" });
    expect(res.status).toBe(201);
    const uid = body.response.uid;
    expect(uid).toMatch(/^[a-zA-Z][a-zA-Z0-9]{10}$/);
    expect(res.headers.get("Location")).toBe(`http://localhost:8787/api/jobConfigurations/${uid}`);
    expect(res.headers.get("Content-Type")).toContain("application/json");
    expect(body).toEqual({
      httpStatus: "Created",
      httpStatusCode: 201,
      status: "OK",
      response: { responseType: "ObjectReport", uid, klass: KLASS, errorReports: [] },
    });
    const r = await row(uid);
    expect(r).toMatchObject({
      name: "Integrity nightly",
      job_type: "DATA_INTEGRITY",
      scheduling_type: "CRON",
      job_status: "SCHEDULED",
      enabled: 1,
      version: 1,
      system: 0,
      created: T0,
      last_updated: T0,
    });
  });

  it("honours a client-supplied id; the client's X-Forwarded headers do not change Location (no trusted proxy)", async () => {
    const res = await api("/api/jobConfigurations", {
      method: "POST",
      body: { id: "KBcP6Qw37gT", name: uniqueName(), jobType: "RESOURCE_TABLE", cronExpression: "0 0 4 ? * *" },
      headers: { "X-Forwarded-Proto": "https", "X-Forwarded-Host": "dhis.example.org" },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("Location")).toBe("http://localhost:8787/api/jobConfigurations/KBcP6Qw37gT");
    expect((await json(res)).response.uid).toBe("KBcP6Qw37gT");
    const again = await create({ id: "KBcP6Qw37gT", name: uniqueName(), jobType: "RESOURCE_TABLE", cronExpression: "0 0 5 ? * *" });
    expect(again.res.status).toBe(409);
    expect(again.body.response.errorReports.map((e: any) => e.errorCode)).toEqual(["E5000"]);
  });

  it("sets the initial status from the schedule", async () => {
    const cron = await createOk({ name: uniqueName(), jobType: "RESOURCE_TABLE", cronExpression: "0 0 5 ? * *" });
    const delay = await createOk({ name: uniqueName(), jobType: "CONTINUOUS_ANALYTICS_TABLE", delay: 600 });
    const once = await createOk({ name: uniqueName(), jobType: "DATA_INTEGRITY" });
    const disabled = await createOk({ name: uniqueName(), jobType: "RESOURCE_TABLE", cronExpression: "0 0 6 ? * *", enabled: false });
    expect((await row(cron)).job_status).toBe("SCHEDULED");
    expect(await row(delay)).toMatchObject({ job_status: "SCHEDULED", scheduling_type: "FIXED_DELAY", delay: 600 });
    expect(await row(once)).toMatchObject({ job_status: "NOT_STARTED", scheduling_type: "ONCE_ASAP" });
    expect(await row(disabled)).toMatchObject({ job_status: "DISABLED", enabled: 0 });
    const j = await getJob(once);
    expect(j).toMatchObject({ schedulingType: "ONCE_ASAP", jobStatus: "NOT_STARTED", lastExecutedStatus: "NOT_STARTED", enabled: true });
    expect(j.nextExecutionTime).toBeUndefined();
  });

  it("sets executedBy to the creator for the types DHIS2 lists", async () => {
    const id = await createOk({ name: uniqueName(), jobType: "META_DATA_SYNC", cronExpression: "0 0 1 ? * MON" });
    const admin = await env.DB.prepare(`SELECT uid FROM users WHERE username = 'admin'`).first<{ uid: string }>();
    const j = await getJob(id, "executedBy,userUid,jobParameters");
    expect(j).toEqual({ executedBy: admin!.uid, userUid: admin!.uid, jobParameters: { dataValuesPageSize: 10000 } });
    const other = await createOk({ name: uniqueName(), jobType: "DATA_SYNC", cronExpression: "0 0 1 ? * TUE" });
    expect(await getJob(other, "executedBy,jobParameters")).toEqual({ jobParameters: { pageSize: 10000 } });
  });
});

describe("GET /api/jobConfigurations/{id}", () => {
  it("returns every member by default, dates in the server zone, nulls omitted", async () => {
    const id = await createOk({
      name: "Full view",
      jobType: "ANALYTICS_TABLE",
      cronExpression: "0 0 3 ? * MON",
      jobParameters: { lastYears: "2" },
    });
    const res = await api(`/api/jobConfigurations/${id}`);
    expect(res.status).toBe(200);
    const admin = await env.DB.prepare(`SELECT uid FROM users WHERE username = 'admin'`).first<{ uid: string }>();
    expect(await json(res)).toEqual({
      id,
      href: `http://localhost:8787/api/jobConfigurations/${id}`,
      created: "2026-03-02T10:00:00.000",
      lastUpdated: "2026-03-02T10:00:00.000",
      createdBy: { id: admin!.uid },
      lastUpdatedBy: { id: admin!.uid },
      name: "Full view",
      displayName: "Full view",
      jobType: "ANALYTICS_TABLE",
      schedulingType: "CRON",
      cronExpression: "0 0 3 ? * MON",
      jobParameters: { lastYears: 2, skipTableTypes: [], skipPrograms: [], skipResourceTables: false, skipOutliers: false },
      enabled: true,
      jobStatus: "SCHEDULED",
      lastExecutedStatus: "NOT_STARTED",
      nextExecutionTime: "2026-03-09T03:00:00.000",
      maxDelayedExecutionTime: "2026-03-09T07:00:00.000",
      configurable: true,
      leaderOnlyJob: true,
      externalAccess: false,
      sharing: { external: false, users: {}, userGroups: {} },
      access: { manage: true, externalize: true, write: true, read: true, update: true, delete: true },
      favorite: false,
      favorites: [],
      translations: [],
      userGroupAccesses: [],
      userAccesses: [],
      attributeValues: [],
    });
  });

  it("applies fields, presets, nesting and exclusions", async () => {
    const id = await createOk({ name: "Fields view", jobType: "RESOURCE_TABLE", cronExpression: "0 0 3 ? * *" });
    expect(await getJob(id, "id,name,jobType")).toEqual({ id, name: "Fields view", jobType: "RESOURCE_TABLE" });
    expect(await getJob(id, "access[read,write]")).toEqual({ access: { read: true, write: true } });
    const ident = await getJob(id, ":identifiable");
    expect(Object.keys(ident).sort()).toEqual(["created", "id", "lastUpdated", "lastUpdatedBy", "name"]);
    const all = await getJob(id, "*,!access,!sharing,!href");
    expect(all.access).toBeUndefined();
    expect(all.href).toBeUndefined();
    expect(all.id).toBe(id);
    expect(await getJob(id, "unknownThing,id")).toEqual({ id });
  });

  it("reports a finished run's runtime and a stored DISABLED on an enabled job as SCHEDULED", async () => {
    const id = await createOk({ name: uniqueName(), jobType: "RESOURCE_TABLE", cronExpression: "0 30 3 ? * *" });
    await env.DB.prepare(
      `UPDATE job_configurations SET job_status = 'DISABLED', last_executed = ?, last_finished = ?, last_executed_status = 'COMPLETED' WHERE uid = ?`,
    )
      .bind(T0 - 62_345, T0, id)
      .run();
    const j = await getJob(id, "jobStatus,lastExecutedStatus,lastExecuted,lastFinished,lastRuntimeExecution");
    expect(j).toEqual({
      jobStatus: "SCHEDULED",
      lastExecutedStatus: "COMPLETED",
      lastExecuted: "2026-03-02T09:58:57.655",
      lastFinished: "2026-03-02T10:00:00.000",
      lastRuntimeExecution: "00:01:02.345",
    });
  });

  it("404 E1005 for an unknown id, 400 for a malformed one", async () => {
    const res = await api("/api/jobConfigurations/abcdefghijk");
    expect(res.status).toBe(404);
    expect(await json(res)).toEqual({
      httpStatus: "Not Found",
      httpStatusCode: 404,
      status: "ERROR",
      errorCode: "E1005",
      message: "JobConfiguration with id abcdefghijk could not be found.",
    });
    const bad = await api("/api/jobConfigurations/not-a-uid");
    expect(bad.status).toBe(400);
    expect((await json(bad)).message).toBe(
      "Value 'not-a-uid' is not valid for path parameter uid. UID must be an alphanumeric string of 11 characters",
    );
  });

  it("is readable by any authenticated user, with access for the caller", async () => {
    const id = await createOk({ name: uniqueName(), jobType: "RESOURCE_TABLE", cronExpression: "0 0 7 ? * *" });
    const auth = await userAuth("reader", []);
    const res = await api(`/api/jobConfigurations/${id}?fields=id,access`, { auth });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      id,
      access: { manage: false, externalize: false, write: false, read: true, update: false, delete: false },
    });
    expect((await api(`/api/jobConfigurations/${id}`, { auth: null })).status).toBe(401);
  });

  it("answers on versioned and suffixed paths", async () => {
    const id = await createOk({ name: uniqueName(), jobType: "RESOURCE_TABLE", cronExpression: "0 0 8 ? * *" });
    expect((await api(`/api/41/jobConfigurations/${id}?fields=id`)).status).toBe(200);
    expect(await json(await api(`/api/jobConfigurations/${id}.json?fields=id`))).toEqual({ id });
  });
});

describe("PUT /api/jobConfigurations/{id}", () => {
  it("accepts a whole GET body back, ignores read-only members, keeps enabled and jobType, bumps version", async () => {
    const id = await createOk({
      name: "Round trip",
      jobType: "ANALYTICS_TABLE",
      cronExpression: "0 0 3 ? * TUE",
      jobParameters: { lastYears: "2" },
    });
    const body = await getJob(id);
    body.cronExpression = "0 0 4 ? * TUE";
    body.jobParameters.lastYears = "3";
    body.jobStatus = "RUNNING";
    body.enabled = false;
    body.jobType = "DATA_SYNC";
    body.lastExecuted = "2020-01-01T00:00:00.000";
    body.queueName = "q";
    body.queuePosition = 3;
    (setClock as any)(manualClock(T0 + 60_000));
    const res = await api(`/api/jobConfigurations/${id}`, { method: "PUT", body });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      httpStatus: "OK",
      httpStatusCode: 200,
      status: "OK",
      response: { responseType: "ObjectReport", uid: id, klass: KLASS, errorReports: [] },
    });
    expect(await row(id)).toMatchObject({
      job_type: "ANALYTICS_TABLE",
      enabled: 1,
      job_status: "SCHEDULED",
      cron_expression: "0 0 4 ? * TUE",
      last_executed: null,
      queue_name: null,
      queue_position: null,
      version: 2,
      last_updated: T0 + 60_000,
      created: T0,
    });
    expect((await getJob(id, "jobParameters")).jobParameters.lastYears).toBe(3);
  });

  it("works on the singular path the spec shows, with the spec's body", async () => {
    const id = await createOk({
      name: "analytics last two years",
      jobType: "ANALYTICS_TABLE",
      cronExpression: "0 0 3 ? * WED",
      jobParameters: { lastYears: "2", skipTableTypes: [], skipResourceTables: false },
    });
    const res = await api(`/api/jobConfiguration/${id}`, {
      method: "PUT",
      body: {
        name: "analytics last two years",
        enabled: true,
        cronExpression: "0 0 3 ? * WED",
        jobType: "ANALYTICS_TABLE",
        jobParameters: { lastYears: "3", skipTableTypes: [], skipResourceTables: false },
      },
    });
    expect(res.status).toBe(200);
    expect((await getJob(id, "jobParameters")).jobParameters).toEqual({
      lastYears: 3,
      skipTableTypes: [],
      skipPrograms: [],
      skipResourceTables: false,
      skipOutliers: false,
    });
  });

  it("never enables a disabled job and moves a run-once job to a schedule", async () => {
    const off = await createOk({ name: uniqueName(), jobType: "RESOURCE_TABLE", cronExpression: "0 0 9 ? * *", enabled: false });
    expect(
      (
        await api(`/api/jobConfigurations/${off}`, {
          method: "PUT",
          body: { name: "still off", enabled: true, cronExpression: "0 0 10 ? * *" },
        })
      ).status,
    ).toBe(200);
    expect(await row(off)).toMatchObject({ enabled: 0, job_status: "DISABLED", name: "still off" });
    const once = await createOk({ name: uniqueName(), jobType: "RESOURCE_TABLE" });
    expect(
      (await api(`/api/jobConfigurations/${once}`, { method: "PUT", body: { name: "now cron", cronExpression: "0 0 11 ? * *" } })).status,
    ).toBe(200);
    expect(await row(once)).toMatchObject({ job_status: "SCHEDULED", scheduling_type: "CRON" });
  });

  it("keeps a RUNNING status and the stored executedBy", async () => {
    const id = await createOk({
      name: uniqueName(),
      jobType: "AGGREGATE_DATA_EXCHANGE",
      cronExpression: "0 0 1 ? * *",
      jobParameters: { dataExchangeIds: ["jtcMAKhWwnc"] },
      executedBy: "M5zQapPyTZI",
    });
    await env.DB.prepare(`UPDATE job_configurations SET job_status = 'RUNNING' WHERE uid = ?`).bind(id).run();
    const res = await api(`/api/jobConfigurations/${id}`, {
      method: "PUT",
      body: { name: "renamed", cronExpression: "0 0 2 ? * *", jobParameters: { dataExchangeIds: ["jtcMAKhWwnc"] } },
    });
    expect(res.status).toBe(200);
    expect(await row(id)).toMatchObject({ job_status: "RUNNING", executed_by: "M5zQapPyTZI", name: "renamed" });
  });

  it("404 for unknown, 400 for malformed ids", async () => {
    expect((await api(`/api/jobConfigurations/abcdefghijk`, { method: "PUT", body: { name: "x" } })).status).toBe(404);
    expect((await api(`/api/jobConfiguration/abcdefghijk`, { method: "PUT", body: { name: "x" } })).status).toBe(404);
    expect((await api(`/api/jobConfigurations/bad`, { method: "PUT", body: { name: "x" } })).status).toBe(400);
  });

  it("validates like create (409 ObjectReport with the job's uid)", async () => {
    const id = await createOk({ name: uniqueName(), jobType: "RESOURCE_TABLE", cronExpression: "0 0 12 ? * *" });
    const res = await api(`/api/jobConfigurations/${id}`, { method: "PUT", body: { cronExpression: "0 0 12 * *" } });
    expect(res.status).toBe(409);
    const body = await json(res);
    expect(body.response.uid).toBe(id);
    expect(body.response.errorReports.map((e: any) => e.errorCode)).toEqual(["E4000", "E7005"]);
  });

  it("rejects a malformed JSON body with 400", async () => {
    const id = await createOk({ name: uniqueName(), jobType: "RESOURCE_TABLE", cronExpression: "0 0 13 ? * *" });
    const res = await api(`/api/jobConfigurations/${id}`, { method: "PUT", body: "{not json" });
    expect(res.status).toBe(400);
    const arr = await api(`/api/jobConfigurations/${id}`, { method: "PUT", body: "[1,2]" });
    expect(arr.status).toBe(400);
  });
});

describe("PATCH /api/jobConfigurations/{id}", () => {
  it("switches enabled as the older Scheduler app does (204, no JSON content type)", async () => {
    const id = await createOk({ name: uniqueName(), jobType: "RESOURCE_TABLE", cronExpression: "0 0 14 ? * *" });
    const off = await api(`/api/jobConfigurations/${id}`, { method: "PATCH", body: { enabled: false } });
    expect(off.status).toBe(204);
    expect(off.headers.get("Content-Type")).toBeNull();
    expect(await off.text()).toBe("");
    expect(await row(id)).toMatchObject({ enabled: 0, job_status: "DISABLED", version: 2 });
    expect(await getJob(id, "enabled,jobStatus,nextExecutionTime")).toEqual({ enabled: false, jobStatus: "DISABLED" });
    expect((await api(`/api/jobConfigurations/${id}`, { method: "PATCH", body: { enabled: "true" } })).status).toBe(204);
    expect(await row(id)).toMatchObject({ enabled: 1, job_status: "SCHEDULED", version: 3 });
  });

  it("applies other members as a partial update and validates them", async () => {
    const id = await createOk({ name: uniqueName(), jobType: "DATA_SYNC", cronExpression: "0 0 15 ? * *" });
    expect((await api(`/api/jobConfigurations/${id}`, { method: "PATCH", body: { jobParameters: { pageSize: "500" } } })).status).toBe(204);
    expect(await getJob(id, "cronExpression,jobParameters")).toEqual({ cronExpression: "0 0 15 ? * *", jobParameters: { pageSize: 500 } });
    const bad = await api(`/api/jobConfigurations/${id}`, { method: "PATCH", body: { enabled: "maybe", cronExpression: "nope" } });
    expect(bad.status).toBe(409);
    expect((await json(bad)).response.errorReports.map((e: any) => e.errorCode)).toEqual(["E1003", "E7005"]);
  });
});

describe("DELETE /api/jobConfigurations/{id}", () => {
  it("deletes (200 ObjectReport) on both paths, then 404", async () => {
    for (const base of ["/api/jobConfigurations", "/api/jobConfiguration"]) {
      const id = await createOk({ name: uniqueName(), jobType: "RESOURCE_TABLE", cronExpression: "0 0 16 ? * *" });
      const res = await api(`${base}/${id}`, { method: "DELETE" });
      expect(res.status).toBe(200);
      expect(await json(res)).toEqual({
        httpStatus: "OK",
        httpStatusCode: 200,
        status: "OK",
        response: { responseType: "ObjectReport", uid: id, klass: KLASS, errorReports: [] },
      });
      expect(await row(id)).toBeNull();
      expect((await api(`${base}/${id}`, { method: "DELETE" })).status).toBe(404);
    }
  });
});

describe("nextExecutionTime", () => {
  const now = Date.UTC(2026, 10, 29, 10, 0, 0);
  const base = {
    uid: "x",
    name: "x",
    code: null,
    job_type: "RESOURCE_TABLE",
    scheduling_type: "CRON",
    delay: null,
    job_parameters: null,
    enabled: 1,
    job_status: "SCHEDULED",
    last_executed_status: "NOT_STARTED",
    last_finished: null,
    last_alive: null,
    error_codes: null,
    executed_by: null,
    queue_name: null,
    queue_position: null,
    system: 0,
    version: 1,
    last_updated: 0,
    created_by: null,
    last_updated_by: null,
  };
  const times = (cron_expression: string, created: number, last_executed: number | null, tz = "Etc/UTC") =>
    apiScheduleTimesFromRow({ ...base, cron_expression, created, last_executed } as any, now, tz);
  const H = 3600_000;

  it("an old job whose occurrence is outside the 4 h window shows the next one (no catch-up walk)", () => {
    expect(times("0 0 3 ? * *", Date.UTC(2025, 0, 1), null)).toEqual({
      nextExecutionTime: Date.UTC(2026, 10, 30, 3),
      maxDelayedExecutionTime: Date.UTC(2026, 10, 30, 3) + 4 * H,
    });
  });

  it("an occurrence inside the window is still next until it ran", () => {
    expect(times("0 0 9 ? * *", Date.UTC(2025, 0, 1), null).nextExecutionTime).toBe(Date.UTC(2026, 10, 29, 9));
    expect(times("0 0 9 ? * *", Date.UTC(2025, 0, 1), now - 30 * 60_000).nextExecutionTime).toBe(Date.UTC(2026, 10, 30, 9));
  });

  it("a job created now never shows an occurrence before its creation", () => {
    expect(times("0 0 9 ? * *", now, null).nextExecutionTime).toBe(Date.UTC(2026, 10, 30, 9));
  });

  it("is computed in the server time zone", () => {
    // 03:00 in New York (UTC-5 in November) is 08:00 UTC: 2 h ago, inside the window.
    expect(times("0 0 3 ? * *", Date.UTC(2025, 0, 1), null, "America/New_York").nextExecutionTime).toBe(Date.UTC(2026, 10, 29, 8));
  });

  it("a disabled job or the no-schedule sentinel has none", () => {
    expect(
      apiScheduleTimesFromRow(
        { ...base, cron_expression: "0 0 3 ? * *", created: now, last_executed: null, enabled: 0 } as any,
        now,
        "Etc/UTC",
      ),
    ).toEqual({ nextExecutionTime: null, maxDelayedExecutionTime: null });
    expect(times("* * * * * ?", now - H, null)).toEqual({ nextExecutionTime: null, maxDelayedExecutionTime: null });
  });
});

describe("PATCH with JSON Patch", () => {
  it("applies add/replace/remove on top-level members (app-runtime json-patch)", async () => {
    const id = await createOk({ name: uniqueName(), jobType: "DATA_SYNC", cronExpression: "0 0 17 ? * *", code: "SYNC17" });
    const res = await api(`/api/jobConfigurations/${id}`, {
      method: "PATCH",
      body: JSON.stringify([
        { op: "replace", path: "/enabled", value: false },
        { op: "replace", path: "/cronExpression", value: "0 0 18 ? * *" },
        { op: "remove", path: "/code" },
      ]),
      headers: { "Content-Type": "application/json-patch+json" },
    });
    expect(res.status).toBe(204);
    expect(await row(id)).toMatchObject({ enabled: 0, job_status: "DISABLED", cron_expression: "0 0 18 ? * *", code: null });
    const bad = await api(`/api/jobConfigurations/${id}`, {
      method: "PATCH",
      body: JSON.stringify([{ op: "move", path: "/name", from: "/code" }]),
    });
    expect(bad.status).toBe(409);
    expect((await json(bad)).message).toBe("Patch path `/name` is not supported.");
    const nested = await api(`/api/jobConfigurations/${id}`, {
      method: "PATCH",
      body: JSON.stringify([{ op: "replace", path: "/jobParameters/pageSize", value: 1 }]),
    });
    expect(nested.status).toBe(409);
    expect((await api(`/api/jobConfigurations/${id}`, { method: "PATCH", body: "42" })).status).toBe(400);
  });
});
