/**
 * `/api/scheduling` (DHIS2's SchedulingController, 2.41+): the ported JobSchedulingControllerTest
 * (dhis-2/dhis-test-web-api/src/test/java/org/hisp/dhis/webapi/controller/JobSchedulingControllerTest.java,
 * 2.42), then the views of a real run: a TEST job held mid-run by a gate, cancelled by type, then
 * listed as completed; access per caller; DHIS2's 400 for an unknown type.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { registerJobHandler } from "../../src/scheduling/handlers";
import { syncJobObject } from "../../src/scheduling/sync";
import { api, json } from "../helpers";
import { T0, fire, gate, insertJob, row, runs, schedulerTestLifecycle, until, userWith } from "./support";

const clk = schedulerTestLifecycle(["TEST"]);

const JSON_TYPE = "application/json;charset=UTF-8";
const NO_STORE = "no-cache, no-store, max-age=0, must-revalidate";
const started = "2035-01-01T00:01:00.000";

async function okJson(path: string, auth?: string): Promise<unknown> {
  const res = await api(path, { auth });
  expect(res.status, path).toBe(200);
  expect(res.headers.get("Content-Type")).toBe(JSON_TYPE);
  expect(res.headers.get("Cache-Control")).toBe(NO_STORE);
  return json(res);
}

/** 200, empty body, no content type (what DHIS2's null Progress is on the wire). */
async function expectEmpty(path: string, auth?: string): Promise<void> {
  const res = await api(path, { auth });
  expect(res.status, path).toBe(200);
  expect(res.headers.get("Content-Type")).toBeNull();
  expect(await res.text()).toBe("");
}

/**
 * A TEST job whose run is held after one finished item of a three-item stage; the run checks for a
 * cancel when the gate opens. Returns the job, the gate and the run (the alarm delivery).
 */
async function heldRun(opts: { name?: string; executedBy?: string } = {}) {
  const g = gate();
  registerJobHandler("TEST", async (ctx) => {
    ctx.progress.startingStage("Copy tables", 3);
    ctx.progress.startingItem("table 1");
    ctx.progress.completedItem();
    ctx.progress.startingItem("table 2");
    await g.promise;
    ctx.throwIfCancelled();
    ctx.progress.completedItem();
    ctx.progress.completedStage();
  });
  const uid = await insertJob({ name: opts.name ?? "held", cron: "0 * * * * *", executedBy: opts.executedBy ?? null });
  await syncJobObject(env, uid);
  clk.set(T0 + 60_000);
  const run = fire(uid);
  await until(async () => (await row(uid))!.job_status === "RUNNING");
  return { uid, open: g.open, run };
}

describe("JobSchedulingControllerTest (DHIS2 2.42)", () => {
  it("testGetRunningProgressTypesOnly: an empty array", async () => {
    expect(await okJson("/api/scheduling/running/types")).toEqual([]);
  });

  it("testGetRunningProgressTypes: an empty map", async () => {
    expect(await okJson("/api/scheduling/running")).toEqual({});
  });

  it("testGetCompletedProgressTypes: an empty map", async () => {
    expect(await okJson("/api/scheduling/completed")).toEqual({});
  });

  it("testGetRunningProgress and testGetCompletedProgress: PUSH_ANALYSIS has none (an empty body, read as {} by DHIS2's test)", async () => {
    await expectEmpty("/api/scheduling/running/PUSH_ANALYSIS");
    await expectEmpty("/api/scheduling/completed/PUSH_ANALYSIS");
  });
});

describe("a run, from running to completed", () => {
  it("running: types, the map of ProcessInfo, the tree (type case-insensitive); then cancel by type; then completed", async () => {
    const { uid, open, run } = await heldRun({ name: "Nightly copy" });
    expect(await okJson("/api/scheduling/running/types")).toEqual(["TEST"]);
    expect(await okJson("/api/41/scheduling/running.json")).toEqual({
      TEST: [{ jobId: uid, status: "RUNNING", description: "Nightly copy", startedTime: started, stages: ["Copy tables [2/3]"] }],
    });
    const item = (d: string, done: boolean) => ({
      description: d,
      status: done ? "SUCCESS" : "RUNNING",
      startedTime: started,
      ...(done ? { completedTime: started } : {}),
    });
    expect(await okJson("/api/scheduling/running/test")).toEqual({
      sequence: [
        {
          jobId: uid,
          description: "Nightly copy",
          status: "RUNNING",
          startedTime: started,
          stages: [
            {
              description: "Copy tables",
              status: "RUNNING",
              startedTime: started,
              totalItems: 3,
              onFailure: "PARENT",
              items: [item("table 1", true), item("table 2", false)],
            },
          ],
        },
      ],
      errors: {},
    });
    // Nothing of this type has completed yet.
    expect(await okJson("/api/scheduling/completed")).toEqual({});
    await expectEmpty("/api/scheduling/completed/TEST");

    clk.set(T0 + 61_000);
    const cancel = await api("/api/scheduling/cancel/Test", { method: "POST" });
    expect(cancel.status).toBe(204);
    expect(cancel.headers.get("Content-Type")).toBeNull();
    expect(await cancel.text()).toBe("");
    open();
    await run;
    expect((await runs(uid)).map((r) => r.status)).toEqual(["STOPPED"]);

    expect(await okJson("/api/scheduling/running/types")).toEqual([]);
    expect(await okJson("/api/scheduling/running")).toEqual({});
    await expectEmpty("/api/scheduling/running/TEST");
    const done = "2035-01-01T00:01:01.000";
    expect(await okJson("/api/scheduling/completed")).toEqual({
      TEST: [
        {
          jobId: uid,
          status: "CANCELLED",
          description: "Nightly copy",
          startedTime: started,
          completedTime: done,
          cancelledTime: done,
          stages: ["Copy tables [2/3]"],
        },
      ],
    });
    const tree = (await okJson("/api/scheduling/completed/TEST")) as any;
    expect(tree.sequence.map((p: any) => [p.jobId, p.status])).toEqual([[uid, "CANCELLED"]]);
    expect(tree.sequence[0].stages[0].status).toBe("CANCELLED");
  });

  it("completed shows the run that finished last of each type; a failed run's error only to log readers", async () => {
    const owner = await userWith("secondowner", []);
    const first = await insertJob({ name: "first", cron: "0 * * * * *", parameters: { stages: 1 } });
    const second = await insertJob({
      name: "second",
      cron: "30 * * * * *",
      parameters: { stages: 1, failAtStage: 0 },
      executedBy: owner.uid,
    });
    for (const uid of [first, second]) await syncJobObject(env, uid);
    clk.set(T0 + 30_000);
    await fire(second);
    clk.set(T0 + 60_000);
    await fire(first);
    let completed = (await okJson("/api/scheduling/completed")) as any;
    expect(completed.TEST.map((p: any) => [p.jobId, p.status, p.completedTime])).toEqual([[first, "SUCCESS", started]]);

    // The second job runs again, later, and fails: now it is the most recent.
    clk.set(T0 + 90_000);
    await fire(second);
    completed = (await okJson("/api/scheduling/completed")) as any;
    expect(completed.TEST).toEqual([
      {
        jobId: second,
        status: "ERROR",
        description: "second",
        startedTime: "2035-01-01T00:01:30.000",
        completedTime: "2035-01-01T00:01:30.000",
        error: "Simulated error",
        stages: ["Stage 0"],
      },
    ]);
    const log = await userWith("logreader", ["F_JOB_LOG_READ"]);
    expect(((await okJson("/api/scheduling/completed", log.auth)) as any).TEST[0].error).toBe("Simulated error");
    expect(((await okJson("/api/scheduling/completed/TEST", log.auth)) as any).sequence[0].error).toBe("Simulated error");
    // The user the job runs as reads the run, without its errors.
    const mine = ((await okJson("/api/scheduling/completed", owner.auth)) as any).TEST[0];
    expect([mine.jobId, mine.status, mine.error]).toEqual([second, "ERROR", undefined]);
    const tree = ((await okJson("/api/scheduling/completed/TEST", owner.auth)) as any).sequence[0];
    expect([tree.status, tree.error, tree.stages[0].error]).toEqual(["ERROR", undefined, undefined]);
  });
});

describe("access", () => {
  it("a user without authorities sees which types run, not the runs; cannot cancel", async () => {
    const { uid, open, run } = await heldRun();
    const nobody = await userWith("nobody", []);
    expect(await okJson("/api/scheduling/running/types", nobody.auth)).toEqual(["TEST"]);
    expect(await okJson("/api/scheduling/running", nobody.auth)).toEqual({});
    const denied = {
      httpStatus: "Forbidden",
      httpStatusCode: 403,
      status: "ERROR",
      errorCode: "E1006",
      message: `User has no access to JobConfiguration:${uid}`,
    };
    const read = await api("/api/scheduling/running/TEST", { auth: nobody.auth });
    expect(read.status).toBe(403);
    expect(await json(read)).toEqual(denied);
    const cancel = await api("/api/scheduling/cancel/TEST", { method: "POST", auth: nobody.auth });
    expect(cancel.status).toBe(403);
    expect(await json(cancel)).toEqual(denied);
    // A scheduling admin is no log reader either.
    const sched = await userWith("schedadmin", ["F_SCHEDULING_ADMIN"]);
    expect((await api("/api/scheduling/running/TEST", { auth: sched.auth })).status).toBe(403);
    expect((await api("/api/scheduling/cancel/TEST", { method: "POST", auth: sched.auth })).status).toBe(403);
    open();
    await run;
    expect((await runs(uid)).map((r) => r.status)).toEqual(["COMPLETED"]);
    expect(await okJson("/api/scheduling/completed", nobody.auth)).toEqual({});
    expect((await api("/api/scheduling/completed/TEST", { auth: nobody.auth })).status).toBe(403);
  });

  it("F_JOB_LOG_READ reads every run; F_PERFORM_MAINTENANCE cancels any run", async () => {
    const { uid, open, run } = await heldRun();
    const log = await userWith("logreader2", ["F_JOB_LOG_READ"]);
    expect(Object.keys((await okJson("/api/scheduling/running", log.auth)) as object)).toEqual(["TEST"]);
    expect(((await okJson("/api/scheduling/running/TEST", log.auth)) as any).sequence[0].jobId).toBe(uid);
    expect((await api("/api/scheduling/cancel/TEST", { method: "POST", auth: log.auth })).status).toBe(403);
    const maint = await userWith("maintainer", ["F_PERFORM_MAINTENANCE"]);
    expect((await api("/api/scheduling/running/TEST", { auth: maint.auth })).status).toBe(403);
    expect((await api("/api/scheduling/cancel/TEST", { method: "POST", auth: maint.auth })).status).toBe(204);
    open();
    await run;
    expect((await runs(uid)).map((r) => r.status)).toEqual(["STOPPED"]);
  });

  it("the user the job runs as reads its run and may cancel it", async () => {
    const owner = await userWith("jobowner", []);
    const { uid, open, run } = await heldRun({ executedBy: owner.uid });
    expect(((await okJson("/api/scheduling/running", owner.auth)) as any).TEST[0].jobId).toBe(uid);
    expect(((await okJson("/api/scheduling/running/TEST", owner.auth)) as any).sequence[0].jobId).toBe(uid);
    expect((await api("/api/scheduling/cancel/TEST", { method: "POST", auth: owner.auth })).status).toBe(204);
    open();
    await run;
    expect((await runs(uid)).map((r) => r.status)).toEqual(["STOPPED"]);
    expect(((await okJson("/api/scheduling/completed", owner.auth)) as any).TEST[0].status).toBe("CANCELLED");
  });

  it("anonymous: 401 on every route", async () => {
    for (const path of ["running/types", "running", "running/TEST", "completed", "completed/TEST"]) {
      expect((await api(`/api/scheduling/${path}`, { auth: null, headers: { "X-Requested-With": "XMLHttpRequest" } })).status).toBe(401);
    }
    expect(
      (await api("/api/scheduling/cancel/TEST", { method: "POST", auth: null, headers: { "X-Requested-With": "XMLHttpRequest" } })).status,
    ).toBe(401);
  });
});

describe("bad input", () => {
  it("an unknown type is DHIS2's 400 (JobType.valueOf), on every {type} route", async () => {
    for (const [method, path] of [
      ["GET", "/api/scheduling/running/foo"],
      ["GET", "/api/scheduling/completed/foo"],
      ["POST", "/api/scheduling/cancel/foo"],
    ]) {
      const res = await api(path, { method });
      expect(res.status, path).toBe(400);
      expect(res.headers.get("Content-Type")).toBe(JSON_TYPE);
      expect(await json(res)).toEqual({
        httpStatus: "Bad Request",
        httpStatusCode: 400,
        status: "ERROR",
        message: "No enum constant org.hisp.dhis.scheduling.JobType.FOO",
      });
    }
  });

  it("cancel with nothing running is 204 and changes nothing", async () => {
    const uid = await insertJob({ name: "idle", cron: "0 0 3 * * ?" });
    const before = await row(uid);
    expect((await api("/api/scheduling/cancel/TEST", { method: "POST" })).status).toBe(204);
    expect(await row(uid)).toEqual(before);
  });

  it("other methods are 405", async () => {
    expect((await api("/api/scheduling/running", { method: "POST" })).status).toBe(405);
    expect((await api("/api/scheduling/cancel/TEST")).status).toBe(405);
  });
});

describe("OpenAPI", () => {
  it("documents every /api/scheduling route", async () => {
    const doc = app.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "t", version: "1" } }) as any;
    for (const p of ["running/types", "running", "running/{type}", "completed", "completed/{type}"])
      expect(doc.paths[`/api/scheduling/${p}`]?.get, p).toBeDefined();
    expect(doc.paths["/api/scheduling/cancel/{type}"].post.responses["204"]).toBeDefined();
    expect(doc.paths["/api/scheduling/running/{type}"].get.parameters[0]).toMatchObject({ name: "type", in: "path" });
    expect(doc.components.schemas.SchedulingProgress).toBeDefined();
    expect(doc.components.schemas.SchedulingProcessInfo).toBeDefined();
  });
});
