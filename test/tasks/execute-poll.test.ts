/**
 * Execute-then-poll, end to end through the scheduler: `POST /api/jobConfigurations/{id}/execute`
 * followed at once by `GET /api/system/tasks/TEST/{id}` must show the new run on the very first poll
 * (never `[]`, never the previous run's completed list), then progress to a completed list and summary.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { setClock } from "../../src/http/clock";
import { generateUid } from "../../src/http/uid";
import { JobNotifications } from "../../src/tasks/job-notifications";
import { taskKey } from "../../src/tasks/kv";
import { api, json } from "../helpers";

async function insertTestJob(parameters: Record<string, unknown>, schedulingType = "CRON"): Promise<string> {
  const uid = generateUid();
  const now = Date.now();
  await env.DB.prepare(
    `INSERT INTO job_configurations (uid, name, job_type, scheduling_type, cron_expression, job_parameters, enabled, job_status, created, last_updated)
     VALUES (?, ?, 'TEST', ?, ?, ?, 1, 'SCHEDULED', ?, ?)`,
  )
    .bind(uid, `tasks poll ${uid}`, schedulingType, schedulingType === "CRON" ? "0 0 0 1 1 ?" : null, JSON.stringify(parameters), now, now)
    .run();
  return uid;
}

const used: string[] = [];

afterEach(async () => {
  // Let every run end and drop any alarm the scheduler armed.
  for (const uid of used.splice(0)) {
    const stub = env.JOBS.get(env.JOBS.idFromName(uid)) as DurableObjectStub & { idle(): Promise<void> };
    await stub.idle().catch(() => {});
    await runInDurableObject(stub, async (_i, state) => {
      await state.storage.deleteAlarm();
    });
  }
});

async function pollUntilCompleted(uid: string, limit = 200): Promise<any[]> {
  for (let i = 0; i < limit; i++) {
    const list = await json(await api(`/api/system/tasks/TEST/${uid}`));
    if (list[0]?.completed) return list;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("run did not complete");
}

describe("poll right after the run starts (object level)", () => {
  it("the first poll sees the run's first message even before any KV copy exists", async () => {
    const uid = generateUid();
    const stub = env.JOBS.get(env.JOBS.idFromName(uid));
    await runInDurableObject(stub, async (_i, state) => {
      const n = new JobNotifications(state, env);
      n.runStarted({ jobId: uid, jobType: "TEST", parameters: { items: 5 }, now: Date.now() });
      await n.idle();
    });
    // Remove the KV copy: the single-task endpoint must not depend on it.
    await env.TASKS.delete(taskKey("TEST", uid));
    const list = await json(await api(`/api/system/tasks/TEST/${uid}`));
    expect(list).toEqual([expect.objectContaining({ level: "INFO", dataType: "PARAMETERS", data: { items: 5 }, completed: false })]);
    expect((await json(await api(`/api/system/tasks/TEST`)))[uid]).toBeUndefined();
    // A new run replaces a finished one atomically: no poll can see the old completed list afterwards.
    await runInDurableObject(stub, async (_i, state) => {
      const n = new JobNotifications(state, env);
      n.runFinished({ outcome: "COMPLETED", message: "done", now: Date.now() });
      n.runStarted({ jobId: uid, jobType: "TEST", parameters: { items: 6 }, now: Date.now() });
      await n.idle();
    });
    const again = await json(await api(`/api/system/tasks/TEST/${uid}`));
    expect(again).toEqual([expect.objectContaining({ dataType: "PARAMETERS", data: { items: 6 }, completed: false })]);
  });
});

describe("execute then poll (through the scheduler)", () => {
  it("polling after execute reaches a completed list that starts with the PARAMETERS message", async () => {
    setClock(null);
    const uid = await insertTestJob({ stages: 2, items: 3, itemDuration: 20 });
    used.push(uid);
    expect((await api(`/api/jobConfigurations/${uid}/execute`, { method: "POST" })).status).toBe(200);
    const done = await pollUntilCompleted(uid);
    expect(done[0]).toMatchObject({ completed: true, level: "INFO", category: "TEST" });
    expect(done[done.length - 1]).toMatchObject({ dataType: "PARAMETERS", data: { stages: 2, items: 3, itemDuration: 20 } });
    expect(new Set(done.map((m: any) => m.uid)).size).toBe(done.length);
    // The KV copy follows within about a second (paced write-through): the listing shows the finished run.
    let listed: any[] | undefined;
    for (let i = 0; i < 60 && !listed?.[0]?.completed; i++) {
      listed = (await json(await api(`/api/system/tasks/TEST?gist=false`)))[uid];
      if (!listed?.[0]?.completed) await new Promise((r) => setTimeout(r, 100));
    }
    expect(listed).toEqual(done);
    const stub = env.JOBS.get(env.JOBS.idFromName(uid)) as DurableObjectStub & { getTaskSnapshot(): Promise<any> };
    const snap = await stub.getTaskSnapshot();
    expect(snap.kvWrites.run).toBeGreaterThanOrEqual(2);
    expect(snap.kvWrites.runSpanMs).toBeGreaterThanOrEqual((snap.kvWrites.run - 1) * 1000);
  });

  // executeNow writes the run's first notification in the job's object before it answers.
  it("the first poll right after execute shows the run's first message", async () => {
    setClock(null);
    const uid = await insertTestJob({ stages: 2, items: 3, itemDuration: 30 });
    used.push(uid);
    const exec = await api(`/api/jobConfigurations/${uid}/execute`, { method: "POST" });
    expect(exec.status).toBe(200);
    const first = await api(`/api/system/tasks/TEST/${uid}`);
    expect(first.status).toBe(200);
    const list = await json(first);
    expect(list.length).toBeGreaterThan(0);
    const oldest = list[list.length - 1];
    expect(oldest).toMatchObject({
      level: "INFO",
      category: "TEST",
      dataType: "PARAMETERS",
      data: { stages: 2, items: 3, itemDuration: 30 },
    });
    const done = await pollUntilCompleted(uid);
    expect(done[0]).toMatchObject({ completed: true, level: "INFO" });
    expect(done[done.length - 1].dataType).toBe("PARAMETERS");
  });

  it("a second execute's first poll does not show the previous run's completed list", async () => {
    setClock(null);
    const uid = await insertTestJob({ stages: 1, items: 2, itemDuration: 20 });
    used.push(uid);
    expect((await api(`/api/jobConfigurations/${uid}/execute`, { method: "POST" })).status).toBe(200);
    const firstRun = await pollUntilCompleted(uid);
    const stub = env.JOBS.get(env.JOBS.idFromName(uid)) as DurableObjectStub & { idle(): Promise<void> };
    await stub.idle();
    const again = await api(`/api/jobConfigurations/${uid}/execute`, { method: "POST" });
    expect(again.status, await again.clone().text()).toBe(200);
    const list = await json(await api(`/api/system/tasks/TEST/${uid}`));
    expect(list.length).toBeGreaterThan(0);
    // The new run's PARAMETERS message, not the old completed one.
    expect(list[list.length - 1].uid).not.toBe(firstRun[firstRun.length - 1].uid);
    await pollUntilCompleted(uid);
  });
});
