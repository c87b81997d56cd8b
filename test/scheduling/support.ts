/** Helpers for the scheduler tests: job rows straight in D1, the job's object, alarms. */
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, beforeAll, beforeEach } from "vitest";
import { manualClock, setClock } from "../../src/http/clock";
import { generateUid } from "../../src/http/uid";
import { setPrewarmMs } from "../../src/scheduling/engine";
import { registerJobHandler } from "../../src/scheduling/handlers";
import type { JobObject } from "../../src/scheduling/job-object";
import type { JobRow, RunRow } from "../../src/scheduling/store";
import { jobObject } from "../../src/scheduling/sync";
import { FaultPlan, failingDb } from "../reliability/support";

// The tests pin exact alarm instants; the prewarm has its own test.
setPrewarmMs(0);

/** A fixed instant far in the future: alarms armed at manual-clock times never fire on their own. */
export const T0 = Date.UTC(2035, 0, 1, 0, 0, 0);

/**
 * The scheduler tests' lifecycle (call at the top of a test file): the file starts without the
 * seeded system jobs; each test runs on a manual clock set to T0; after each, `cleanupJobs()`, the
 * handlers of `handlerTypes` unregistered and the real clock back. Returns the manual clock.
 */
export function schedulerTestLifecycle(handlerTypes: string[] = []): ReturnType<typeof manualClock> {
  const clk = manualClock(T0);
  beforeAll(async () => {
    await env.DB.prepare(`DELETE FROM job_configurations`).run();
  });
  beforeEach(() => {
    clk.set(T0);
    setClock(clk);
  });
  afterEach(async () => {
    await cleanupJobs();
    for (const jobType of handlerTypes) registerJobHandler(jobType, null);
    setClock(null);
  });
  return clk;
}

export interface JobInit {
  uid?: string;
  name?: string;
  jobType?: string;
  schedulingType?: string | null;
  cron?: string | null;
  delay?: number | null;
  parameters?: Record<string, unknown> | null;
  enabled?: boolean;
  status?: string;
  created?: number;
  system?: boolean;
  executedBy?: string | null;
  lastExecuted?: number | null;
  lastAlive?: number | null;
  lastFinished?: number | null;
}

const used = new Set<string>();

export async function insertJob(init: JobInit): Promise<string> {
  const uid = init.uid ?? generateUid();
  const created = init.created ?? T0 + 1;
  await env.DB.prepare(
    `INSERT INTO job_configurations (uid, name, job_type, scheduling_type, cron_expression, delay, job_parameters, enabled, job_status,
       executed_by, system, created, last_updated, last_executed, last_alive, last_finished)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  )
    .bind(
      uid,
      init.name ?? `job ${uid}`,
      init.jobType ?? "TEST",
      init.schedulingType ?? null,
      init.cron ?? null,
      init.delay ?? null,
      init.parameters ? JSON.stringify(init.parameters) : null,
      init.enabled === false ? 0 : 1,
      init.status ?? (init.enabled === false ? "DISABLED" : "SCHEDULED"),
      init.executedBy ?? null,
      init.system ? 1 : 0,
      created,
      created,
      init.lastExecuted ?? null,
      init.lastAlive ?? null,
      init.lastFinished ?? null,
    )
    .run();
  used.add(uid);
  return uid;
}

/** A CRON job RUNNING since `startedAt`, with the run's history row, as a crash mid-run leaves it. */
export async function insertRunningJob(startedAt: number, lastAlive = startedAt, jobType = "TEST"): Promise<string> {
  const uid = await insertJob({ jobType, cron: "0 * * * * *", status: "RUNNING", lastExecuted: startedAt, lastAlive });
  await env.DB.prepare(
    `INSERT INTO job_runs (job_uid, job_type, trigger, scheduled_at, started_at, status) VALUES (?, ?, 'CRON', ?, ?, 'RUNNING')`,
  )
    .bind(uid, jobType, startedAt, startedAt)
    .run();
  return uid;
}

/**
 * The run marker a run leaves in its (bound) object's storage, without a live run: the instance that
 * ran it died. An engine of before version 1 wrote it like this (no job type or name in it).
 */
export async function leaveRunMarker(uid: string, startedAt: number): Promise<void> {
  await runInDurableObject(stub(uid), (instance) => {
    const engine = (instance as any).engine;
    engine.state.running = {
      runId: `${uid}-${startedAt}`,
      runRowId: 1,
      scheduledAt: startedAt,
      trigger: "CRON",
      startedAt,
      executedBy: null,
    };
    engine.save();
  });
}

/** The SQL of a run's end (`finishRun`'s first statement). */
export const RUN_END_SQL = /last_executed_status = \?1, last_finished/;

/**
 * Fires the job's alarm while D1 refuses, once, to record its run's end (`finishRun`): the run ends
 * but its end is kept in the object for the engine's retry. Returns whether the fault struck.
 */
export async function fireWithEndRefused(uid: string): Promise<boolean> {
  const plan = new FaultPlan(1, RUN_END_SQL);
  await withObjectDb(uid, plan, () => fire(uid));
  return plan.failed;
}

/** Runs `fn` while the job's object reaches D1 through `plan` (its own binding swapped, then restored). */
export async function withObjectDb<T>(uid: string, plan: FaultPlan, fn: () => Promise<T>): Promise<T> {
  let original: D1Database | undefined;
  await runInDurableObject(stub(uid), (instance) => {
    original = (instance as any).env.DB;
    (instance as any).env.DB = failingDb(original!, plan);
  });
  try {
    return await fn();
  } finally {
    await runInDurableObject(stub(uid), (instance) => {
      (instance as any).env.DB = original;
    });
  }
}

export function track(uid: string): void {
  used.add(uid);
}

export function stub(uid: string): DurableObjectStub<JobObject> {
  return jobObject(env, uid);
}

export async function row(uid: string): Promise<JobRow | null> {
  return env.DB.prepare(`SELECT * FROM job_configurations WHERE uid = ?`).bind(uid).first<JobRow>();
}

export async function runs(uid: string): Promise<RunRow[]> {
  const { results } = await env.DB.prepare(`SELECT * FROM job_runs WHERE job_uid = ? ORDER BY id`).bind(uid).all<RunRow>();
  return results;
}

export async function alarmOf(uid: string): Promise<number | null> {
  return runInDurableObject(stub(uid), (_i, state) => state.storage.getAlarm());
}

/** Fires the job's alarm now (whatever its time); false when none was set. */
export async function fire(uid: string): Promise<boolean> {
  return runDurableObjectAlarm(stub(uid));
}

/** Deletes every alarm armed by the jobs of this test and waits for their runs. */
export async function cleanupJobs(): Promise<void> {
  for (const uid of used) {
    await runInDurableObject(stub(uid), async (instance, state) => {
      await (instance as JobObject).idle();
      await state.storage.deleteAlarm();
    });
  }
  used.clear();
  await env.DB.batch([
    env.DB.prepare(`DELETE FROM job_configurations`),
    env.DB.prepare(`DELETE FROM job_runs`),
    env.DB.prepare(`DELETE FROM job_schedule`),
  ]);
}

/** A promise with its resolver (to hold a handler until the test lets it finish). */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

export async function until(cond: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A user with these direct authorities; returns its Basic auth header and uid. */
export async function userWith(username: string, authorities: string[]): Promise<{ auth: string; uid: string }> {
  const { ensureBootstrapAdmin } = await import("../../src/users/bootstrap");
  const { hashPassword } = await import("../../src/users/password");
  const { basic } = await import("../helpers");
  await ensureBootstrapAdmin(env, Date.now());
  const uid = `u${username.replace(/[^a-zA-Z0-9]/g, "")}0000000000`.slice(0, 11);
  const hash = await hashPassword("Secret123!", 1000);
  await env.DB.prepare(
    `INSERT OR IGNORE INTO users (uid, username, first_name, surname, password_hash, disabled, authorities, created, last_updated)
     VALUES (?, ?, 'Test', 'User', ?, 0, ?, 0, 0)`,
  )
    .bind(uid, username, hash, JSON.stringify(authorities))
    .run();
  return { auth: basic(username, "Secret123!"), uid };
}

export async function adminUid(): Promise<string> {
  return (await env.DB.prepare(`SELECT uid FROM users WHERE username = 'admin'`).first<string>("uid"))!;
}
