import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { registerJobHandler } from "../../src/scheduling/handlers";
import { schedulingRoutes } from "../../src/scheduling/routes";
import { syncJobObject } from "../../src/scheduling/sync";
import { api, json } from "../helpers";
import { T0, adminUid, alarmOf, fire, gate, insertJob, row, runs, stub, until, userWith, schedulerTestLifecycle } from "./support";

const clk = schedulerTestLifecycle(["TEST"]);
const KLASS = "org.hisp.dhis.scheduling.JobConfiguration";

const post = (path: string, opts: { auth?: string } = {}) => api(path, { method: "POST", auth: opts.auth });

describe("POST /api/jobConfigurations/{id}/execute", () => {
  it("starts the job now (empty body, no Content-Type), then the job returns to its schedule", async () => {
    const uid = await insertJob({ cron: "0 0 3 ? * *" });
    await syncJobObject(env, uid);
    expect(await alarmOf(uid)).toBe(Date.UTC(2035, 0, 1, 3));
    clk.set(T0 + 5000);
    const res = await post(`/api/jobConfigurations/${uid}/execute`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect(await res.text()).toBe(`{"klass":"${KLASS}","index":0,"errorReports":[]}`);
    expect(await alarmOf(uid)).toBe(T0 + 5000); // now, not at a tick
    await fire(uid);
    const history = await runs(uid);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ trigger: "MANUAL", scheduled_at: T0 + 5000, status: "COMPLETED", triggered_by: await adminUid() });
    expect((await row(uid))!).toMatchObject({
      job_status: "SCHEDULED",
      enabled: 1,
      last_executed_status: "COMPLETED",
      scheduling_type: null,
    });
    expect(await alarmOf(uid)).toBe(Date.UTC(2035, 0, 1, 3));
  });

  it("409 while running, 409 when disabled, 404 unknown, 400 invalid UID, 403 without authority", async () => {
    const g = gate();
    registerJobHandler("TEST", async () => {
      await g.promise;
    });
    const uid = await insertJob({ cron: "0 0 3 ? * *" });
    await syncJobObject(env, uid);
    expect((await post(`/api/jobConfigurations/${uid}/execute`)).status).toBe(200);
    // A second execute before the run starts: the pending execute counts as running.
    let res = await post(`/api/jobConfigurations/${uid}/execute`);
    expect(res.status).toBe(409);
    expect(await json(res)).toMatchObject({
      httpStatus: "Conflict",
      httpStatusCode: 409,
      status: "ERROR",
      message: "Job is already running.",
    });
    const run = fire(uid);
    await until(async () => (await row(uid))!.job_status === "RUNNING");
    res = await post(`/api/jobConfigurations/${uid}/execute`);
    expect(res.status).toBe(409);
    expect((await json(res)).message).toBe("Job is already running.");
    g.open();
    await run;

    const off = await insertJob({ cron: "0 0 3 ? * *", enabled: false });
    res = await post(`/api/jobConfigurations/${off}/execute`);
    expect(res.status).toBe(409);
    expect((await json(res)).message).toBe("Failed to transition job into ONCE_ASAP state.");

    res = await post(`/api/jobConfigurations/abcdefghijk/execute`);
    expect(res.status).toBe(404);
    expect(await json(res)).toMatchObject({
      httpStatusCode: 404,
      errorCode: "E1005",
      message: "JobConfiguration with id abcdefghijk could not be found.",
    });

    res = await post(`/api/jobConfigurations/bad-uid/execute`);
    expect(res.status).toBe(400);

    const viewer = await userWith("viewer", ["F_JOB_LOG_READ"]);
    res = await post(`/api/jobConfigurations/${uid}/execute`, { auth: viewer.auth });
    expect(res.status).toBe(403);
    const admin = await userWith("scheduler", ["F_SCHEDULING_ADMIN"]);
    clk.advance(1000);
    res = await post(`/api/jobConfigurations/${uid}/execute`, { auth: admin.auth });
    expect(res.status).toBe(200);
    await fire(uid);
  });
});

describe("enable / disable", () => {
  it("204 and idempotent; disabling disarms, enabling re-arms from the enabling instant", async () => {
    const uid = await insertJob({ delay: 60, created: T0 });
    await syncJobObject(env, uid);
    expect(await alarmOf(uid)).toBe(T0 + 60_000);
    for (let i = 0; i < 2; i++) {
      const res = await post(`/api/jobConfigurations/${uid}/disable`);
      expect(res.status).toBe(204);
      expect(await res.text()).toBe("");
      expect(res.headers.get("content-type")).toBeNull();
    }
    expect((await row(uid))!).toMatchObject({ enabled: 0, job_status: "DISABLED" });
    expect(await alarmOf(uid)).toBeNull();
    clk.set(T0 + 3600_000);
    for (let i = 0; i < 2; i++) expect((await post(`/api/jobConfigurations/${uid}/enable`)).status).toBe(204);
    expect((await row(uid))!).toMatchObject({ enabled: 1, job_status: "SCHEDULED" });
    expect(await alarmOf(uid)).toBe(T0 + 3600_000 + 60_000);
  });

  it("409 for system jobs and for jobs without a schedule; 404; 403", async () => {
    const sys = await insertJob({ uid: "DHIS2rocks1", jobType: "HOUSEKEEPING", delay: 20, system: true });
    let res = await post(`/api/jobConfigurations/${sys}/disable`);
    expect(res.status).toBe(409);
    expect((await json(res)).message).toBe(`Job ${sys} is a system job that cannot be modified.`);
    expect((await post(`/api/jobConfigurations/${sys}/enable`)).status).toBe(409);

    const once = await insertJob({ schedulingType: "ONCE_ASAP", enabled: false });
    res = await post(`/api/jobConfigurations/${once}/enable`);
    expect(res.status).toBe(409);
    expect((await json(res)).message).toBe("Job requires schedule setup before it can be enabled.");
    const zero = await insertJob({ delay: 0, enabled: false });
    expect((await post(`/api/jobConfigurations/${zero}/enable`)).status).toBe(409);

    expect((await post(`/api/jobConfigurations/Abcdefghijk/enable`)).status).toBe(404);
    const viewer = await userWith("viewer2", ["F_JOB_LOG_READ"]);
    expect((await post(`/api/jobConfigurations/${zero}/disable`, { auth: viewer.auth })).status).toBe(403);
  });
});

describe("cancel", () => {
  it("204; the run stops at its next check and ends STOPPED; 403 for others", async () => {
    const uid = await insertJob({ cron: "0 * * * * *", parameters: { stages: 1, items: 1000, itemDuration: 50 } });
    await syncJobObject(env, uid);
    clk.set(T0 + 60_000);
    const run = fire(uid);
    await until(async () => (await row(uid))!.job_status === "RUNNING");
    const other = await userWith("other", ["F_SCHEDULING_ADMIN"]);
    let res = await post(`/api/jobConfigurations/${uid}/cancel`, { auth: other.auth });
    expect(res.status).toBe(403);
    expect((await json(res)).message).toBe(`User has no access to JobConfiguration:${uid}`);
    res = await post(`/api/jobConfigurations/${uid}/cancel`);
    expect(res.status).toBe(204);
    await run;
    expect((await row(uid))!.last_executed_status).toBe("STOPPED");
    // Nothing running: still 204.
    expect((await post(`/api/jobConfigurations/${uid}/cancel`)).status).toBe(204);
  });

  it("the executing user may cancel; a pending execute is dropped", async () => {
    const runner = await userWith("runner", []);
    const uid = await insertJob({ cron: "0 0 3 ? * *", executedBy: runner.uid });
    await syncJobObject(env, uid);
    expect((await post(`/api/jobConfigurations/${uid}/execute`)).status).toBe(200);
    expect((await post(`/api/jobConfigurations/${uid}/cancel`, { auth: runner.auth })).status).toBe(204);
    await fire(uid);
    expect(await runs(uid)).toEqual([]);
  });
});

describe("revert", () => {
  it("F_PERFORM_MAINTENANCE; 409 unless RUNNING and silent for over a minute; then FAILED and rescheduled", async () => {
    const uid = await insertJob({ cron: "0 * * * * *", status: "RUNNING", lastExecuted: T0 - 30_000, lastAlive: T0 - 30_000 });
    const plain = await userWith("plain", ["F_SCHEDULING_ADMIN"]);
    let res = await post(`/api/jobConfigurations/${uid}/revert`, { auth: plain.auth });
    expect(res.status).toBe(403);
    res = await post(`/api/jobConfigurations/${uid}/revert`);
    expect(res.status).toBe(409);
    expect((await json(res)).message).toBe("Failed to transition job from RUNNING state");
    clk.set(T0 + 60_000);
    const maint = await userWith("maint", ["F_PERFORM_MAINTENANCE"]);
    res = await post(`/api/jobConfigurations/${uid}/revert`, { auth: maint.auth });
    expect(res.status).toBe(204);
    expect((await row(uid))!).toMatchObject({ job_status: "SCHEDULED", last_executed_status: "FAILED", last_alive: null });
    expect(await alarmOf(uid)).toBe(T0 + 60_000);
    res = await post(`/api/jobConfigurations/${uid}/revert`);
    expect(res.status).toBe(409);
    expect((await json(res)).message).toBe("Job is not running");
  });
});

describe("GET /api/jobConfigurations/{id}/progress", () => {
  it("DHIS2's progress shape for the last run", async () => {
    const uid = await insertJob({ name: "progress job", cron: "0 * * * * *", parameters: { stages: 2, items: 2 } });
    await syncJobObject(env, uid);
    let res = await api(`/api/jobConfigurations/${uid}/progress`);
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ sequence: [], errors: {} });
    clk.set(T0 + 60_000);
    await fire(uid);
    res = await api(`/api/jobConfigurations/${uid}/progress`);
    expect(res.status).toBe(200);
    const t = "2035-01-01T00:01:00.000";
    const item = (d: string) => ({ description: d, status: "SUCCESS", startedTime: t, completedTime: t });
    expect(await json(res)).toEqual({
      sequence: [
        {
          jobId: uid,
          description: "progress job",
          status: "SUCCESS",
          startedTime: t,
          completedTime: t,
          stages: [
            {
              description: "Stage 0",
              status: "SUCCESS",
              startedTime: t,
              completedTime: t,
              totalItems: 2,
              onFailure: "PARENT",
              items: [item("Item 0"), item("Item 1")],
            },
            {
              description: "Stage 1",
              status: "SUCCESS",
              startedTime: t,
              completedTime: t,
              totalItems: 2,
              onFailure: "PARENT",
              items: [item("Item 0"), item("Item 1")],
            },
          ],
        },
      ],
      errors: {},
    });
    const nobody = await userWith("nobody", []);
    expect((await api(`/api/jobConfigurations/${uid}/progress`, { auth: nobody.auth })).status).toBe(403);
    expect((await api(`/api/jobConfigurations/Abcdefghijk/progress`)).status).toBe(404);
  });

  it("routes are in the OpenAPI document", async () => {
    const doc = schedulingRoutes.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "t", version: "1" } }) as any;
    for (const p of ["execute", "enable", "disable", "cancel", "revert"])
      expect(doc.paths[`/jobConfigurations/{id}/${p}`]?.post).toBeDefined();
    expect(doc.paths[`/jobConfigurations/{id}/progress`]?.get).toBeDefined();
    expect(doc.paths[`/jobConfigurations/{id}/execute`].post.parameters[0]).toMatchObject({ name: "id", in: "path" });
  });
});

void runInDurableObject;
void stub;
