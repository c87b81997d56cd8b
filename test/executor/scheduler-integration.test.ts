/**
 * Executor and in-worker handlers through the real scheduler engine: a job's Durable Object runs
 * the handler, the task notifications, summary, run history and job status come out as for any job.
 */
import { createExecutionContext, env } from "cloudflare:test";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Dhis2Config } from "../../bridge/src/dhis2";
import { MemoryRunHost, handleBridgeRequest } from "../../bridge/src/runner";
import { app } from "../../src/app";
import { setExecutorTransport } from "../../src/executor/config";
import { executorHandler, setExecutorPollMs } from "../../src/executor/handler";
import type { FetchLike } from "../../src/executor/protocol";
import { disableInactiveUsersHandler } from "../../src/jobs/handlers/disable-inactive-users";
import { manualClock, setClock } from "../../src/http/clock";
import { registerJobHandler, type JobRunContext } from "../../src/scheduling/handlers";
import { syncJobObject } from "../../src/scheduling/sync";
import { api, json } from "../helpers";
import { T0, alarmOf, cleanupJobs, fire, insertJob, row, runs, track, until } from "../scheduling/support";
import { analyticsScript, StubDhis2 } from "./stub-dhis2";

const clk = manualClock(T0);
const SECRET = "integration-secret-0123456789";

beforeAll(async () => {
  await env.DB.prepare(`DELETE FROM job_configurations`).run();
});
beforeEach(() => {
  clk.set(T0);
  setClock(clk);
  setExecutorPollMs(5);
});
afterEach(async () => {
  await cleanupJobs();
  registerJobHandler("ANALYTICS_TABLE", null);
  registerJobHandler("DISABLE_INACTIVE_USERS", null);
  setExecutorTransport(null);
  setExecutorPollMs(2000);
  setClock(null);
});

/**
 * ANALYTICS_TABLE runs on the executor, which is the DHIS2 bridge (polling every 3 s on the manual
 * clock) in front of a stub DHIS2 playing the analytics script; `credentials` are the bridge's.
 */
function analyticsThroughBridge(credentials: Omit<Dhis2Config, "baseUrl">): { dhis2: StubDhis2; host: MemoryRunHost } {
  const dhis2 = new StubDhis2();
  dhis2.script = analyticsScript();
  const scheduler: FetchLike = {
    fetch: async (input, init) => app.fetch(new Request(input, init), { ...env, EXECUTOR_SECRET: SECRET }, createExecutionContext()),
  };
  const host = new MemoryRunHost({
    secret: SECRET,
    dhis2: { baseUrl: dhis2.baseUrl, ...credentials },
    dhis2Fetch: dhis2,
    callbackFetch: scheduler,
    now: () => clk.now(),
    pollIntervalMs: 3000,
  });
  setExecutorTransport({ fetch: async (input, init) => handleBridgeRequest(new Request(input, init), { secret: SECRET, now: () => clk.now() }, host) });
  // The test environment has no EXECUTOR_SECRET binding: the run gets it here.
  registerJobHandler("ANALYTICS_TABLE", (ctx: JobRunContext) => executorHandler("ANALYTICS_TABLE")({ ...ctx, env: { ...ctx.env, EXECUTOR_SECRET: SECRET } }));
  return { dhis2, host };
}

/** Executes the job now; `run` settles when its run (the object's alarm) is over. */
async function executeNow(uid: string): Promise<{ run: Promise<boolean> }> {
  await syncJobObject(env, uid);
  const res = await api(`/api/jobConfigurations/${uid}/execute`, { method: "POST" });
  expect(res.status).toBe(200);
  return { run: fire(uid) };
}

describe("runs through the scheduler engine", () => {
  it("without an executor, synchronization jobs are still created and scheduled (no 409 E7010 at create)", async () => {
    for (const [jobType, jobParameters] of [
      ["DATA_SYNC", { pageSize: 10000 }],
      ["META_DATA_SYNC", { dataValuesPageSize: 10000 }],
      ["ANALYTICS_TABLE", { lastYears: 2 }],
    ] as const) {
      const res = await api("/api/jobConfigurations", { body: { name: `No executor ${jobType}`, jobType, cronExpression: "0 0 3 ? * *", jobParameters } });
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
    await (await executeNow(uid)).run;
    const history = await runs(uid);
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ status: "FAILED" });
    const job = (await row(uid))!;
    expect(job).toMatchObject({ last_executed_status: "FAILED", error_codes: "E7010", job_status: "SCHEDULED" });
    const tasks = await json<any[]>(await api(`/api/system/tasks/ANALYTICS_TABLE/${uid}`));
    expect(tasks[0]).toMatchObject({
      level: "ERROR",
      completed: true,
      message: "Failed to validate job runtime: no executor configured (EXECUTOR_URL/EXECUTOR_SECRET); job type ANALYTICS_TABLE runs on an external executor",
    });
    const jobJson = await json(await api(`/api/jobConfigurations/${uid}`));
    expect(jobJson).toMatchObject({ lastExecutedStatus: "FAILED", errorCodes: "E7010" });
  });

  it("an executor run relays the DHIS2 bridge's notifications into the job's tasks", async () => {
    const { dhis2, host } = analyticsThroughBridge({ token: "d2pat_test" });
    const uid = await insertJob({ jobType: "ANALYTICS_TABLE", cron: "0 0 3 ? * *", parameters: { lastYears: 2 } });
    const { run } = await executeNow(uid);
    await until(async () => dhis2.callsTo("POST", "/api/resourceTables/analytics").length === 1);
    expect(dhis2.calls[0].auth).toBe("ApiToken d2pat_test");
    for (let i = 0; i < 3; i++) {
      clk.advance(3000);
      await host.runDueAlarms(clk.now());
    }
    await run;
    expect((await row(uid))!).toMatchObject({ last_executed_status: "COMPLETED", error_codes: null });
    const tasks = await json<any[]>(await api(`/api/system/tasks/ANALYTICS_TABLE/${uid}`));
    expect(tasks.map((t) => [t.level, t.message, t.completed])).toEqual([
      // The final message replaced the newest LOOP message, as DHIS2's notifier does.
      ["INFO", "Analytics tables updated: 00:01:02.345", true],
      ["INFO", "Performing pre-create table work", false],
      ["INFO", "Analytics table update parameters: lastYears=2", false],
      ["INFO", "", false],
    ]);
    expect(tasks[3]).toMatchObject({ dataType: "PARAMETERS", data: { lastYears: 2 } });
  });

  it("a cancel reaches DHIS2 through the bridge and the run ends STOPPED", async () => {
    const { dhis2, host } = analyticsThroughBridge({ username: "admin", password: "district" });
    const uid = await insertJob({ jobType: "ANALYTICS_TABLE", cron: "0 0 3 ? * *" });
    const { run } = await executeNow(uid);
    await until(async () => dhis2.callsTo("POST", "/api/resourceTables/analytics").length === 1);
    clk.advance(3000);
    await host.runDueAlarms(clk.now());
    const res = await api(`/api/jobConfigurations/${uid}/cancel`, { method: "POST" });
    expect(res.status).toBe(204);
    await run;
    expect(dhis2.callsTo("POST", `/api/jobConfigurations/${dhis2.taskId}/cancel`)).toHaveLength(1);
    expect((await row(uid))!).toMatchObject({ last_executed_status: "STOPPED" });
    const tasks = await json<any[]>(await api(`/api/system/tasks/ANALYTICS_TABLE/${uid}`));
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
    await (await executeNow(uid)).run;
    expect((await row(uid))!).toMatchObject({ last_executed_status: "COMPLETED" });
    expect(await env.DB.prepare(`SELECT disabled FROM users WHERE uid = 'uIdle000001'`).first("disabled")).toBe(1);
    const summary = await json(await api(`/api/system/taskSummaries/DISABLE_INACTIVE_USERS/${uid}`));
    expect(summary).toMatchObject({ responseType: "DisableInactiveUsersSummary", inactiveMonths: 6, disabled: 1, disabledUsers: [{ uid: "uIdle000001", username: "idle" }] });
    const tasks = await json<any[]>(await api(`/api/system/tasks/DISABLE_INACTIVE_USERS/${uid}`));
    expect(tasks[0]).toMatchObject({ level: "INFO", completed: true, message: "Disabled 1 inactive user" });
  });
});
