/**
 * Executor and in-worker handlers through the real scheduler engine: a job's Durable Object runs
 * the handler, the task notifications, summary, run history and job status come out as for any job.
 *
 * An executor run never holds the object's alarm pass: the pass delivers the start and returns, and
 * the run is stepped by the executor's callbacks and the object's alarm, for as long as it takes, in
 * any instance of the object. The clock is fixed in 2035, so alarms fire only when a test fires them.
 */
import { abortAllDurableObjects, createExecutionContext, env, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Dhis2Config } from "../../bridge/src/dhis2";
import { MemoryRunHost, handleBridgeRequest } from "../../bridge/src/runner";
import { app } from "../../src/app";
import { setExecutorTransport } from "../../src/executor/config";
import { signedRequest, type CallbackKind, type FetchLike, type StartRequest } from "../../src/executor/protocol";
import { disableInactiveUsersHandler } from "../../src/jobs/handlers/disable-inactive-users";
import { manualClock, setClock } from "../../src/http/clock";
import { reconcileJobObjects, resetStaleJobs } from "../../src/scheduling/reconcile";
import { registerJobHandler } from "../../src/scheduling/handlers";
import { syncJobObject } from "../../src/scheduling/sync";
import { api, json } from "../helpers";
import { T0, alarmOf, cleanupJobs, fire, gate, insertJob, row, runs, stub, track, until } from "../scheduling/support";
import { analyticsScript, StubDhis2 } from "./stub-dhis2";

const clk = manualClock(T0);
const SECRET = "integration-secret-0123456789";

beforeAll(async () => {
  await env.DB.prepare(`DELETE FROM job_configurations`).run();
});
beforeEach(() => {
  clk.set(T0);
  setClock(clk);
});
afterEach(async () => {
  await settled();
  await cleanupJobs();
  registerJobHandler("DISABLE_INACTIVE_USERS", null);
  setExecutorTransport(null);
  setClock(null);
});

const pending: ExecutionContext[] = [];

/** The main Worker with the executor secret (the test environment has none); its waitUntil work is kept. */
const scheduler: FetchLike = {
  fetch: async (input, init) => {
    const ctx = createExecutionContext();
    pending.push(ctx);
    return app.fetch(new Request(input, init), { ...env, EXECUTOR_SECRET: SECRET }, ctx);
  },
};

/** Waits for the work the callbacks left behind: their wake-ups, i.e. the run's steps in its object. */
async function settled(): Promise<void> {
  while (pending.length) await waitOnExecutionContext(pending.shift()!);
}

/**
 * ANALYTICS_TABLE runs on the executor, which is the DHIS2 bridge (polling every 3 s on the manual
 * clock) in front of a stub DHIS2 playing the analytics script; `credentials` are the bridge's.
 */
function analyticsThroughBridge(credentials: Omit<Dhis2Config, "baseUrl">): {
  dhis2: StubDhis2;
  host: MemoryRunHost;
  tick(): Promise<void>;
} {
  const dhis2 = new StubDhis2();
  dhis2.script = analyticsScript();
  const host = new MemoryRunHost({
    secret: SECRET,
    dhis2: { baseUrl: dhis2.baseUrl, ...credentials },
    dhis2Fetch: dhis2,
    callbackFetch: scheduler,
    now: () => clk.now(),
    pollIntervalMs: 3000,
  });
  setExecutorTransport(
    { fetch: async (input, init) => handleBridgeRequest(new Request(input, init), { secret: SECRET, now: () => clk.now() }, host) },
    SECRET,
  );
  return {
    dhis2,
    host,
    /** 3 s later: the bridge polls DHIS2 and posts its callbacks, which step the run. */
    async tick() {
      clk.advance(3000);
      await host.runDueAlarms(clk.now());
      await settled();
    },
  };
}

/**
 * An executor under the test's control: it accepts every start, records starts and cancels, and
 * posts the run's callbacks (signed, with the run's token) when the test says so.
 */
class TestExecutor implements FetchLike {
  readonly starts: StartRequest[] = [];
  readonly cancels: string[] = [];
  /** While set, a start request waits for it (the object may be reset meanwhile). */
  hold: Promise<void> | null = null;

  constructor() {
    setExecutorTransport(this, SECRET);
  }

  async fetch(input: Request | string | URL, init?: RequestInit): Promise<Response> {
    const req = new Request(input, init);
    const path = new URL(req.url).pathname;
    if (path === "/runs") {
      this.starts.push((await req.json()) as StartRequest);
      if (this.hold) await this.hold;
      return Response.json({ status: "accepted" }, { status: 202 });
    }
    if (path.endsWith("/cancel")) {
      this.cancels.push(path);
      return Response.json({ status: "cancelled" }, { status: 202 });
    }
    return new Response("Not found", { status: 404 });
  }

  /** Posts a callback of the last run started; returns once the step it caused is over. */
  async callback(kind: CallbackKind, body: Record<string, unknown>): Promise<Response> {
    const start = this.starts.at(-1)!;
    const req = await signedRequest(SECRET, "POST", `${start.callback.url}/${kind}`, body, clk.now(), {
      Authorization: `Bearer ${start.callback.token}`,
    });
    const res = await scheduler.fetch(req);
    await settled();
    return res;
  }
}

/** Executes the job now and fires its alarm: the run starts (and, on an executor, is handed over). */
async function executeNow(uid: string): Promise<void> {
  await syncJobObject(env, uid);
  const res = await api(`/api/jobConfigurations/${uid}/execute`, { method: "POST" });
  expect(res.status).toBe(200);
  expect(await fire(uid)).toBe(true);
}

/** An item error as `/progress/errors` shows it (no message). */
function plain(e: { code: string; id: string; type: string; args: string[] }) {
  return { code: e.code, id: e.id, type: e.type, args: e.args };
}

async function tasksOf(jobType: string, uid: string): Promise<any[]> {
  return json<any[]>(await api(`/api/system/tasks/${jobType}/${uid}`));
}

async function executorRunState(runId: string): Promise<string | null> {
  return env.DB.prepare(`SELECT state FROM executor_runs WHERE run_id = ?`).bind(runId).first<string>("state");
}

describe("runs through the scheduler engine", () => {
  it("without an executor, synchronization jobs are still created and scheduled (no 409 E7010 at create)", async () => {
    for (const [jobType, jobParameters] of [
      ["DATA_SYNC", { pageSize: 10000 }],
      ["META_DATA_SYNC", { dataValuesPageSize: 10000 }],
      ["ANALYTICS_TABLE", { lastYears: 2 }],
    ] as const) {
      const res = await api("/api/jobConfigurations", {
        body: { name: `No executor ${jobType}`, jobType, cronExpression: "0 0 3 ? * *", jobParameters },
      });
      expect(res.status, jobType).toBe(201);
      const uid = (await json(res)).response.uid as string;
      track(uid);
      expect((await row(uid))!).toMatchObject({ job_type: jobType, job_status: "SCHEDULED", enabled: 1 });
      expect(await alarmOf(uid)).toBe(Date.UTC(2035, 0, 1, 3)); // armed for its next occurrence
      await cleanupJobs();
    }
  });

  it("an executor type on a server without executor fails at once: ERROR notification, E7010", async () => {
    const uid = await insertJob({ jobType: "ANALYTICS_TABLE", cron: "0 0 3 ? * *", parameters: { lastYears: 2 } });
    await executeNow(uid);
    const history = await runs(uid);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ status: "FAILED" });
    const job = (await row(uid))!;
    expect(job).toMatchObject({ last_executed_status: "FAILED", error_codes: "E7010", job_status: "SCHEDULED" });
    const tasks = await json<any[]>(await api(`/api/system/tasks/ANALYTICS_TABLE/${uid}`));
    expect(tasks[0]).toMatchObject({
      level: "ERROR",
      completed: true,
      message:
        "Failed to validate job runtime: no executor configured (EXECUTOR_URL/EXECUTOR_SECRET); job type ANALYTICS_TABLE runs on an external executor",
    });
    const jobJson = await json(await api(`/api/jobConfigurations/${uid}`));
    expect(jobJson).toMatchObject({ lastExecutedStatus: "FAILED", errorCodes: "E7010" });
  });

  it("an executor run relays the DHIS2 bridge's notifications into the job's tasks", async () => {
    const { dhis2, tick } = analyticsThroughBridge({ token: "d2pat_test" });
    const uid = await insertJob({ jobType: "ANALYTICS_TABLE", cron: "0 0 3 ? * *", parameters: { lastYears: 2 } });
    await executeNow(uid);
    // The alarm pass is over: DHIS2 was started, the run waits for its executor between steps.
    expect(dhis2.callsTo("POST", "/api/resourceTables/analytics")).toHaveLength(1);
    expect(dhis2.calls[0].auth).toBe("ApiToken d2pat_test");
    expect((await row(uid))!).toMatchObject({ job_status: "RUNNING" });
    for (let i = 0; i < 3; i++) await tick();
    expect((await row(uid))!).toMatchObject({ job_status: "SCHEDULED", last_executed_status: "COMPLETED", error_codes: null });
    const tasks = await tasksOf("ANALYTICS_TABLE", uid);
    expect(tasks.map((t) => [t.level, t.message, t.completed])).toEqual([
      // The final message replaced the newest LOOP message, as DHIS2's notifier does.
      ["INFO", "Analytics tables updated: 00:01:02.345", true],
      ["INFO", "Performing pre-create table work", false],
      ["INFO", "Analytics table update parameters: lastYears=2", false],
      ["INFO", "", false],
    ]);
    expect(tasks[3]).toMatchObject({ dataType: "PARAMETERS", data: { lastYears: 2 } });
  });

  it("the bridge relays the item errors DHIS2 (2.41+) kept of its run", async () => {
    const { dhis2, tick } = analyticsThroughBridge({ token: "d2pat_test" });
    const error = { code: "E7131", id: "AbCdEfGhIj1", type: "Program", args: ["x"], message: "Analytics could not read program x" };
    dhis2.runErrors = { id: dhis2.taskId, type: "ANALYTICS_TABLE", codes: "ErrorCode", errors: [error] };
    const uid = await insertJob({ jobType: "ANALYTICS_TABLE", cron: "0 0 3 ? * *", parameters: { lastYears: 2 } });
    await executeNow(uid);
    for (let i = 0; i < 3; i++) await tick();
    expect(dhis2.callsTo("GET", `/api/jobConfigurations/${dhis2.taskId}/errors`)).toHaveLength(1);
    expect((await row(uid))!).toMatchObject({ last_executed_status: "COMPLETED" });
    expect((await json(await api(`/api/jobConfigurations/${uid}/errors`))).errors).toEqual([error]);
  });

  it("a cancel reaches DHIS2 through the bridge and the run ends STOPPED", async () => {
    const { dhis2, tick } = analyticsThroughBridge({ username: "admin", password: "district" });
    const uid = await insertJob({ jobType: "ANALYTICS_TABLE", cron: "0 0 3 ? * *" });
    await executeNow(uid);
    await tick();
    const res = await api(`/api/jobConfigurations/${uid}/cancel`, { method: "POST" });
    expect(res.status).toBe(204);
    // The cancel is forwarded by the run's next step, due at once.
    expect(await alarmOf(uid)).toBe(clk.now());
    expect(await fire(uid)).toBe(true);
    expect(dhis2.callsTo("POST", `/api/jobConfigurations/${dhis2.taskId}/cancel`)).toHaveLength(1);
    // The bridge answered with its STOPPED completion while that step ran: the next step is due at once.
    await settled();
    expect(await fire(uid)).toBe(true);
    expect((await row(uid))!).toMatchObject({ last_executed_status: "STOPPED" });
    const tasks = await tasksOf("ANALYTICS_TABLE", uid);
    expect(tasks[0]).toMatchObject({ completed: true, message: "Job cancelled" });
    expect(tasks[1]).toMatchObject({ level: "INFO", message: "Analytics table update parameters: lastYears=2" });
  });

  it("DISABLE_INACTIVE_USERS runs in the worker: users disabled, summary stored", async () => {
    registerJobHandler("DISABLE_INACTIVE_USERS", disableInactiveUsersHandler);
    await env.DB.prepare(
      `INSERT INTO users (uid, username, password_hash, last_login, created, last_updated) VALUES ('uIdle000001', 'idle', 'x', ?, 0, 0)`,
    )
      .bind(T0 - 400 * 24 * 3600 * 1000)
      .run();
    const uid = await insertJob({ jobType: "DISABLE_INACTIVE_USERS", cron: "0 0 3 ? * *", parameters: { inactiveMonths: 6 } });
    await executeNow(uid);
    expect((await row(uid))!).toMatchObject({ last_executed_status: "COMPLETED" });
    expect(await env.DB.prepare(`SELECT disabled FROM users WHERE uid = 'uIdle000001'`).first("disabled")).toBe(1);
    const summary = await json(await api(`/api/system/taskSummaries/DISABLE_INACTIVE_USERS/${uid}`));
    expect(summary).toMatchObject({
      responseType: "DisableInactiveUsersSummary",
      inactiveMonths: 6,
      disabled: 1,
      disabledUsers: [{ uid: "uIdle000001", username: "idle" }],
    });
    const tasks = await json<any[]>(await api(`/api/system/tasks/DISABLE_INACTIVE_USERS/${uid}`));
    expect(tasks[0]).toMatchObject({ level: "INFO", completed: true, message: "Disabled 1 inactive user" });
  });
});

describe("executor runs outlive the alarm pass that starts them", () => {
  const CRON_3AM = "0 0 3 ? * *";

  async function startOnTestExecutor(): Promise<{ uid: string; ex: TestExecutor; runId: string }> {
    const ex = new TestExecutor();
    const uid = await insertJob({ jobType: "ANALYTICS_TABLE", cron: CRON_3AM, parameters: { lastYears: 2 } });
    await executeNow(uid);
    expect(ex.starts).toHaveLength(1);
    return { uid, ex, runId: ex.starts[0].runId };
  }

  it("the start is delivered, the alarm pass returns, and the run waits between steps", async () => {
    const { uid, runId } = await startOnTestExecutor();
    expect((await row(uid))!).toMatchObject({ job_status: "RUNNING", last_executed: T0, last_alive: T0 });
    const state = await stub(uid).schedulerState();
    expect(state).toMatchObject({
      live: true,
      detached: true,
      running: { runId, executor: { runId, lastId: 0, lastHeard: T0, cancelAt: null } },
    });
    // The next step is the 10-s look at the run, not the 120-s heartbeat deadline.
    expect(await alarmOf(uid)).toBe(T0 + 10_000);
    expect(await executorRunState(runId)).toBe("RUNNING");
    // A second execute is refused while the run goes on.
    const again = await api(`/api/jobConfigurations/${uid}/execute`, { method: "POST" });
    expect(again.status).toBe(409);
  });

  it("a run of 2.5 hours (ten times an alarm's limit) completes, stepped by callbacks and alarms, never taken for lost", async () => {
    const { uid, ex, runId } = await startOnTestExecutor();
    for (let minute = 1; minute <= 150; minute++) {
      clk.advance(60_000);
      const partition = minute / 10;
      const res =
        minute % 10 === 0
          ? await ex.callback("items", { message: `Populated partition ${partition}`, index: partition, total: 15 })
          : await ex.callback("heartbeat", {});
      expect(res.status).toBe(200);
      // The object's own look at the run (its alarm, every 10 s in production).
      expect(await fire(uid)).toBe(true);
      if (minute % 30 === 0) {
        // The Cron Trigger's safety net finds nothing wrong with a run whose steps keep its heartbeat.
        expect(await resetStaleJobs(env, clk.now())).toEqual([]);
        await reconcileJobObjects(env, clk.now());
        expect((await row(uid))!).toMatchObject({ job_status: "RUNNING", last_alive: clk.now() });
      }
    }
    // The items arrived as the run's LOOP notifications, each as it came (a step per callback).
    const during = await tasksOf("ANALYTICS_TABLE", uid);
    expect(during[0]).toMatchObject({ level: "LOOP", message: "[15/15] Populated partition 15", completed: false });

    expect((await ex.callback("summary", { summary: { tables: 15 } })).status).toBe(200);
    expect((await ex.callback("complete", { outcome: "COMPLETED", message: "Analytics tables updated: 02:30:00" })).status).toBe(200);
    const end = T0 + 150 * 60_000;
    expect((await row(uid))!).toMatchObject({
      job_status: "SCHEDULED",
      last_executed: T0,
      last_finished: end,
      last_executed_status: "COMPLETED",
      last_alive: null,
      error_codes: null,
    });
    expect((await runs(uid)).map((r) => r.status)).toEqual(["COMPLETED"]);
    expect(await executorRunState(runId)).toBe("FINISHED");
    expect((await tasksOf("ANALYTICS_TABLE", uid))[0]).toMatchObject({
      level: "INFO",
      completed: true,
      message: "Analytics tables updated: 02:30:00",
    });
    expect(await json(await api(`/api/system/taskSummaries/ANALYTICS_TABLE/${uid}`))).toEqual({ tables: 15 });
    // Re-armed on its schedule: 03:00 the same day.
    expect(await alarmOf(uid)).toBe(Date.UTC(2035, 0, 1, 3));
    expect(await stub(uid).schedulerState()).toMatchObject({ live: false, detached: false });
    // Callbacks after the end are refused.
    const late = await ex.callback("messages", { message: "late" });
    expect(late.status).toBe(409);
  });

  it("survives a reset of its object between two steps: the next instance carries the run on", async () => {
    const { uid, ex } = await startOnTestExecutor();
    expect((await ex.callback("messages", { level: "INFO", message: "Stage 1 of 2" })).status).toBe(200);
    const cursorOf = async () => (await stub(uid).schedulerState()).running!.executor!.lastId;
    const before = await cursorOf();
    await abortAllDurableObjects(); // every object instance is gone, with everything it held in memory
    clk.advance(30_000);
    expect((await ex.callback("messages", { level: "INFO", message: "Stage 2 of 2" })).status).toBe(200);
    // The new instance took the run from its storage and stepped it on this callback.
    expect(await stub(uid).schedulerState()).toMatchObject({ live: true, detached: true });
    expect(await cursorOf()).toBeGreaterThan(before);
    expect((await ex.callback("complete", { outcome: "COMPLETED", message: "Done" })).status).toBe(200);
    expect((await row(uid))!).toMatchObject({ job_status: "SCHEDULED", last_executed_status: "COMPLETED", last_finished: T0 + 30_000 });
    expect((await runs(uid)).map((r) => r.status)).toEqual(["COMPLETED"]);
    const tasks = await tasksOf("ANALYTICS_TABLE", uid);
    expect(tasks.map((t) => [t.message, t.completed])).toEqual([
      ["Done", true],
      ["Stage 2 of 2", false],
      ["Stage 1 of 2", false],
      ["", false], // the PARAMETERS notification the run started with
    ]);
    const progress = await json(await api(`/api/jobConfigurations/${uid}/progress`));
    expect(progress).toMatchObject({ sequence: [{ jobId: uid, status: "SUCCESS" }] });
  });

  it("an executor that falls silent fails the run exactly at the heartbeat deadline", async () => {
    const { uid, ex, runId } = await startOnTestExecutor();
    for (let t = 10_000; t <= 110_000; t += 10_000) {
      clk.set(T0 + t);
      expect(await fire(uid)).toBe(true);
      expect((await row(uid))!.job_status).toBe("RUNNING");
    }
    clk.set(T0 + 115_000);
    expect(await fire(uid)).toBe(true);
    // The next look is due at the deadline (120 s after the executor was last heard from), not 10 s later.
    expect(await alarmOf(uid)).toBe(T0 + 120_001);
    clk.set(T0 + 120_001);
    expect(await fire(uid)).toBe(true);
    const message = "Executor heartbeat timeout: no progress from the executor for 120 s (limit 120 s)";
    expect((await row(uid))!).toMatchObject({ job_status: "SCHEDULED", last_executed_status: "FAILED" });
    expect(await runs(uid)).toMatchObject([{ status: "FAILED", error: message }]);
    expect((await tasksOf("ANALYTICS_TABLE", uid))[0]).toMatchObject({ level: "ERROR", completed: true, message });
    expect(await executorRunState(runId)).toBe("FINISHED");
    expect((await ex.callback("heartbeat", {})).status).toBe(409);
  });

  it("a cancel is forwarded by the next step at once; an executor that never confirms ends STOPPED after 30 s", async () => {
    const { uid, ex } = await startOnTestExecutor();
    clk.advance(5000);
    expect((await api(`/api/jobConfigurations/${uid}/cancel`, { method: "POST" })).status).toBe(204);
    expect(await alarmOf(uid)).toBe(clk.now());
    expect(await fire(uid)).toBe(true);
    expect(ex.cancels).toEqual([`/runs/${ex.starts[0].runId}/cancel`]);
    expect((await row(uid))!.job_status).toBe("RUNNING");
    // Callbacks are answered CANCELLING from now on (the executor learns of the cancel there too).
    expect(await json(await ex.callback("heartbeat", {}))).toEqual({ runId: ex.starts[0].runId, state: "CANCELLING" });
    clk.advance(30_001);
    expect(await fire(uid)).toBe(true);
    expect((await row(uid))!).toMatchObject({ job_status: "SCHEDULED", last_executed_status: "STOPPED" });
    expect((await runs(uid))[0]).toMatchObject({ status: "STOPPED", error: expect.stringMatching(/^Cancelled by /) });
    expect((await tasksOf("ANALYTICS_TABLE", uid))[0]).toMatchObject({ completed: true, message: "Job cancelled" });
    expect(ex.cancels).toHaveLength(1);
  });

  it("deleting the job during the run tells the executor to stop and refuses the run's callbacks", async () => {
    const { uid, ex, runId } = await startOnTestExecutor();
    const res = await api(`/api/jobConfigurations/${uid}`, { method: "DELETE" });
    expect(res.status).toBe(200);
    expect(ex.cancels).toEqual([`/runs/${runId}/cancel`]);
    expect(await executorRunState(runId)).toBe("FINISHED");
    expect((await ex.callback("messages", { message: "still going" })).status).toBe(409);
    expect(await alarmOf(uid)).toBeNull();
    expect(await stub(uid).schedulerState()).toMatchObject({ live: false, deleted: true });
  });

  it("the executor's failure ends the run FAILED with its message and error codes", async () => {
    const { uid, ex } = await startOnTestExecutor();
    clk.advance(60_000);
    expect(
      (await ex.callback("complete", { outcome: "FAILED", message: "relation analytics_temp does not exist", errorCodes: ["E7131"] }))
        .status,
    ).toBe(200);
    expect((await row(uid))!).toMatchObject({ last_executed_status: "FAILED", error_codes: "E7131" });
    expect((await tasksOf("ANALYTICS_TABLE", uid))[0]).toMatchObject({
      level: "ERROR",
      completed: true,
      message: "relation analytics_temp does not exist",
    });
  });

  it("item errors posted by the executor are kept with the run, each once, with their messages (job errors)", async () => {
    const { uid, ex } = await startOnTestExecutor();
    const e4000 = { code: "E4000", id: "Rp268JB6Ne4", type: "OrganisationUnit", args: ["openingDate"] };
    const e7131 = { code: "E7131", id: "AbCdEfGhIj1", type: "Program", args: [], message: "Program has no tracked entity type" };
    expect((await ex.callback("errors", { errors: [e4000] })).status).toBe(200);
    // Delivered again (same error) together with a new one: the run keeps each error once.
    expect((await ex.callback("errors", { errors: [e4000, e7131] })).status).toBe(200);
    expect(await json(await api(`/api/jobConfigurations/${uid}/progress/errors`))).toEqual([e4000, e7131].map(plain));
    expect((await ex.callback("complete", { outcome: "FAILED", message: "Analytics failed", errorCodes: ["E7131"] })).status).toBe(200);
    const entry = await json(await api(`/api/jobConfigurations/${uid}/errors`));
    expect(entry).toMatchObject({ id: uid, type: "ANALYTICS_TABLE", codes: "ErrorCode" });
    expect(entry.errors).toEqual([
      { ...e4000, message: "Missing required property `openingDate`" },
      { ...e7131, message: "Program has no tracked entity type" },
    ]);
    const history = await json(await api(`/api/jobConfigurations/${uid}/runs`));
    expect(history.runs[0]).toMatchObject({ status: "FAILED", errorCodes: ["E7131"], message: "Analytics failed", itemErrors: 2 });
  });

  it("an object reset while the start is delivered: the run is failed as lost and the executor told to stop", async () => {
    const ex = new TestExecutor();
    const held = gate();
    ex.hold = held.promise;
    const uid = await insertJob({ jobType: "ANALYTICS_TABLE", cron: CRON_3AM });
    await syncJobObject(env, uid);
    expect((await api(`/api/jobConfigurations/${uid}/execute`, { method: "POST" })).status).toBe(200);
    const pass = fire(uid).catch(() => false); // the reset ends this alarm pass
    await until(async () => ex.starts.length === 1);
    await abortAllDurableObjects();
    held.open();
    await pass;
    const runId = ex.starts[0].runId;
    // The next contact (here the Cron Trigger's reconcile) finds the run marker without its cursor.
    await reconcileJobObjects(env, clk.now() + 120_000);
    expect((await row(uid))!).toMatchObject({ job_status: "SCHEDULED", last_executed_status: "FAILED" });
    expect(ex.cancels).toEqual([`/runs/${runId}/cancel`]);
    expect(await executorRunState(runId)).toBe("FINISHED");
  });

  it("a waiting run whose alarm was lost gets it back from the next sync (reconcile)", async () => {
    const { uid } = await startOnTestExecutor();
    await runInDurableObject(stub(uid), (_instance, state) => state.storage.deleteAlarm());
    expect(await alarmOf(uid)).toBeNull();
    await syncJobObject(env, uid);
    expect(await alarmOf(uid)).toBe(clk.now());
  });
});
