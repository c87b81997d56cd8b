/**
 * Queue run logic against D1: continuation after success, NOT_STARTED after a failure or cancel,
 * exactly-once starts and crash repair. The scheduler's run path is simulated by writing the rows
 * a run leaves behind; the start request goes to a recording starter.
 */
import { env } from "cloudflare:test";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { manualClock, setClock } from "../../src/http/clock";
import {
  claimQueueStart,
  onQueueMemberFinished,
  pendingQueueStart,
  queueBusy,
  reconcileQueueRuns,
  type QueueStarter,
} from "../../src/queues/runs";
import { api } from "../helpers";
import { clearJobs, deleteJobAlarms, jobRow, seedJob, T0 } from "./support";

const A = "runAaaaaaa1";
const B = "runBbbbbbb1";
const C = "runCcccccc1";

const clockNow = manualClock(T0);
let started: { uid: string; key: string }[] = [];

/** Claims like the real starter, records instead of calling the Durable Object. */
const starter: QueueStarter = async (e, uid, key, now) => {
  if (await claimQueueStart(e.DB, uid, key, now)) started.push({ uid, key });
};
const opts = { starter };

beforeEach(async () => {
  setClock(clockNow);
  clockNow.set(T0);
  started = [];
  await clearJobs();
  await seedJob({ uid: A, name: "ra", jobType: "TEST", created: T0 - 86_400_000 });
  await seedJob({ uid: B, name: "rb", jobType: "TEST", created: T0 - 86_400_000 });
  await seedJob({ uid: C, name: "rc", jobType: "TEST", created: T0 - 86_400_000 });
  const res = await api("/api/scheduler/queues/q", { method: "POST", body: { cronExpression: "0 0 1 ? * *", sequence: [A, B, C] } });
  expect(res.status).toBe(201);
});

afterEach(deleteJobAlarms);
afterAll(() => setClock(null));

/** What the scheduler leaves in D1 when a run starts and when it ends. */
async function runStarted(uid: string, at: number) {
  await env.DB.prepare("UPDATE job_configurations SET job_status = 'RUNNING', last_executed = ?, last_alive = ? WHERE uid = ?")
    .bind(at, at, uid)
    .run();
}
async function runEnded(uid: string, at: number, status: "COMPLETED" | "FAILED" | "STOPPED") {
  await env.DB.prepare(
    "UPDATE job_configurations SET job_status = 'SCHEDULED', last_executed_status = ?, last_finished = ?, last_alive = NULL WHERE uid = ?",
  )
    .bind(status, at, uid)
    .run();
}
async function steps() {
  const { results } = await env.DB.prepare("SELECT run_id, position, job_uid, state FROM queue_run_steps ORDER BY run_id, position").all();
  return results;
}

describe("queue runs", () => {
  it("success chain: each completed member starts the next at once; the last one ends the run", async () => {
    await runStarted(A, T0);
    await runEnded(A, T0 + 1000, "COMPLETED");
    clockNow.set(T0 + 1000);
    expect(await onQueueMemberFinished(env, A, "COMPLETED", T0 + 1000, opts)).toEqual({
      action: "started-next",
      runId: `q@${T0}`,
      next: { uid: B, key: `q@${T0}#1` },
    });
    expect(started).toEqual([{ uid: B, key: `q@${T0}#1` }]);

    await runStarted(B, T0 + 1000);
    await runEnded(B, T0 + 2000, "COMPLETED");
    expect((await onQueueMemberFinished(env, B, "COMPLETED", T0 + 2000, opts)).next).toEqual({ uid: C, key: `q@${T0}#2` });
    await runStarted(C, T0 + 2000);
    expect(await queueBusy(env.DB, "q")).toBe(true);
    await runEnded(C, T0 + 3000, "COMPLETED");
    expect(await onQueueMemberFinished(env, C, "COMPLETED", T0 + 3000, opts)).toEqual({ action: "finished", runId: `q@${T0}` });
    expect(await queueBusy(env.DB, "q")).toBe(false);
    expect(started.map((s) => s.uid)).toEqual([B, C]);
    expect(await steps()).toEqual([
      { run_id: `q@${T0}`, position: 0, job_uid: A, state: "COMPLETED" },
      { run_id: `q@${T0}`, position: 1, job_uid: B, state: "COMPLETED" },
      { run_id: `q@${T0}`, position: 2, job_uid: C, state: "COMPLETED" },
    ]);
  });

  it("duplicate finish reports never start a member twice", async () => {
    await runStarted(A, T0);
    await runEnded(A, T0 + 1000, "COMPLETED");
    await onQueueMemberFinished(env, A, "COMPLETED", T0 + 1000, opts);
    await onQueueMemberFinished(env, A, "COMPLETED", T0 + 1500, opts);
    await onQueueMemberFinished(env, { uid: A }, "FAILED", T0 + 1600, opts);
    expect(started).toEqual([{ uid: B, key: `q@${T0}#1` }]);
    await runStarted(B, T0 + 2000);
    await runEnded(B, T0 + 3000, "COMPLETED");
    await onQueueMemberFinished(env, B, "COMPLETED", T0 + 3000, opts);
    expect(await onQueueMemberFinished(env, B, "COMPLETED", T0 + 3001, opts)).toEqual({ action: "none" });
    expect(started.map((s) => s.uid)).toEqual([B, C]);
  });

  it("a failure in the middle marks the rest NOT_STARTED with lastExecuted = lastFinished = now", async () => {
    await runStarted(A, T0);
    await runEnded(A, T0 + 1000, "COMPLETED");
    await onQueueMemberFinished(env, A, "COMPLETED", T0 + 1000, opts);
    await runStarted(B, T0 + 1000);
    await runEnded(B, T0 + 2000, "FAILED");
    const res = await onQueueMemberFinished(env, B, "FAILED", T0 + 2000, opts);
    expect(res).toEqual({ action: "skipped-rest", runId: `q@${T0}`, skipped: [C] });
    const c = await jobRow(C);
    expect([c.last_executed_status, c.last_executed, c.last_finished, c.job_status]).toEqual([
      "NOT_STARTED",
      T0 + 2000,
      T0 + 2000,
      "SCHEDULED",
    ]);
    expect(started.map((s) => s.uid)).toEqual([B]);
    expect((await steps()).map((s: any) => s.state)).toEqual(["COMPLETED", "FAILED", "SKIPPED"]);
    // A late success report for B changes nothing; a repeated head report neither.
    expect(await onQueueMemberFinished(env, B, "COMPLETED", T0 + 2500, opts)).toEqual({ action: "none" });
    await onQueueMemberFinished(env, A, "COMPLETED", T0 + 2600, opts);
    expect((await jobRow(C)).last_executed).toBe(T0 + 2000);
    expect(started.map((s) => s.uid)).toEqual([B]);
  });

  it("a cancelled head stops the whole queue", async () => {
    await runStarted(A, T0);
    await runEnded(A, T0 + 1000, "STOPPED");
    const res = await onQueueMemberFinished(env, A, "STOPPED", T0 + 1000, opts);
    expect(res.action).toBe("skipped-rest");
    expect(res.skipped).toEqual([B, C]);
    for (const uid of [B, C]) expect((await jobRow(uid)).last_executed_status).toBe("NOT_STARTED");
    // The same report again does not move the skipped members' times.
    await onQueueMemberFinished(env, A, "STOPPED", T0 + 5000, opts);
    expect((await jobRow(C)).last_finished).toBe(T0 + 1000);
    expect(started).toEqual([]);
  });

  it("a disabled next member ends the run", async () => {
    await env.DB.prepare("UPDATE job_configurations SET enabled = 0, job_status = 'DISABLED' WHERE uid = ?").bind(B).run();
    await runStarted(A, T0);
    await runEnded(A, T0 + 1000, "COMPLETED");
    expect((await onQueueMemberFinished(env, A, "COMPLETED", T0 + 1000, opts)).action).toBe("skipped-rest");
    expect(started).toEqual([]);
  });

  it("ignores jobs outside queues, members run by hand, and the head's run from before the queue", async () => {
    await seedJob({ uid: "loneJob0001", name: "lone", jobType: "TEST" });
    expect(await onQueueMemberFinished(env, "loneJob0001", "COMPLETED", T0, opts)).toEqual({ action: "none" });
    expect(await onQueueMemberFinished(env, "missingJob1", "COMPLETED", T0, opts)).toEqual({ action: "none" });
    await runStarted(B, T0);
    await runEnded(B, T0 + 10, "COMPLETED");
    expect(await onQueueMemberFinished(env, B, "COMPLETED", T0 + 10, opts)).toEqual({ action: "none" });

    // D ran at T0 - 1 h, then became the head of a new queue: that run must not start the queue.
    await seedJob({
      uid: "runDdddddd1",
      name: "rd",
      jobType: "TEST",
      lastExecuted: T0 - 3_600_000,
      lastFinished: T0 - 3_500_000,
      lastExecutedStatus: "COMPLETED",
    });
    await seedJob({ uid: "runEeeeeee1", name: "re", jobType: "TEST" });
    await api("/api/scheduler/queues/q2", {
      method: "POST",
      body: { cronExpression: "0 0 2 ? * *", sequence: ["runDdddddd1", "runEeeeeee1"] },
    });
    expect((await onQueueMemberFinished(env, "runDdddddd1", "COMPLETED", T0, opts)).action).toBe("none");
    expect((await reconcileQueueRuns(env, T0 + 600_000, opts)).continued).toEqual([]);
    expect(started).toEqual([]);
  });

  it("pull API: a requested start is pending until claimed, and claimable once", async () => {
    await runStarted(A, T0);
    await runEnded(A, T0 + 1000, "COMPLETED");
    await onQueueMemberFinished(env, A, "COMPLETED", T0 + 1000, { starter: async () => {} });
    const pending = await pendingQueueStart(env.DB, B);
    expect(pending).toEqual({ key: `q@${T0}#1`, runId: `q@${T0}`, position: 1, requestedAt: T0 + 1000 });
    expect(await pendingQueueStart(env.DB, C)).toBeNull();
    expect(await claimQueueStart(env.DB, B, pending!.key, T0 + 1100)).toBe(true);
    expect(await claimQueueStart(env.DB, B, pending!.key, T0 + 1200)).toBe(false);
    expect(await pendingQueueStart(env.DB, B)).toBeNull();
  });

  it("removing a member from the queue cancels its requested start", async () => {
    await runStarted(A, T0);
    await runEnded(A, T0 + 1000, "COMPLETED");
    await onQueueMemberFinished(env, A, "COMPLETED", T0 + 1000, { starter: async () => {} });
    expect(await pendingQueueStart(env.DB, B)).not.toBeNull();
    await api("/api/scheduler/queues/q", { method: "PUT", body: { cronExpression: "0 0 1 ? * *", sequence: [A, C] } });
    expect(await pendingQueueStart(env.DB, B)).toBeNull();
  });
});

describe("queue edits during a run", () => {
  it("renaming the queue keeps the run going", async () => {
    await runStarted(A, T0);
    await runEnded(A, T0 + 1000, "COMPLETED");
    await onQueueMemberFinished(env, A, "COMPLETED", T0 + 1000, opts);
    expect(
      (await api("/api/scheduler/queues/q", { method: "PUT", body: { name: "q2", cronExpression: "0 0 1 ? * *", sequence: [A, B, C] } }))
        .status,
    ).toBe(204);
    await runStarted(B, T0 + 2000);
    await runEnded(B, T0 + 3000, "COMPLETED");
    expect(await reconcileQueueRuns(env, T0 + 3000, opts)).toEqual({ continued: [B], retriggered: [], failed: [] });
    expect(started.map((s) => s.uid)).toEqual([B, C]);
    // The head's earlier run is not started again under the new name.
    expect((await reconcileQueueRuns(env, T0 + 600_000, opts)).continued).toEqual([]);
  });

  it("deleting the queue mid-run: the running member ends without continuing", async () => {
    await runStarted(A, T0);
    await runEnded(A, T0 + 1000, "COMPLETED");
    await onQueueMemberFinished(env, A, "COMPLETED", T0 + 1000, opts);
    await runStarted(B, T0 + 2000);
    expect((await api("/api/scheduler/queues/q", { method: "DELETE" })).status).toBe(204);
    await runEnded(B, T0 + 3000, "COMPLETED");
    expect(await onQueueMemberFinished(env, B, "COMPLETED", T0 + 3000, opts)).toEqual({ action: "none" });
    expect(await reconcileQueueRuns(env, T0 + 600_000, opts)).toEqual({ continued: [], retriggered: [], failed: [] });
    expect(started.map((s) => s.uid)).toEqual([B]);
  });
});

describe("crash repair (reconcileQueueRuns)", () => {
  it("a head whose finish was never reported continues the queue, once", async () => {
    await runStarted(A, T0);
    await runEnded(A, T0 + 1000, "COMPLETED"); // crash: the hook never ran
    const report = await reconcileQueueRuns(env, T0 + 60_000, opts);
    expect(report.continued).toEqual([A]);
    expect(started).toEqual([{ uid: B, key: `q@${T0}#1` }]);
    await reconcileQueueRuns(env, T0 + 120_000, opts);
    await onQueueMemberFinished(env, A, "COMPLETED", T0 + 130_000, opts); // the late report
    expect(started).toEqual([{ uid: B, key: `q@${T0}#1` }]);
  });

  it("a member that finished while its report was lost is reported by the reconcile", async () => {
    await runStarted(A, T0);
    await runEnded(A, T0 + 1000, "COMPLETED");
    await onQueueMemberFinished(env, A, "COMPLETED", T0 + 1000, opts);
    await runStarted(B, T0 + 2000);
    await runEnded(B, T0 + 3000, "FAILED"); // crash before the hook
    expect(await reconcileQueueRuns(env, T0 + 10_000, opts)).toEqual({ continued: [B], retriggered: [], failed: [] });
    expect((await jobRow(C)).last_executed_status).toBe("NOT_STARTED");
    expect(started.map((s) => s.uid)).toEqual([B]);
  });

  it("a claimed start that never began fails the queue cleanly after the grace period", async () => {
    await runStarted(A, T0);
    await runEnded(A, T0 + 1000, "COMPLETED");
    await onQueueMemberFinished(env, A, "COMPLETED", T0 + 1000, opts); // B claimed, then the worker died
    expect((await reconcileQueueRuns(env, T0 + 60_000, opts)).failed).toEqual([]); // still within grace
    expect(await reconcileQueueRuns(env, T0 + 1000 + 120_000, opts)).toEqual({ continued: [], retriggered: [], failed: [B] });
    for (const uid of [B, C]) {
      const r = await jobRow(uid);
      expect([r.last_executed_status, r.last_executed, r.last_finished]).toEqual(["NOT_STARTED", T0 + 121_000, T0 + 121_000]);
    }
    expect((await steps()).map((s: any) => s.state)).toEqual(["COMPLETED", "FAILED", "SKIPPED"]);
    expect(started.map((s) => s.uid)).toEqual([B]);
  });

  it("an unclaimed start is requested again, and still starts only once", async () => {
    await runStarted(A, T0);
    await runEnded(A, T0 + 1000, "COMPLETED");
    await onQueueMemberFinished(env, A, "COMPLETED", T0 + 1000, { starter: async () => {} }); // request lost
    expect(await reconcileQueueRuns(env, T0 + 10_000, opts)).toEqual({ continued: [], retriggered: [], failed: [] });
    expect(await reconcileQueueRuns(env, T0 + 31_000, opts)).toEqual({ continued: [], retriggered: [B], failed: [] });
    expect(await reconcileQueueRuns(env, T0 + 90_000, opts)).toEqual({ continued: [], retriggered: [], failed: [] });
    expect(started).toEqual([{ uid: B, key: `q@${T0}#1` }]);
  });

  it("a running member is left alone", async () => {
    await runStarted(A, T0);
    await runEnded(A, T0 + 1000, "COMPLETED");
    await onQueueMemberFinished(env, A, "COMPLETED", T0 + 1000, opts);
    await runStarted(B, T0 + 2000);
    expect(await reconcileQueueRuns(env, T0 + 3_600_000, opts)).toEqual({ continued: [], retriggered: [], failed: [] });
  });
});
