/**
 * Queue runs through the real scheduler: each member runs in its own Durable Object, started by an
 * alarm. The chain is driven by the scheduler alone: the end of a member's run continues the queue
 * (the next member's object gets its alarm, or the rest is marked NOT_STARTED), and the Cron
 * Trigger's maintenance repairs a continuation a crash lost. The test only fires the alarms.
 */
import { env, runDurableObjectAlarm } from "cloudflare:test";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { manualClock, setClock } from "../../src/http/clock";
import { queueFaults, reconcileQueueRuns } from "../../src/queues/runs";
import { cronMaintenance } from "../../src/maintenance";
import { api, json } from "../helpers";
import { deleteJobAlarms, jobRow, seedJob, T0 } from "./support";

const clockNow = manualClock(T0);
/** The head's cron occurrence after T0: Tuesday 01:00. */
const FIRE = Date.UTC(2030, 0, 8, 1, 0, 0);

let n = 0;
/** Fresh UIDs per test: each job's Durable Object keeps its own state across tests. */
function uids(): [string, string, string] {
  n++;
  const p = String(n).padStart(3, "0");
  return [`qaA${p}aaaaa`, `qaB${p}bbbbb`, `qaC${p}ccccc`];
}

const stub = (uid: string) => env.JOBS.get(env.JOBS.idFromName(uid));

async function runs(uid: string) {
  const { results } = await env.DB.prepare("SELECT status FROM job_runs WHERE job_uid = ? ORDER BY id").bind(uid).all<{ status: string }>();
  return results.map((r) => r.status);
}

/** Runs the member's alarm (the scheduler armed it; the run happens inside it); its outcome. */
async function runMember(uid: string): Promise<string> {
  expect(await runDurableObjectAlarm(stub(uid))).toBe(true);
  const row = await jobRow(uid);
  expect(row.job_status).not.toBe("RUNNING");
  return row.last_executed_status;
}

const DAY = 24 * 3600 * 1000;

/** True when the object holds no alarm, or only one that finds nothing to run. */
async function nothingDue(uid: string): Promise<boolean> {
  const before = (await runs(uid)).length;
  await runDurableObjectAlarm(stub(uid));
  return (await runs(uid)).length === before;
}

async function makeQueue(params: [Record<string, unknown>?, Record<string, unknown>?, Record<string, unknown>?] = []) {
  const [a, b, c] = uids();
  const created = T0;
  await seedJob({ uid: a, name: `${a}-a`, jobType: "TEST", created, parameters: params[0] ?? {} });
  await seedJob({ uid: b, name: `${b}-b`, jobType: "TEST", created, parameters: params[1] ?? {} });
  await seedJob({ uid: c, name: `${c}-c`, jobType: "TEST", created, parameters: params[2] ?? {} });
  const name = `queue-${a}`;
  const res = await api(`/api/scheduler/queues/${name}`, { method: "POST", body: { cronExpression: "0 0 1 ? * *", sequence: [a, b, c] } });
  expect(res.status).toBe(201);
  return { a, b, c, name };
}

beforeEach(() => {
  setClock(clockNow);
  clockNow.set(T0);
  queueFaults.dropFinishReports = false;
});
afterEach(async () => {
  queueFaults.dropFinishReports = false;
  await deleteJobAlarms();
});
afterAll(() => setClock(null));

describe("queue runs with real alarms", () => {
  it("success chain: the head's cron starts the queue, each member starts the next, once each", async () => {
    const { a, b, c, name } = await makeQueue();
    // Members have no schedule of their own: only the head is due at its cron time.
    expect(await nothingDue(b)).toBe(true);
    clockNow.set(FIRE);
    expect(await runMember(a)).toBe("COMPLETED");
    clockNow.advance(1000);
    expect(await runMember(b)).toBe("COMPLETED");
    clockNow.advance(1000);
    expect(await runMember(c)).toBe("COMPLETED");
    for (const uid of [a, b, c]) expect(await runs(uid)).toEqual(["COMPLETED"]);
    expect(await nothingDue(b)).toBe(true);
    expect(await nothingDue(c)).toBe(true);
    expect((await jobRow(b)).last_executed).toBe(FIRE + 1000);
    const entry = (await json<any[]>(await api("/api/scheduler"))).find((e) => e.name === name);
    expect(entry.status).toBe("SCHEDULED");
    expect(entry.nextExecutionTime).toBe("2030-01-09T01:00:00.000");
    expect(entry.sequence.map((s: any) => s.status)).toEqual(["SCHEDULED", "SCHEDULED", "SCHEDULED"]);
  });

  it("failure in the middle (TEST failAtStage): the rest is NOT_STARTED and never runs", async () => {
    const { a, b, c } = await makeQueue([{}, { failAtStage: 0 }, {}]);
    clockNow.set(FIRE);
    expect(await runMember(a)).toBe("COMPLETED");
    clockNow.advance(2000);
    expect(await runMember(b)).toBe("FAILED");
    const rest = await jobRow(c);
    expect([rest.last_executed_status, rest.last_executed, rest.last_finished]).toEqual(["NOT_STARTED", FIRE + 2000, FIRE + 2000]);
    expect(await nothingDue(c)).toBe(true);
    expect(await runs(c)).toEqual([]);
  });

  it("cancelling a member stops the queue", async () => {
    const { a, b, c } = await makeQueue([{}, { waitMillis: 60_000 }, {}]);
    clockNow.set(FIRE);
    await runMember(a);
    const pending = runDurableObjectAlarm(stub(b));
    for (let i = 0; i < 200 && (await jobRow(b)).job_status !== "RUNNING"; i++) await new Promise((r) => setTimeout(r, 10));
    expect((await jobRow(b)).job_status).toBe("RUNNING");
    expect((await api(`/api/jobConfigurations/${b}/cancel`, { method: "POST" })).status).toBe(204);
    expect(await pending).toBe(true);
    const row = await jobRow(b);
    expect(row.last_executed_status).toBe("STOPPED");
    expect((await jobRow(c)).last_executed_status).toBe("NOT_STARTED");
    expect(await nothingDue(c)).toBe(true);
    expect(await runs(c)).toEqual([]);
  });

  it("crash between two members: the lost continuation is repaired once, never run twice", async () => {
    const { a, b, c } = await makeQueue();
    clockNow.set(FIRE);
    queueFaults.dropFinishReports = true; // the worker dies right after the head's run
    expect(await runDurableObjectAlarm(stub(a))).toBe(true);
    expect((await jobRow(a)).last_executed_status).toBe("COMPLETED");
    expect(await nothingDue(b)).toBe(true);
    queueFaults.dropFinishReports = false;
    clockNow.advance(60_000);
    // The Worker's Cron Trigger repairs it, once.
    expect((await cronMaintenance(env, clockNow.now())).queues.continued).toEqual([a]);
    expect((await cronMaintenance(env, clockNow.now())).queues.continued).toEqual([]);
    expect(await runMember(b)).toBe("COMPLETED");
    expect(await runMember(c)).toBe("COMPLETED");
    await reconcileQueueRuns(env, clockNow.now() + 600_000);
    for (const uid of [a, b, c]) expect(await runs(uid)).toEqual(["COMPLETED"]);
  });

  it("a queue never overlaps itself: the head's next occurrence waits until the running queue run ends", async () => {
    const { a, b, c } = await makeQueue();
    clockNow.set(FIRE);
    expect(await runMember(a)).toBe("COMPLETED");
    // b's start is pending when the head's next occurrence is due: the head waits (retry in 2 s).
    clockNow.set(FIRE + DAY);
    expect(await runDurableObjectAlarm(stub(a))).toBe(true);
    expect(await runs(a)).toEqual(["COMPLETED"]);
    expect((await jobRow(a)).job_status).toBe("SCHEDULED");
    expect(await runMember(b)).toBe("COMPLETED");
    expect(await runMember(c)).toBe("COMPLETED");
    // The queue run is over: the waiting occurrence runs (within the window) and starts a new queue run.
    clockNow.advance(2000);
    expect(await runMember(a)).toBe("COMPLETED");
    expect(await runs(a)).toEqual(["COMPLETED", "COMPLETED"]);
    expect((await jobRow(a)).last_executed).toBe(FIRE + DAY + 2000);
    expect(await runMember(b)).toBe("COMPLETED");
    expect(await runs(b)).toEqual(["COMPLETED", "COMPLETED"]);
  });

  it("a member still in its queue can be disabled and enabled again (its head schedules it)", async () => {
    const { b } = await makeQueue();
    expect((await api(`/api/jobConfigurations/${b}/disable`, { method: "POST" })).status).toBe(204);
    expect((await jobRow(b)).enabled).toBe(0);
    expect((await api(`/api/jobConfigurations/${b}/enable`, { method: "POST" })).status).toBe(204);
    expect(await jobRow(b)).toMatchObject({ enabled: 1, job_status: "SCHEDULED" });
  });

  it("executing the head by hand runs the whole queue", async () => {
    const { a, b, c } = await makeQueue();
    expect((await api(`/api/jobConfigurations/${a}/execute`, { method: "POST" })).status).toBe(200);
    expect(await runMember(a)).toBe("COMPLETED");
    expect(await runMember(b)).toBe("COMPLETED");
    expect(await runMember(c)).toBe("COMPLETED");
  });

  it("disabling the head pauses the queue; after deleting the queue a member cannot be enabled", async () => {
    const { a, b, name } = await makeQueue();
    expect((await api(`/api/jobConfigurations/${a}/disable`, { method: "POST" })).status).toBe(204);
    clockNow.set(FIRE);
    expect(await nothingDue(a)).toBe(true);
    const entry = (await json<any[]>(await api("/api/scheduler"))).find((e) => e.name === name);
    expect(entry.enabled).toBe(false);
    expect((await api(`/api/jobConfigurations/${a}/enable`, { method: "POST" })).status).toBe(204);
    expect((await api(`/api/scheduler/queues/${name}`, { method: "DELETE" })).status).toBe(204);
    const res = await api(`/api/jobConfigurations/${b}/enable`, { method: "POST" });
    expect(res.status).toBe(409);
    expect((await json(res)).message).toBe("Job requires schedule setup before it can be enabled.");
  });
});
