/**
 * Run history (issue 16 point 2): `GET /api/jobConfigurations/{id}/runs` and `GET /api/scheduler/runs`
 * after real runs of the job objects (cron, manual, queued, recovered, lost, skipped), their filters,
 * paging and access rules, and the retention HOUSEKEEPING applies.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { LOST_RUN_MESSAGE } from "../../src/scheduling/engine";
import { scheduledMaintenance } from "../../src/scheduling/reconcile";
import { syncJobObject } from "../../src/scheduling/sync";
import { api, json } from "../helpers";
import {
  T0,
  adminUid,
  fire,
  fireWithEndRefused,
  insertJob,
  insertRunningJob,
  leaveRunMarker,
  row,
  runs,
  schedulerTestLifecycle,
  stub,
  userWith,
} from "../scheduling/support";

const clk = schedulerTestLifecycle();

/** `T0 + ms` as the API writes it (SERVER_TIMEZONE is UTC in the tests). */
const at = (ms: number) => new Date(T0 + ms).toISOString().slice(0, -1);

async function history(path: string, auth?: string): Promise<any> {
  const res = await api(path, auth ? { auth } : {});
  expect(res.status, await res.clone().text()).toBe(200);
  expect(res.headers.get("Content-Type")).toBe("application/json;charset=UTF-8");
  return json(res);
}

const runsOf = async (uid: string, query = "") => (await history(`/api/jobConfigurations/${uid}/runs${query}`)).runs;

/** A finished history row straight in D1 (the engine's columns), for filters, paging and retention. */
async function insertRun(uid: string, scheduledAt: number, init: { status?: string; trigger?: string; jobType?: string } = {}) {
  const status = init.status ?? "COMPLETED";
  await env.DB.prepare(
    `INSERT INTO job_runs (job_uid, job_type, trigger, scheduled_at, started_at, finished_at, status, message)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  )
    .bind(
      uid,
      init.jobType ?? "TEST",
      init.trigger ?? "CRON",
      scheduledAt,
      status === "SKIPPED" ? null : scheduledAt + 10,
      status === "RUNNING" ? null : scheduledAt + 30,
      status,
      status === "RUNNING" ? null : `${status} run`,
    )
    .run();
}

describe("run history after real runs", () => {
  it("a CRON run: id, scheduled instant, trigger, start, end, duration, lateness, status, codes, message", async () => {
    const uid = await insertJob({ name: "nightly", cron: "0 * * * * *" });
    await syncJobObject(env, uid);
    clk.set(T0 + 60_250);
    await fire(uid);
    const body = await history(`/api/jobConfigurations/${uid}/runs`);
    expect(body).toEqual({
      pager: { page: 1, total: 1, pageSize: 50, pageCount: 1 },
      runs: [
        {
          id: `${uid}-${T0 + 60_000}`,
          jobId: uid,
          jobType: "TEST",
          jobName: "nightly",
          scheduled: at(60_000),
          trigger: "CRON",
          status: "COMPLETED",
          started: at(60_250),
          finished: at(60_250),
          durationMs: 0,
          latenessMs: 250,
          errorCodes: [],
          message: "Test job completed",
        },
      ],
    });
  });

  it("MANUAL runs name the user who executed them; a failed run keeps its error codes and message", async () => {
    const uid = await insertJob({ jobType: "RESOURCE_TABLE", cron: "0 0 0 * * *" });
    expect((await api(`/api/jobConfigurations/${uid}/execute`, { method: "POST" })).status).toBe(200);
    clk.advance(1500);
    await fire(uid);
    const [run] = await runsOf(uid);
    expect(run).toMatchObject({
      id: `${uid}-${T0}`,
      scheduled: at(0),
      trigger: "MANUAL",
      triggeredBy: await adminUid(),
      status: "FAILED",
      started: at(1500),
      finished: at(1500),
      latenessMs: 1500,
      durationMs: 0,
      errorCodes: ["E7010"],
    });
    expect(run.message).toMatch(/^Failed to validate job runtime: no executor configured/);
  });

  it("a queue: the head's CRON run and the member's QUEUE run, each with the queue", async () => {
    const a = await insertJob({ name: "qa" });
    const b = await insertJob({ name: "qb" });
    const res = await api(`/api/scheduler/queues/histq`, { method: "POST", body: { cronExpression: "0 0 1 ? * *", sequence: [a, b] } });
    expect(res.status).toBe(201);
    clk.set(T0 + 3600_000);
    await fire(a);
    clk.advance(1000);
    await fire(b);
    expect((await runsOf(a)).map((r: any) => [r.trigger, r.queue, r.status])).toEqual([["CRON", "histq", "COMPLETED"]]);
    const [member] = await runsOf(b);
    expect(member).toMatchObject({ trigger: "QUEUE", queue: "histq", status: "COMPLETED", scheduled: at(3600_000) });
    expect(member).not.toHaveProperty("triggeredBy");
    // The scheduler-wide history has both, newest first (the member's run was claimed second).
    const all = (await history("/api/scheduler/runs?trigger=CRON,QUEUE")).runs.filter((r: any) => r.queue === "histq");
    expect(all.map((r: any) => r.jobId)).toEqual([b, a]);
  });

  it("a RECOVERY run: the overdue occurrence the reconcile found", async () => {
    const uid = await insertJob({ cron: "0 * * * * *" });
    await scheduledMaintenance(env, T0);
    await runInDurableObject(stub(uid), (_i, s) => s.storage.deleteAlarm());
    clk.set(T0 + 3 * 60_000);
    await scheduledMaintenance(env, T0 + 3 * 60_000);
    await fire(uid);
    expect(await runsOf(uid)).toMatchObject([{ trigger: "RECOVERY", scheduled: at(60_000), latenessMs: 120_000, status: "COMPLETED" }]);
  });

  it("a run whose end D1 refused is recorded with its real outcome once recovered", async () => {
    const uid = await insertJob({ cron: "0 0 0 * * *" });
    expect((await api(`/api/jobConfigurations/${uid}/execute`, { method: "POST" })).status).toBe(200);
    expect(await fireWithEndRefused(uid)).toBe(true);
    expect(await runsOf(uid)).toMatchObject([{ status: "RUNNING" }]);
    expect((await runsOf(uid))[0]).not.toHaveProperty("finished");
    const ended = clk.now();
    clk.advance(6000);
    await fire(uid); // the engine's retry records the kept end
    expect(await runsOf(uid)).toMatchObject([
      { trigger: "MANUAL", status: "COMPLETED", finished: at(ended - T0), message: "Test job completed", errorCodes: [] },
    ]);
  });

  it("a run that died with its object is FAILED E7012; skipped occurrences are SKIPPED", async () => {
    const lost = await insertRunningJob(T0 - 1000);
    await syncJobObject(env, lost);
    await leaveRunMarker(lost, T0 - 1000);
    await syncJobObject(env, lost);
    expect(await runsOf(lost)).toMatchObject([
      { status: "FAILED", errorCodes: ["E7012"], message: LOST_RUN_MESSAGE, started: at(-1000), finished: at(0), durationMs: 1000 },
    ]);

    const hourly = await insertJob({ cron: "0 0 * * * *", lastExecuted: T0, lastFinished: T0 + 1000 });
    clk.set(T0 + 6 * 3600_000 + 500);
    await syncJobObject(env, hourly);
    const [skipped] = await runsOf(hourly);
    expect(skipped).toEqual({
      id: `${hourly}-${T0 + 2 * 3600_000}`,
      jobId: hourly,
      jobType: "TEST",
      jobName: `job ${hourly}`,
      scheduled: at(2 * 3600_000),
      trigger: "CRON",
      status: "SKIPPED",
      finished: at(6 * 3600_000 + 500),
      errorCodes: [],
      message: "2 missed occurrence(s) from 2035-01-01T01:00:00.000Z to 2035-01-01T02:00:00.000Z skipped: older than the 4 h window",
    });
  });
});

describe("filters and paging", () => {
  it("status, trigger, type and since/until filter in SQL; several values repeated or comma-separated", async () => {
    const t = await insertJob({ cron: "0 0 0 * * *" });
    const p = await insertJob({ jobType: "PREDICTOR", cron: "0 0 0 * * *" });
    await insertRun(t, T0 + 1000, { status: "COMPLETED" });
    await insertRun(t, T0 + 2000, { status: "FAILED", trigger: "MANUAL" });
    await insertRun(t, T0 + 3000, { status: "SKIPPED" });
    await insertRun(p, T0 + 4000, { status: "FAILED", jobType: "PREDICTOR", trigger: "QUEUE" });
    const ids = async (q: string) => (await history(`/api/scheduler/runs${q}`)).runs.map((r: any) => r.scheduled);
    expect(await ids("")).toEqual([at(4000), at(3000), at(2000), at(1000)]);
    expect(await ids("?status=FAILED")).toEqual([at(4000), at(2000)]);
    expect(await ids("?status=failed&status=SKIPPED")).toEqual([at(4000), at(3000), at(2000)]);
    expect(await ids("?status=COMPLETED,SKIPPED")).toEqual([at(3000), at(1000)]);
    expect(await ids("?trigger=MANUAL,QUEUE")).toEqual([at(4000), at(2000)]);
    expect(await ids("?type=PREDICTOR")).toEqual([at(4000)]);
    expect(await ids("?type=test&status=FAILED")).toEqual([at(2000)]);
    expect(await ids(`?since=${at(2000)}&until=${at(3000)}`)).toEqual([at(3000), at(2000)]);
    expect(await ids(`?since=${new Date(T0 + 3500).toISOString()}`)).toEqual([at(4000)]);
    expect(await ids("?until=2035-01-01")).toEqual([]);
    // One job's history: only its own runs, with the same filters.
    expect((await runsOf(t, "?status=FAILED")).map((r: any) => r.scheduled)).toEqual([at(2000)]);
  });

  it("refuses bad values with DHIS2's 400 WebMessage (E1003)", async () => {
    const uid = await insertJob({ cron: "0 0 0 * * *" });
    const cases: [string, string][] = [
      [
        "/api/scheduler/runs?status=DONE",
        "Value 'DONE' is not valid for parameter status. Valid values are: [RUNNING, COMPLETED, FAILED, STOPPED, SKIPPED]",
      ],
      [
        "/api/scheduler/runs?trigger=CRON,NOW",
        "Value 'CRON,NOW' is not valid for parameter trigger. Valid values are: [CRON, FIXED_DELAY, ONCE_ASAP, MANUAL, QUEUE, RECOVERY]",
      ],
      [
        "/api/scheduler/runs?type=NOPE",
        "Value 'NOPE' is not valid for parameter type. No enum constant org.hisp.dhis.scheduling.JobType.NOPE",
      ],
      [
        "/api/scheduler/runs?since=2035-02-30",
        "Value '2035-02-30' is not valid for parameter since. Not a date: use yyyy-MM-dd, yyyy-MM-ddTHH:mm:ss[.SSS] or an ISO 8601 instant",
      ],
      ["/api/scheduler/runs?pageSize=0", "Value '0' is not valid for parameter pageSize. Must be between 1 and 1000"],
      ["/api/scheduler/runs?page=x", `Value 'x' is not valid for parameter page. For input string: "x"`],
      [`/api/jobConfigurations/${uid}/runs?pageSize=1001`, "Value '1001' is not valid for parameter pageSize. Must be between 1 and 1000"],
      [
        "/api/jobConfigurations/notAUid/runs",
        "Value 'notAUid' is not valid for path parameter id. UID must be an alphanumeric string of 11 characters",
      ],
    ];
    for (const [path, message] of cases) {
      const res = await api(path);
      expect(await json(res), path).toEqual({
        httpStatus: "Bad Request",
        httpStatusCode: 400,
        status: "ERROR",
        errorCode: "E1003",
        message,
      });
    }
  });

  it("pages in SQL, newest first, with DHIS2's pager and links that keep the filters", async () => {
    const uid = await insertJob({ cron: "0 0 0 * * *" });
    for (let i = 1; i <= 5; i++) await insertRun(uid, T0 + i * 1000);
    const first = await history(`/api/jobConfigurations/${uid}/runs?pageSize=2&status=COMPLETED`);
    const base = `http://localhost:8787/api/jobConfigurations/${uid}/runs`;
    expect(first.pager).toEqual({ page: 1, total: 5, pageSize: 2, pageCount: 3, nextPage: `${base}?pageSize=2&status=COMPLETED&page=2` });
    expect(first.runs.map((r: any) => r.scheduled)).toEqual([at(5000), at(4000)]);
    const last = await history(`/api/jobConfigurations/${uid}/runs?pageSize=2&page=3`);
    expect(last.pager).toEqual({ page: 3, total: 5, pageSize: 2, pageCount: 3, prevPage: `${base}?pageSize=2&page=2` });
    expect(last.runs.map((r: any) => r.scheduled)).toEqual([at(1000)]);
    expect((await history(`/api/jobConfigurations/${uid}/runs?pageSize=2&page=9`)).runs).toEqual([]);
  });

  it("/jobConfigurations/errors, /due and /stale stay static segments beside /{id}/runs", async () => {
    expect((await api("/api/jobConfigurations/errors")).status).toBe(200);
    expect((await api("/api/jobConfigurations/due?seconds=60")).status).toBe(200);
    expect((await api("/api/jobConfigurations/stale?seconds=60")).status).toBe(200);
    expect((await api("/api/jobConfigurations/errors/runs")).status).toBe(400);
  });
});

describe("access (as for a job's progress)", () => {
  it("log readers see every run; others the runs that ran as them or that they started; a job they have none of is 403", async () => {
    const reader = await userWith("hist_reader", ["F_JOB_LOG_READ"]);
    const owner = await userWith("hist_owner", ["F_SCHEDULING_ADMIN"]);
    const starter = await userWith("hist_starter", ["F_SCHEDULING_ADMIN"]);
    const stranger = await userWith("hist_stranger", []);
    const mine = await insertJob({ cron: "0 0 0 * * *", executedBy: owner.uid });
    const other = await insertJob({ cron: "0 0 0 * * *" });
    await insertRun(mine, T0 + 1000);
    await insertRun(other, T0 + 2000);
    expect((await api(`/api/jobConfigurations/${other}/execute`, { method: "POST", auth: starter.auth })).status).toBe(200);
    clk.advance(100);
    await fire(other);

    const jobsSeen = async (auth: string) => (await history("/api/scheduler/runs", auth)).runs.map((r: any) => [r.jobId, r.trigger]);
    expect(await jobsSeen(reader.auth)).toEqual([
      [other, "CRON"],
      [mine, "CRON"],
      [other, "MANUAL"],
    ]);
    expect(await jobsSeen(owner.auth)).toEqual([[mine, "CRON"]]);
    expect(await jobsSeen(starter.auth)).toEqual([[other, "MANUAL"]]);
    expect(await jobsSeen(stranger.auth)).toEqual([]);

    expect((await history(`/api/jobConfigurations/${mine}/runs`, owner.auth)).pager.total).toBe(1);
    expect((await history(`/api/jobConfigurations/${other}/runs`, starter.auth)).runs.map((r: any) => r.trigger)).toEqual(["MANUAL"]);
    expect((await history(`/api/jobConfigurations/${other}/runs`, reader.auth)).pager.total).toBe(2);
    for (const [auth, uid] of [
      [stranger.auth, mine],
      [starter.auth, mine],
      [owner.auth, other],
    ] as const) {
      const res = await api(`/api/jobConfigurations/${uid}/runs`, { auth });
      expect(await json(res)).toEqual({
        httpStatus: "Forbidden",
        httpStatusCode: 403,
        status: "ERROR",
        errorCode: "E1006",
        message: `User has no access to JobConfiguration:${uid}`,
      });
    }
    const missing = await api("/api/jobConfigurations/AbCdEfGhIj1/runs");
    expect(missing.status).toBe(404);
    expect((await json(missing)).message).toBe("JobConfiguration with id AbCdEfGhIj1 could not be found.");
    expect((await api("/api/scheduler/runs", { auth: null })).status).toBe(401);
  });
});

describe("retention", () => {
  it("HOUSEKEEPING deletes runs older than jobsRunHistoryMaxDays and each job's runs beyond jobsRunHistoryPerJob", async () => {
    const day = 24 * 3600_000;
    await env.DB.batch([
      env.DB.prepare(`INSERT OR REPLACE INTO system_settings (key, value) VALUES ('jobsRunHistoryMaxDays', '30')`),
      env.DB.prepare(`INSERT OR REPLACE INTO system_settings (key, value) VALUES ('jobsRunHistoryPerJob', '3')`),
    ]);
    try {
      const hk = await insertJob({ uid: "DHIS2rocks1", jobType: "HOUSEKEEPING", name: "Housekeeping", delay: 20, system: true });
      const aged = await insertJob({ cron: "0 0 0 * * *" });
      const busy = await insertJob({ cron: "0 0 0 * * *" });
      await insertRun(aged, T0 - 40 * day); // past the 30 days: deleted
      await insertRun(aged, T0 - 40 * day + 1000, { status: "RUNNING" }); // in progress: kept, however old
      await insertRun(aged, T0 - 29 * day); // inside the window
      for (let i = 5; i >= 1; i--) await insertRun(busy, T0 - i * 1000); // 5 runs, 3 kept: the newest
      await syncJobObject(env, hk);
      clk.set(T0 + 20_001);
      await fire(hk);
      expect((await row(hk))!.last_executed_status).toBe("COMPLETED");
      expect((await runs(aged)).map((r) => [r.scheduled_at - T0, r.status])).toEqual([
        [-40 * day + 1000, "RUNNING"],
        [-29 * day, "COMPLETED"],
      ]);
      expect((await runs(busy)).map((r) => r.scheduled_at - T0)).toEqual([-3000, -2000, -1000]);
      const summary = await json(await api(`/api/system/taskSummaries/HOUSEKEEPING/${hk}`));
      expect(summary).toMatchObject({ expired: 3 });
    } finally {
      await env.DB.prepare(`DELETE FROM system_settings WHERE key IN ('jobsRunHistoryMaxDays', 'jobsRunHistoryPerJob')`).run();
    }
  });

  it("the settings are validated like every system setting", async () => {
    const res = await api("/api/systemSettings/jobsRunHistoryMaxDays", {
      method: "POST",
      body: "0",
      headers: { "Content-Type": "text/plain" },
    });
    expect(res.status).toBe(400);
    expect((await json(await api("/api/systemSettings/jobsRunHistoryMaxDays"))).jobsRunHistoryMaxDays).toBe(90);
    expect((await json(await api("/api/systemSettings/jobsRunHistoryPerJob"))).jobsRunHistoryPerJob).toBe(1000);
  });
});
