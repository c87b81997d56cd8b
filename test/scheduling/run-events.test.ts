/**
 * Run lifecycle events from the real job objects to listeners registered like the entry registers
 * them: what each event carries, when it is emitted (after D1 has it), every kind and trigger, and
 * at-least-once delivery in order when a listener fails.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { LOST_RUN_MESSAGE } from "../../src/scheduling/engine";
import { registerRunListeners, unregisterRunListener } from "../../src/scheduling/hooks";
import { resetStaleJobs, scheduledMaintenance } from "../../src/scheduling/reconcile";
import type { RunEvent, RunListenerContext } from "../../src/scheduling/run-events";
import { syncJobObject } from "../../src/scheduling/sync";
import { api } from "../helpers";
import {
  T0,
  adminUid,
  alarmOf,
  fire,
  fireWithEndRefused,
  insertJob,
  insertRunningJob,
  leaveRunMarker,
  row,
  runs,
  schedulerTestLifecycle,
  stub,
} from "./support";

const clk = schedulerTestLifecycle(["DATA_INTEGRITY"]);

/** What the capturing listener saw: each event, and the status of the run's D1 row at that moment. */
const seen: { event: RunEvent; d1Status: string | null; attempt: number }[] = [];
let flakyFailures = 0;
const flakySeen: RunEvent[] = [];

async function d1Status(event: RunEvent, ctx: RunListenerContext): Promise<string | null> {
  return ctx.env.DB.prepare(`SELECT status FROM job_runs WHERE job_uid = ? AND scheduled_at = ?`)
    .bind(event.jobId, event.scheduledAt)
    .first<string>("status");
}

beforeAll(() => {
  registerRunListeners([
    {
      name: "test-capture",
      async handle(event, ctx) {
        seen.push({ event, d1Status: await d1Status(event, ctx), attempt: ctx.attempt });
      },
    },
    {
      name: "test-flaky",
      accepts: (event) => event.jobName.startsWith("flaky"),
      handle(event) {
        if (flakyFailures > 0) {
          flakyFailures--;
          throw new Error("listener down");
        }
        flakySeen.push(event);
      },
    },
  ]);
});
afterAll(() => {
  unregisterRunListener("test-capture");
  unregisterRunListener("test-flaky");
});
beforeEach(() => {
  seen.length = 0;
  flakySeen.length = 0;
  flakyFailures = 0;
});

const eventsOf = (uid: string) => seen.filter((s) => s.event.jobId === uid).map((s) => s.event);

describe("run events", () => {
  it("a CRON run: RUN_STARTED once D1 has the start, RUN_ENDED once D1 has the end, with the run's facts", async () => {
    const uid = await insertJob({ name: "nightly", cron: "0 * * * * *" });
    await syncJobObject(env, uid);
    const due = T0 + 60_000;
    clk.set(due + 250);
    await fire(uid);
    const run = { jobId: uid, jobType: "TEST", jobName: "nightly", scheduledAt: due, executedBy: null, runId: `${uid}-${due}` };
    const start = { trigger: "CRON", startedAt: due + 250, latenessMs: 250 };
    expect(seen.filter((s) => s.event.jobId === uid)).toEqual([
      { event: { kind: "RUN_STARTED", id: `${uid}-${due}:started`, at: due + 250, ...run, ...start }, d1Status: "RUNNING", attempt: 1 },
      {
        event: {
          kind: "RUN_ENDED",
          id: `${uid}-${due}:ended`,
          at: due + 250,
          ...run,
          ...start,
          status: "COMPLETED",
          finishedAt: due + 250,
          durationMs: 0,
          errorCodes: [],
          message: "Test job completed",
        },
        d1Status: "COMPLETED",
        attempt: 1,
      },
    ]);
    expect((await stub(uid).schedulerState()).undeliveredEvents).toBe(0);
  });

  it("execute: MANUAL with the user; a failed run carries its error codes and message", async () => {
    const uid = await insertJob({ jobType: "RESOURCE_TABLE", cron: "0 0 0 * * *" });
    expect((await api(`/api/jobConfigurations/${uid}/execute`, { method: "POST" })).status).toBe(200);
    clk.advance(1500);
    await fire(uid);
    const [started, ended] = eventsOf(uid);
    expect(started).toMatchObject({
      kind: "RUN_STARTED",
      trigger: "MANUAL",
      triggeredBy: await adminUid(),
      scheduledAt: T0,
      latenessMs: 1500,
    });
    expect(ended).toMatchObject({ kind: "RUN_ENDED", status: "FAILED", errorCodes: ["E7010"], durationMs: 0 });
    expect(ended.kind === "RUN_ENDED" && ended.message).toMatch(/^Failed to validate job runtime: /);
    expect(eventsOf(uid)).toHaveLength(2);
  });

  it("missed occurrences: OCCURRENCE_SKIPPED with how many, the first and the last", async () => {
    const uid = await insertJob({ name: "hourly", cron: "0 0 * * * *", lastExecuted: T0, lastFinished: T0 + 1000 });
    clk.set(T0 + 6 * 3600_000 + 500);
    await syncJobObject(env, uid);
    expect(eventsOf(uid)).toEqual([
      {
        kind: "OCCURRENCE_SKIPPED",
        id: `${uid}-${T0 + 2 * 3600_000}:skipped`,
        at: T0 + 6 * 3600_000 + 500,
        jobId: uid,
        jobType: "TEST",
        jobName: "hourly",
        scheduledAt: T0 + 2 * 3600_000,
        executedBy: null,
        trigger: "CRON",
        skipped: { count: 2, first: T0 + 3600_000, last: T0 + 2 * 3600_000 },
        message: "2 missed occurrence(s) from 2035-01-01T01:00:00.000Z to 2035-01-01T02:00:00.000Z skipped: older than the 4 h window",
      },
    ]);
    await fire(uid); // 03:00 runs once; the skip is not reported again
    expect(eventsOf(uid).map((e) => e.kind)).toEqual(["OCCURRENCE_SKIPPED", "RUN_STARTED", "RUN_ENDED"]);
  });

  it("a run that died with its object: RUN_LOST, FAILED with E7012", async () => {
    const uid = await insertRunningJob(T0 - 1000);
    await syncJobObject(env, uid);
    await leaveRunMarker(uid, T0 - 1000); // as an older engine wrote it: the event takes the job's type and name from the row
    await syncJobObject(env, uid);
    expect(eventsOf(uid)).toEqual([
      {
        kind: "RUN_LOST",
        id: `${uid}-${T0 - 1000}:ended`,
        at: T0,
        jobId: uid,
        jobType: "TEST",
        jobName: `job ${uid}`,
        scheduledAt: T0 - 1000,
        executedBy: null,
        runId: `${uid}-${T0 - 1000}`,
        trigger: "CRON",
        startedAt: T0 - 1000,
        latenessMs: 0,
        status: "FAILED",
        finishedAt: T0,
        durationMs: 1000,
        errorCodes: ["E7012"],
        message: LOST_RUN_MESSAGE,
      },
    ]);
    expect(seen.find((s) => s.event.jobId === uid)?.d1Status).toBe("FAILED");
  });

  /** Executes a new job now; its run's end (`finishRun`) fails to be recorded. Returns the job and the end instant. */
  async function runWhoseEndIsNotRecorded(): Promise<{ uid: string; ended: number }> {
    const uid = await insertJob({ cron: "0 0 0 * * *" });
    expect((await api(`/api/jobConfigurations/${uid}/execute`, { method: "POST" })).status).toBe(200);
    expect(await fireWithEndRefused(uid)).toBe(true);
    expect(eventsOf(uid).map((e) => e.kind)).toEqual(["RUN_STARTED"]);
    return { uid, ended: clk.now() };
  }

  it("a run whose end D1 refused: RUN_RECOVERED with its real outcome once the end is recorded, and no RUN_ENDED", async () => {
    const { uid, ended } = await runWhoseEndIsNotRecorded();
    clk.advance(6000);
    await fire(uid); // the engine's retry
    const events = eventsOf(uid);
    expect(events.map((e) => e.kind)).toEqual(["RUN_STARTED", "RUN_RECOVERED"]);
    expect(events[1]).toMatchObject({ id: `${uid}-${ended}:ended`, status: "COMPLETED", finishedAt: ended, message: "Test job completed" });
    expect(seen.find((s) => s.event.kind === "RUN_RECOVERED")?.d1Status).toBe("COMPLETED");
  });

  it("a run whose end D1 refused until the stale-run reset closed it: RUN_LOST, as D1 records it", async () => {
    const { uid, ended } = await runWhoseEndIsNotRecorded();
    clk.set(ended + 11 * 60_000);
    expect(await resetStaleJobs(env, clk.now())).toEqual([uid]); // D1: FAILED, E7012; then the object's sync
    expect(eventsOf(uid).map((e) => e.kind)).toEqual(["RUN_STARTED", "RUN_LOST"]);
    expect(eventsOf(uid)[1]).toMatchObject({ id: `${uid}-${ended}:ended`, status: "FAILED", errorCodes: ["E7012"], finishedAt: clk.now() });
    expect((await row(uid))!).toMatchObject({ last_executed_status: "FAILED", error_codes: "E7012" });
  });

  it("an occurrence the reconcile finds overdue (its alarm never fired) starts as RECOVERY; the next is CRON again", async () => {
    const uid = await insertJob({ cron: "0 * * * * *" });
    await scheduledMaintenance(env, T0);
    await runInDurableObject(stub(uid), (_i, s) => s.storage.deleteAlarm());
    clk.set(T0 + 3 * 60_000);
    expect((await scheduledMaintenance(env, T0 + 3 * 60_000)).synced).toBe(1);
    await fire(uid);
    // 00:01 is still inside the window: it runs, two minutes late.
    expect((await runs(uid)).map((r) => [r.trigger, r.scheduled_at])).toEqual([["RECOVERY", T0 + 60_000]]);
    expect(eventsOf(uid)[0]).toMatchObject({ kind: "RUN_STARTED", trigger: "RECOVERY", scheduledAt: T0 + 60_000, latenessMs: 120_000 });
    clk.set(T0 + 4 * 60_000);
    await fire(uid);
    expect((await runs(uid)).map((r) => [r.trigger, r.scheduled_at])).toEqual([
      ["RECOVERY", T0 + 60_000],
      ["CRON", T0 + 4 * 60_000],
    ]);
  });

  it("a queue member started by the previous member: trigger QUEUE, with the queue's name", async () => {
    const a = await insertJob({ name: "qa" });
    const b = await insertJob({ name: "qb" });
    const res = await api(`/api/scheduler/queues/evq`, { method: "POST", body: { cronExpression: "0 0 1 ? * *", sequence: [a, b] } });
    expect(res.status).toBe(201);
    clk.set(T0 + 3600_000);
    await fire(a);
    clk.advance(1000);
    await fire(b);
    expect(eventsOf(a).map((e) => [e.kind, e.queue, "trigger" in e ? e.trigger : null])).toEqual([
      ["RUN_STARTED", "evq", "CRON"],
      ["RUN_ENDED", "evq", "CRON"],
    ]);
    expect(eventsOf(b)[0]).toMatchObject({ kind: "RUN_STARTED", queue: "evq", trigger: "QUEUE", scheduledAt: T0 + 3600_000 });
    expect(eventsOf(b)[0]).not.toHaveProperty("triggeredBy");
    expect((await runs(b)).map((r) => [r.trigger, r.status])).toEqual([["QUEUE", "COMPLETED"]]);
  });
});

describe("delivery", () => {
  it("a failing listener never breaks the run or the other listeners; it gets the events later, in order", async () => {
    const uid = await insertJob({ name: "flaky job", cron: "0 * * * * *" });
    await syncJobObject(env, uid);
    flakyFailures = 1;
    clk.set(T0 + 60_000);
    await fire(uid);
    expect((await row(uid))!.last_executed_status).toBe("COMPLETED");
    expect(eventsOf(uid).map((e) => e.kind)).toEqual(["RUN_STARTED", "RUN_ENDED"]);
    // RUN_STARTED failed for the flaky listener; RUN_ENDED waits behind it.
    expect(flakySeen).toEqual([]);
    expect((await stub(uid).schedulerState()).undeliveredEvents).toBe(2);
    expect(await alarmOf(uid)).toBe(T0 + 60_000 + 1000); // the first retry, before the next occurrence
    clk.set(T0 + 61_000);
    await fire(uid);
    expect(flakySeen.map((e) => e.kind)).toEqual(["RUN_STARTED", "RUN_ENDED"]);
    expect((await stub(uid).schedulerState()).undeliveredEvents).toBe(0);
    expect(await alarmOf(uid)).toBe(T0 + 120_000);
    // The other listener got each event once, on the first attempt.
    expect(seen.filter((s) => s.event.jobId === uid).map((s) => s.attempt)).toEqual([1, 1]);
  });

  it("undelivered events wait in the object's storage and go out at its next contact", async () => {
    const uid = await insertJob({ name: "flaky again", cron: "0 0 0 * * *" });
    flakyFailures = 1;
    expect((await api(`/api/jobConfigurations/${uid}/execute`, { method: "POST" })).status).toBe(200);
    await fire(uid);
    expect((await stub(uid).schedulerState()).undeliveredEvents).toBe(2);
    clk.advance(5000); // past the backoff
    await syncJobObject(env, uid); // e.g. a reconcile: a contact retries what is due
    expect(flakySeen.map((e) => e.kind)).toEqual(["RUN_STARTED", "RUN_ENDED"]);
    expect((await stub(uid).schedulerState()).undeliveredEvents).toBe(0);
  });
});
