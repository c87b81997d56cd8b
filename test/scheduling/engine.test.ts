import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { JobRunError, type JobRunContext } from "../../src/jobs/contract";
import type { JobObject } from "../../src/scheduling/job-object";
import { JobEngine, setPrewarmMs } from "../../src/scheduling/engine";
import { registerJobHandler } from "../../src/scheduling/handlers";
import { scheduledMaintenance } from "../../src/scheduling/reconcile";
import { tryStartRun } from "../../src/scheduling/store";
import { syncJobObject } from "../../src/scheduling/sync";
import { api, json } from "../helpers";
import {
  T0,
  alarmOf,
  fire,
  gate,
  insertJob,
  insertRunningJob,
  leaveRunMarker,
  row,
  runs,
  stub,
  until,
  schedulerTestLifecycle,
} from "./support";

const clk = schedulerTestLifecycle(["DATA_INTEGRITY", "RESOURCE_TABLE", "TEST"]);

describe("CRON jobs in their object", () => {
  it("arms the next occurrence, runs it once, records the run, re-arms", async () => {
    const uid = await insertJob({ cron: "0 * * * * *" });
    await syncJobObject(env, uid);
    expect(await alarmOf(uid)).toBe(T0 + 60_000);
    expect(await runs(uid)).toEqual([]);

    clk.set(T0 + 60_000 + 15);
    expect(await fire(uid)).toBe(true);
    const r = (await row(uid))!;
    expect(r).toMatchObject({
      job_status: "SCHEDULED",
      last_executed_status: "COMPLETED",
      last_executed: T0 + 60_015,
      last_finished: T0 + 60_015,
      last_alive: null,
      error_codes: null,
      enabled: 1,
    });
    const history = await runs(uid);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ trigger: "CRON", scheduled_at: T0 + 60_000, started_at: T0 + 60_015, status: "COMPLETED" });
    expect(await alarmOf(uid)).toBe(T0 + 120_000);
    const mark = await env.DB.prepare(`SELECT * FROM job_schedule WHERE job_uid = ?`).bind(uid).first();
    expect(mark).toMatchObject({ alarm_at: T0 + 120_000 });
  });

  it("a distant alarm first wakes the object a few seconds early (prewarm), then fires exactly", async () => {
    setPrewarmMs(5000);
    try {
      const uid = await insertJob({ cron: "0 0 * * * *" });
      await syncJobObject(env, uid);
      expect(await alarmOf(uid)).toBe(T0 + 3600_000 - 5000);
      clk.set(T0 + 3600_000 - 5000);
      await fire(uid);
      expect(await runs(uid)).toEqual([]);
      expect(await alarmOf(uid)).toBe(T0 + 3600_000);
      clk.set(T0 + 3600_000);
      await fire(uid);
      expect((await runs(uid)).map((r) => [r.scheduled_at, r.started_at, r.status])).toEqual([[T0 + 3600_000, T0 + 3600_000, "COMPLETED"]]);
    } finally {
      setPrewarmMs(0);
    }
  });

  it("a second-precision cron runs every 5 seconds", async () => {
    const uid = await insertJob({ cron: "*/5 * * * * *" });
    await syncJobObject(env, uid);
    for (let i = 1; i <= 3; i++) {
      expect(await alarmOf(uid)).toBe(T0 + i * 5000);
      clk.set(T0 + i * 5000);
      await fire(uid);
    }
    expect((await runs(uid)).map((r) => r.scheduled_at)).toEqual([T0 + 5000, T0 + 10_000, T0 + 15_000]);
  });

  it("an early or duplicated alarm never starts a second run of an occurrence", async () => {
    const uid = await insertJob({ cron: "0 * * * * *" });
    await syncJobObject(env, uid);
    // Early: nothing runs, the alarm is re-armed.
    clk.set(T0 + 30_000);
    await fire(uid);
    expect(await runs(uid)).toEqual([]);
    expect(await alarmOf(uid)).toBe(T0 + 60_000);
    // Two deliveries at the due time, concurrently: one run.
    clk.set(T0 + 60_000);
    await Promise.all([fire(uid), runInDurableObject(stub(uid), (i) => (i as JobObject).alarm())]);
    // And a retried delivery afterwards.
    await runInDurableObject(stub(uid), (i) => (i as JobObject).alarm());
    expect((await runs(uid)).map((r) => [r.scheduled_at, r.status])).toEqual([[T0 + 60_000, "COMPLETED"]]);
  });

  it("the D1 claim is unique per (job, occurrence) even if the object forgot it", async () => {
    const uid = await insertJob({ cron: "0 * * * * *" });
    const start = (now: number) =>
      tryStartRun(env.DB, {
        uid,
        jobType: "TEST",
        now,
        independent: true,
        trigger: "CRON",
        scheduledAt: T0 + 60_000,
        executedBy: null,
        triggeredBy: null,
      });
    expect((await start(T0 + 60_000)).outcome).toBe("started");
    await env.DB.prepare(`UPDATE job_configurations SET job_status = 'SCHEDULED' WHERE uid = ?`).bind(uid).run();
    expect(await start(T0 + 61_000)).toEqual({ outcome: "duplicate" });
    // The failed claim rolled the start back.
    expect((await row(uid))!.last_executed).toBe(T0 + 60_000);
    expect((await row(uid))!.job_status).toBe("SCHEDULED");
  });

  it("missed occurrences older than the window are skipped and recorded; one inside runs once", async () => {
    const uid = await insertJob({ cron: "0 0 * * * *", lastExecuted: T0, lastFinished: T0 + 1000 });
    // Down for 6 hours; window 4 h: 01:00 and 02:00 (4 h 0.5 s old) are skipped; 03:00 runs, once.
    clk.set(T0 + 6 * 3600_000 + 500);
    await syncJobObject(env, uid);
    expect(await alarmOf(uid)).toBe(T0 + 6 * 3600_000 + 500);
    await fire(uid);
    const history = await runs(uid);
    expect(history.map((r) => [r.status, r.scheduled_at])).toEqual([
      ["SKIPPED", T0 + 2 * 3600_000],
      ["COMPLETED", T0 + 3 * 3600_000],
    ]);
    expect(history[0].error).toBe(
      "2 missed occurrence(s) from 2035-01-01T01:00:00.000Z to 2035-01-01T02:00:00.000Z skipped: older than the 4 h window",
    );
    // The next is the first occurrence after that run's start, not a burst of 03:00…06:00.
    expect(await alarmOf(uid)).toBe(T0 + 7 * 3600_000);
  });

  it("a job created now does not run for an occurrence before its creation", async () => {
    const uid = await insertJob({ cron: "0 0 0 * * *", created: T0 + 3600_000 });
    clk.set(T0 + 3600_000);
    await syncJobObject(env, uid);
    expect(await alarmOf(uid)).toBe(T0 + 24 * 3600_000);
  });

  it("a smaller window setting skips more", async () => {
    await env.DB.prepare(`INSERT OR REPLACE INTO system_settings (key, value) VALUES ('jobsMaxCronDelayHours', '1')`).run();
    try {
      const uid = await insertJob({ cron: "0 0 * * * *", lastExecuted: T0 });
      clk.set(T0 + 3 * 3600_000 + 10);
      await syncJobObject(env, uid);
      // 01:00 and 02:00 are more than an hour old; 03:00 is due now.
      expect((await runs(uid)).map((r) => [r.status, r.scheduled_at])).toEqual([["SKIPPED", T0 + 2 * 3600_000]]);
      expect(await alarmOf(uid)).toBe(T0 + 3 * 3600_000 + 10);
    } finally {
      await env.DB.prepare(`DELETE FROM system_settings WHERE key = 'jobsMaxCronDelayHours'`).run();
    }
  });
});

describe("DST in the object (server zone)", () => {
  const noSink = { runStarted() {}, notify() {}, runFinished() {} };
  async function firstAlarm(uid: string, timeZone: string, now: number): Promise<number | null> {
    clk.set(now);
    return runInDurableObject(stub(uid), async (_i, state) => {
      const engine = new JobEngine(state, { ...env, SERVER_TIMEZONE: timeZone }, noSink);
      await engine.sync(uid);
      return state.storage.getAlarm();
    });
  }

  it("Europe/Berlin: 02:30 on the spring-forward day runs at 03:00 CEST", async () => {
    const created = Date.UTC(2035, 2, 24, 12); // 2035-03-25 is the change
    const uid = await insertJob({ cron: "0 30 2 * * *", created });
    expect(new Date((await firstAlarm(uid, "Europe/Berlin", created))!).toISOString()).toBe("2035-03-25T01:00:00.000Z");
  });

  it("America/New_York: spring forward runs at 03:00 EDT; the repeated 01:30 in November runs once", async () => {
    const created = Date.UTC(2035, 2, 10, 12); // 2035-03-11 is the change
    const uid = await insertJob({ cron: "0 30 2 * * *", created });
    expect(new Date((await firstAlarm(uid, "America/New_York", created))!).toISOString()).toBe("2035-03-11T07:00:00.000Z");
    // 2035-11-04 01:30 EDT (05:30Z) ran; 01:30 EST (06:30Z) is not another occurrence.
    const ran = Date.UTC(2035, 10, 4, 5, 30);
    const uid2 = await insertJob({ cron: "0 30 1 * * *", created: Date.UTC(2035, 10, 1), lastExecuted: ran, lastFinished: ran + 100 });
    expect(new Date((await firstAlarm(uid2, "America/New_York", ran + 100))!).toISOString()).toBe("2035-11-05T06:30:00.000Z");
  });
});

describe("FIXED_DELAY and run-once jobs", () => {
  it("first run delay after creation, then delay after each run's end", async () => {
    registerJobHandler("TEST", async (ctx) => {
      clk.advance(7000); // the run takes 7 s
      return { message: `ran ${ctx.trigger}` };
    });
    const uid = await insertJob({ delay: 30, created: T0 });
    await syncJobObject(env, uid);
    expect(await alarmOf(uid)).toBe(T0 + 30_000);
    clk.set(T0 + 30_000);
    await fire(uid);
    expect((await row(uid))!).toMatchObject({ last_executed: T0 + 30_000, last_finished: T0 + 37_000 });
    expect(await alarmOf(uid)).toBe(T0 + 67_000);
    clk.set(T0 + 67_000);
    await fire(uid);
    expect((await runs(uid)).map((r) => [r.trigger, r.scheduled_at, r.started_at, r.finished_at])).toEqual([
      ["FIXED_DELAY", T0 + 30_000, T0 + 30_000, T0 + 37_000],
      ["FIXED_DELAY", T0 + 67_000, T0 + 67_000, T0 + 74_000],
    ]);
  });

  it("a run-once job runs at once, then is DISABLED and not enabled", async () => {
    const uid = await insertJob({ schedulingType: "ONCE_ASAP", created: T0 });
    await syncJobObject(env, uid);
    expect(await alarmOf(uid)).toBe(T0);
    await fire(uid);
    expect((await row(uid))!).toMatchObject({ job_status: "DISABLED", enabled: 0, last_executed_status: "COMPLETED" });
    expect(await alarmOf(uid)).toBeNull();
    await syncJobObject(env, uid);
    expect(await alarmOf(uid)).toBeNull();
  });

  it("disabled or deleted jobs have no alarm and never run", async () => {
    const uid = await insertJob({ cron: "0 * * * * *", enabled: false });
    await syncJobObject(env, uid);
    expect(await alarmOf(uid)).toBeNull();
    const uid2 = await insertJob({ cron: "0 * * * * *" });
    await syncJobObject(env, uid2);
    expect(await alarmOf(uid2)).toBe(T0 + 60_000);
    await env.DB.prepare(`DELETE FROM job_configurations WHERE uid = ?`).bind(uid2).run();
    await syncJobObject(env, uid2);
    expect(await alarmOf(uid2)).toBeNull();
    // A stray alarm of a deleted job runs nothing.
    await runInDurableObject(stub(uid2), (_i, s) => s.storage.setAlarm(T0 + 60_000));
    clk.set(T0 + 60_000);
    await fire(uid2);
    expect(await runs(uid2)).toEqual([]);
    expect(await env.DB.prepare(`SELECT COUNT(*) AS n FROM job_schedule WHERE job_uid = ?`).bind(uid2).first("n")).toBe(0);
  });
});

describe("runs: overlap, job-type exclusivity, cancel, failures", () => {
  it("a run never overlaps itself", async () => {
    const g = gate();
    registerJobHandler("TEST", async () => {
      await g.promise;
    });
    const uid = await insertJob({ cron: "* * * * * *" });
    await syncJobObject(env, uid);
    clk.set(T0 + 1000);
    const first = fire(uid);
    await until(async () => (await row(uid))!.job_status === "RUNNING");
    clk.set(T0 + 2000);
    // Another alarm delivery while running: nothing starts.
    await runInDurableObject(stub(uid), (_i, s) => s.storage.setAlarm(T0 + 2000));
    const second = fire(uid);
    expect(await stub(uid).executeNow(uid, null)).toBe("running");
    g.open();
    await first;
    await second;
    // The 00:00:02 occurrence ran only after the first run had ended.
    const history = await runs(uid);
    expect(history.map((r) => [r.scheduled_at, r.status])).toEqual([
      [T0 + 1000, "COMPLETED"],
      [T0 + 2000, "COMPLETED"],
    ]);
    expect(history[1].started_at!).toBeGreaterThanOrEqual(history[0].finished_at!);
  });

  it("DHIS2 types run one per type; a blocked run starts as soon as the type frees", async () => {
    const g = gate();
    registerJobHandler("DATA_INTEGRITY", async (ctx: JobRunContext) => {
      if (ctx.jobName === "first") await g.promise;
    });
    const a = await insertJob({ name: "first", jobType: "DATA_INTEGRITY", cron: "0 * * * * *" });
    const b = await insertJob({ name: "second", jobType: "DATA_INTEGRITY", cron: "0 * * * * *", created: T0 + 1 });
    await syncJobObject(env, a);
    await syncJobObject(env, b);
    clk.set(T0 + 60_000);
    const runA = fire(a);
    await until(async () => (await row(a))!.job_status === "RUNNING");
    await fire(b);
    expect((await row(b))!.job_status).toBe("SCHEDULED");
    expect(await runs(b)).toEqual([]);
    expect(await alarmOf(b)).toBe(T0 + 60_000 + 2000); // retries shortly
    g.open();
    await runA;
    // A's end woke B: its alarm is due now.
    expect(await alarmOf(b)).toBe(T0 + 60_000);
    await fire(b);
    expect((await runs(b)).map((r) => [r.status, r.scheduled_at])).toEqual([["COMPLETED", T0 + 60_000]]);
  });

  it("the freed type goes to the oldest-created waiting job first (DHIS2's order)", async () => {
    const g = gate();
    registerJobHandler("DATA_INTEGRITY", async (ctx: JobRunContext) => {
      if (ctx.jobName === "runner") await g.promise;
    });
    const runner = await insertJob({ name: "runner", jobType: "DATA_INTEGRITY", cron: "0 * * * * *", created: T0 + 1 });
    const older = await insertJob({ name: "older", jobType: "DATA_INTEGRITY", cron: "0 * * * * *", created: T0 + 2 });
    const younger = await insertJob({ name: "younger", jobType: "DATA_INTEGRITY", cron: "0 * * * * *", created: T0 + 3 });
    for (const uid of [runner, older, younger]) await syncJobObject(env, uid);
    clk.set(T0 + 60_000);
    const run = fire(runner);
    await until(async () => (await row(runner))!.job_status === "RUNNING");
    await fire(younger);
    await fire(older);
    expect(await alarmOf(older)).toBe(T0 + 62_000);
    expect(await alarmOf(younger)).toBe(T0 + 62_000);
    g.open();
    await run;
    // Only the oldest is woken (due now); the younger keeps its own retry.
    expect(await alarmOf(older)).toBe(T0 + 60_000);
    expect(await alarmOf(younger)).toBe(T0 + 62_000);
    await fire(older);
    expect((await runs(older)).map((r) => r.status)).toEqual(["COMPLETED"]);
    // Its end wakes the younger one.
    expect(await alarmOf(younger)).toBe(T0 + 60_000);
  });

  it("a failed run keeps the summary its handler reported", async () => {
    registerJobHandler("TEST", async () => {
      const e = new JobRunError("Remote failure", ["E7010"]);
      (e as JobRunError & { summary?: unknown }).summary = { responseType: "ImportSummary", imported: 3, ignored: 1 };
      throw e;
    });
    const uid = await insertJob({ cron: "0 * * * * *" });
    await syncJobObject(env, uid);
    clk.set(T0 + 60_000);
    await fire(uid);
    expect((await row(uid))!).toMatchObject({ last_executed_status: "FAILED", error_codes: "E7010" });
    const res = await api(`/api/system/taskSummaries/TEST/${uid}`);
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ responseType: "ImportSummary", imported: 3, ignored: 1 });
  });

  it("an independent run starts from the object's copy; if D1 refuses it (changed a moment ago), it is stopped and not recorded", async () => {
    let completedWork = false;
    registerJobHandler("TEST", async (ctx) => {
      await new Promise((r) => setTimeout(r, 50));
      completedWork = !ctx.isCancelled();
    });
    const uid = await insertJob({ cron: "0 * * * * *" });
    await syncJobObject(env, uid);
    // Disabled in D1 without a sync reaching the object yet.
    await env.DB.prepare(
      `UPDATE job_configurations SET enabled = 0, job_status = 'DISABLED', last_updated = last_updated + 1 WHERE uid = ?`,
    )
      .bind(uid)
      .run();
    clk.set(T0 + 60_000);
    await fire(uid);
    expect(completedWork).toBe(false);
    expect(await runs(uid)).toEqual([]);
    expect((await row(uid))!).toMatchObject({ job_status: "DISABLED", last_executed: null });
    expect(await alarmOf(uid)).toBeNull();
  });

  it("TEST runs are independent across jobs", async () => {
    const g = gate();
    registerJobHandler("TEST", async () => {
      await g.promise;
    });
    const a = await insertJob({ cron: "0 * * * * *" });
    const b = await insertJob({ cron: "0 * * * * *" });
    await syncJobObject(env, a);
    await syncJobObject(env, b);
    clk.set(T0 + 60_000);
    const ra = fire(a);
    const rb = fire(b);
    await until(async () => (await row(a))!.job_status === "RUNNING" && (await row(b))!.job_status === "RUNNING");
    g.open();
    await Promise.all([ra, rb]);
    expect((await runs(a)).map((r) => r.status)).toEqual(["COMPLETED"]);
    expect((await runs(b)).map((r) => r.status)).toEqual(["COMPLETED"]);
  });

  it("cancel is cooperative: the run stops at its next check and ends STOPPED", async () => {
    const uid = await insertJob({ cron: "0 * * * * *", parameters: { stages: 1, items: 1000, itemDuration: 50 } });
    await syncJobObject(env, uid);
    clk.set(T0 + 60_000);
    const run = fire(uid);
    await until(async () => (await row(uid))!.job_status === "RUNNING");
    await stub(uid).cancel(uid, "someone");
    await run;
    expect((await row(uid))!).toMatchObject({ job_status: "SCHEDULED", last_executed_status: "STOPPED" });
    expect((await runs(uid))[0]).toMatchObject({ status: "STOPPED", error: "Cancelled by someone" });
    const p = (await stub(uid).getProgress())!;
    expect(p.status).toBe("CANCELLED");
    expect(await alarmOf(uid)).toBe(T0 + 120_000);
  });

  it("a failing handler fails the run with its message", async () => {
    const uid = await insertJob({
      cron: "0 * * * * *",
      parameters: { stages: 2, items: 3, failAtStage: 1, failAtItem: 2, failWithMessage: "boom" },
    });
    await syncJobObject(env, uid);
    clk.set(T0 + 60_000);
    await fire(uid);
    expect((await row(uid))!).toMatchObject({ job_status: "SCHEDULED", last_executed_status: "FAILED" });
    expect((await runs(uid))[0]).toMatchObject({ status: "FAILED", error: "boom" });
    const p = (await stub(uid).getProgress())!;
    expect(p.status).toBe("ERROR");
    expect(p.stages.map((s) => [s.description, s.status, s.items.length])).toEqual([
      ["Stage 0", "SUCCESS", 3],
      ["Stage 1", "ERROR", 3],
    ]);
  });

  it("a type without an in-worker handler fails with a clear error code and message", async () => {
    const uid = await insertJob({ jobType: "RESOURCE_TABLE", cron: "0 * * * * *" });
    await syncJobObject(env, uid);
    clk.set(T0 + 60_000);
    await fire(uid);
    const r = (await row(uid))!;
    expect(r).toMatchObject({ last_executed_status: "FAILED", error_codes: "E7010" });
    expect((await runs(uid))[0].error).toMatch(/^Failed to validate job runtime: .*RESOURCE_TABLE/);
  });

  it("a crash mid-run: the stale heartbeat is detected, the run FAILED and the job rescheduled", async () => {
    const uid = await insertRunningJob(T0 - 20 * 60_000, T0 - 11 * 60_000);
    const result = await scheduledMaintenance(env, T0);
    expect(result.stale).toEqual([uid]);
    expect((await row(uid))!).toMatchObject({
      job_status: "SCHEDULED",
      last_executed_status: "FAILED",
      error_codes: "E7012",
      last_alive: null,
      last_finished: T0,
    });
    expect((await runs(uid))[0]).toMatchObject({ status: "FAILED", error: "Job run was lost: no heartbeat" });
    expect(await alarmOf(uid)).toBe(T0 + 60_000);
  });

  it("a fresh heartbeat is not stale", async () => {
    const uid = await insertJob({ cron: "0 * * * * *", status: "RUNNING", lastExecuted: T0 - 60_000, lastAlive: T0 - 5000 });
    const result = await scheduledMaintenance(env, T0);
    expect(result.stale).toEqual([]);
    expect((await row(uid))!.job_status).toBe("RUNNING");
  });

  it("an object that restarts mid-run marks its lost run FAILED at once", async () => {
    const uid = await insertRunningJob(T0 - 1000);
    await syncJobObject(env, uid); // binds the object
    await leaveRunMarker(uid, T0 - 1000);
    await syncJobObject(env, uid);
    expect((await row(uid))!).toMatchObject({ job_status: "SCHEDULED", last_executed_status: "FAILED", error_codes: "E7012" });
    expect((await runs(uid))[0].status).toBe("FAILED");
    expect(await alarmOf(uid)).toBe(T0 + 60_000);
  });

  it("delete during a run: the run is stopped and the job never runs again", async () => {
    const uid = await insertJob({ cron: "* * * * * *", parameters: { stages: 1, items: 1000, itemDuration: 50 } });
    await syncJobObject(env, uid);
    clk.set(T0 + 1000);
    const run = fire(uid);
    await until(async () => (await row(uid))!.job_status === "RUNNING");
    await env.DB.prepare(`DELETE FROM job_configurations WHERE uid = ?`).bind(uid).run();
    await syncJobObject(env, uid);
    await run;
    expect((await runs(uid)).map((r) => r.status)).toEqual(["STOPPED"]);
    expect(await alarmOf(uid)).toBeNull();
  });

  it("reconcile re-arms objects that were never synced and forgets deleted jobs", async () => {
    const uid = await insertJob({ cron: "0 * * * * *" });
    expect(await alarmOf(uid)).toBeNull();
    const r1 = await scheduledMaintenance(env, T0);
    expect(r1.synced).toBe(1);
    expect(await alarmOf(uid)).toBe(T0 + 60_000);
    // Nothing out of step: nothing to do.
    expect((await scheduledMaintenance(env, T0)).synced).toBe(0);
    // An alarm that did not fire (overdue) is re-armed.
    await runInDurableObject(stub(uid), (_i, s) => s.storage.deleteAlarm());
    clk.set(T0 + 3 * 60_000);
    expect((await scheduledMaintenance(env, T0 + 3 * 60_000)).synced).toBe(1);
    expect(await alarmOf(uid)).toBe(T0 + 3 * 60_000); // the 00:02 occurrence is inside the window: due now
    await env.DB.prepare(`DELETE FROM job_configurations WHERE uid = ?`).bind(uid).run();
    expect((await scheduledMaintenance(env, T0 + 3 * 60_000)).synced).toBe(1);
    expect(await alarmOf(uid)).toBeNull();
  });

  it("HOUSEKEEPING runs for real: stale reset, run-once cleanup, reconcile", async () => {
    const hk = await insertJob({ uid: "DHIS2rocks1", jobType: "HOUSEKEEPING", name: "Housekeeping", delay: 20, system: true });
    const old = await insertJob({
      schedulingType: "ONCE_ASAP",
      enabled: false,
      status: "DISABLED",
      lastExecuted: T0 - 25 * 3600_000,
      lastFinished: T0 - 25 * 3600_000,
    });
    const stale = await insertJob({ cron: "0 * * * * *", status: "RUNNING", lastExecuted: T0 - 3600_000, lastAlive: T0 - 3600_000 });
    await syncJobObject(env, hk);
    expect(await alarmOf(hk)).toBe(T0 + 20_001);
    clk.set(T0 + 20_001);
    await fire(hk);
    expect((await row(hk))!).toMatchObject({ last_executed_status: "COMPLETED", job_status: "SCHEDULED" });
    expect(await row(old)).toBeNull();
    expect((await row(stale))!.last_executed_status).toBe("FAILED");
    expect(await alarmOf(stale)).toBe(T0 + 60_000);
    expect(await alarmOf(hk)).toBe(T0 + 40_001);
    const p = (await stub(hk).getProgress())!;
    expect(p.stages.map((s) => s.description)).toEqual([
      "Reset stale running jobs",
      "Mark disabled jobs",
      "Remove finished run-once jobs",
      "Reconcile job schedules",
      "Prune run history",
    ]);
  });
});
