/**
 * Concurrency (issue #8): 100 parallel `execute` calls start exactly one run; 100 parallel creates
 * with one name create exactly one job; parallel PUTs never lose an update silently. PUT is "last
 * writer wins" (no version precondition): every accepted PUT is counted in `version`, the stored row
 * is exactly one request's body (never a mix), and the job's object ends in step with it.
 */
import { env } from "cloudflare:test";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { manualClock, setClock } from "../../src/http/clock";
import { generateUid } from "../../src/http/uid";
import { PREWARM_MS, setPrewarmMs } from "../../src/scheduling/engine";
import type { JobRunContext } from "../../src/jobs/contract";
import { registerJobHandler } from "../../src/scheduling/handlers";
import { api, json } from "../helpers";
import { uniqueCron } from "../security/fixtures";
import { alarmInconsistencies, alarmOf, fireAlarm, idle, releaseJobObjects } from "./support";

const T0 = Date.UTC(2035, 5, 1, 0, 0, 1);
const PARALLEL = 100;

async function createJob(extra: Record<string, unknown> = {}): Promise<string> {
  const res = await api("/api/jobConfigurations", {
    body: { name: `Concurrent ${generateUid()}`, jobType: "TEST", cronExpression: uniqueCron(), ...extra },
  });
  const body = await json(res);
  expect(res.status, JSON.stringify(body)).toBe(201);
  return body.response.uid;
}

const statuses = (list: Response[]) => {
  const out: Record<number, number> = {};
  for (const r of list) out[r.status] = (out[r.status] ?? 0) + 1;
  return out;
};

const clock = manualClock(T0);
const prewarm = PREWARM_MS;
beforeAll(() => {
  setPrewarmMs(0); // exact alarm instants
  setClock(clock);
});
afterEach(() => registerJobHandler("TEST", null));
afterAll(() => releaseJobObjects(prewarm));

describe("parallel execute", () => {
  it(`${PARALLEL} parallel execute calls on one job start exactly one run`, async () => {
    let runs = 0;
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    registerJobHandler("TEST", async (_ctx: JobRunContext) => {
      runs++;
      await held;
    });
    const uid = await createJob();
    const answers = await Promise.all(
      Array.from({ length: PARALLEL }, () => api(`/api/jobConfigurations/${uid}/execute`, { method: "POST" })),
    );
    expect(statuses(answers)).toEqual({ 200: 1, 409: PARALLEL - 1 });
    for (const r of answers.filter((a) => a.status === 409)) {
      expect(await r.json()).toMatchObject({ httpStatusCode: 409, status: "ERROR", message: "Job is already running." });
    }
    // Start it, then hammer it again while it runs: still one run.
    const running = fireAlarm(uid);
    for (let i = 0; i < 200 && runs === 0; i++) await new Promise((r) => setTimeout(r, 5));
    const during = await Promise.all(
      Array.from({ length: PARALLEL }, () => api(`/api/jobConfigurations/${uid}/execute`, { method: "POST" })),
    );
    expect(statuses(during)).toEqual({ 409: PARALLEL });
    await Promise.all(Array.from({ length: 5 }, () => fireAlarm(uid).catch(() => false)));
    release();
    await running;
    await idle(uid);
    expect(runs).toBe(1);
    const { results } = await env.DB.prepare(`SELECT trigger, status FROM job_runs WHERE job_uid = ?`).bind(uid).all();
    expect(results).toEqual([{ trigger: "MANUAL", status: "COMPLETED" }]);
    expect(await alarmInconsistencies([uid])).toEqual([]);
    // Once it has finished, execute is accepted again (one more run, not a backlog of 199). A MANUAL
    // run is keyed by the instant of its execute call, so the clock moves on first.
    clock.advance(1_000);
    expect((await api(`/api/jobConfigurations/${uid}/execute`, { method: "POST" })).status).toBe(200);
    await fireAlarm(uid);
    await idle(uid);
    expect(runs).toBe(2);
  });
});

describe("parallel creates", () => {
  it(`${PARALLEL} parallel creates with the same name create exactly one job`, async () => {
    const name = `Same name ${generateUid()}`;
    const answers = await Promise.all(
      Array.from({ length: PARALLEL }, () =>
        api("/api/jobConfigurations", { body: { name, jobType: "TEST", cronExpression: uniqueCron() } }),
      ),
    );
    expect(statuses(answers)).toEqual({ 201: 1, 409: PARALLEL - 1 });
    for (const r of answers.filter((a) => a.status === 409)) {
      const body: any = await r.json();
      expect(body.response.errorReports.map((e: any) => e.errorCode)).toContain("E5003");
    }
    const { results } = await env.DB.prepare(`SELECT uid FROM job_configurations WHERE name = ?`).bind(name).all<{ uid: string }>();
    expect(results).toHaveLength(1);
    const winner = (await json(answers.find((a) => a.status === 201)!)).response.uid;
    expect(results[0].uid).toBe(winner);
    expect(await alarmInconsistencies([winner])).toEqual([]);
  });

  it(`${PARALLEL} parallel creates with one client-supplied id create exactly one job`, async () => {
    const id = generateUid();
    const answers = await Promise.all(
      Array.from({ length: PARALLEL }, (_, i) =>
        api("/api/jobConfigurations", { body: { id, name: `Same id ${id} ${i}`, jobType: "TEST", cronExpression: uniqueCron() } }),
      ),
    );
    expect(statuses(answers)[201]).toBe(1);
    expect(answers.every((a) => a.status === 201 || a.status === 409)).toBe(true);
    const { results } = await env.DB.prepare(`SELECT COUNT(*) AS n FROM job_configurations WHERE uid = ?`).bind(id).all<{ n: number }>();
    expect(results[0].n).toBe(1);
  });
});

describe("parallel updates", () => {
  it("parallel PUTs: last writer wins, every accepted PUT is counted, no torn row, the object in step", async () => {
    const uid = await createJob();
    const before = (await env.DB.prepare(`SELECT version FROM job_configurations WHERE uid = ?`).bind(uid).first<{ version: number }>())!;
    const bodies = Array.from({ length: 20 }, (_, i) => ({
      name: `Writer ${i} ${uid}`,
      jobType: "TEST",
      cronExpression: `${i} 0 4 * * ?`,
      jobParameters: { stages: i },
    }));
    const answers = await Promise.all(bodies.map((body) => api(`/api/jobConfigurations/${uid}`, { method: "PUT", body })));
    const accepted = answers.filter((a) => a.status === 200).length;
    expect(answers.every((a) => a.status === 200 || a.status === 409)).toBe(true);
    expect(accepted).toBeGreaterThan(0);
    const after = (await env.DB.prepare(`SELECT name, cron_expression, job_parameters, version FROM job_configurations WHERE uid = ?`)
      .bind(uid)
      .first<any>())!;
    expect(after.version).toBe(before.version + accepted);
    const i = bodies.findIndex((b) => b.name === after.name);
    expect(i).toBeGreaterThanOrEqual(0);
    expect(after.cron_expression).toBe(bodies[i].cronExpression);
    expect(JSON.parse(after.job_parameters).stages).toBe(i);
    const mark = await env.DB.prepare(`SELECT synced_version FROM job_schedule WHERE job_uid = ?`)
      .bind(uid)
      .first<{ synced_version: number }>();
    expect(mark?.synced_version).toBe(after.version);
    expect(await alarmOf(uid)).toBe(Date.UTC(2035, 5, 1, 4, 0, i));
  });

  it("parallel enable/disable: the final state and the alarm agree", async () => {
    const uid = await createJob();
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => api(`/api/jobConfigurations/${uid}/${i % 2 ? "enable" : "disable"}`, { method: "POST" })),
    );
    expect(answers.every((a) => a.status === 204)).toBe(true);
    const r = (await env.DB.prepare(`SELECT enabled FROM job_configurations WHERE uid = ?`).bind(uid).first<{ enabled: number }>())!;
    expect((await alarmOf(uid)) === null).toBe(r.enabled === 0);
  });

  it("parallel deletes: one 200, the rest 404, no alarm left", async () => {
    const uid = await createJob();
    const answers = await Promise.all(Array.from({ length: 30 }, () => api(`/api/jobConfigurations/${uid}`, { method: "DELETE" })));
    expect(statuses(answers)).toEqual({ 200: 1, 404: 29 });
    expect(await alarmOf(uid)).toBeNull();
  });
});
