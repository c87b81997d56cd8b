/** Fixtures for the queue tests: job rows written straight to D1, a plain user, a fixed clock. */
import { env, listDurableObjectIds, runInDurableObject } from "cloudflare:test";
import type { JobRow } from "../../src/jobconfigs/store";
import { hashPassword } from "../../src/users/password";
import { basic } from "../helpers";

// Monday 2030-01-07 10:00:00 UTC: in the future, so alarms the job objects arm never fire during a test.
export const T0 = Date.UTC(2030, 0, 7, 10, 0, 0);

export interface JobSeed {
  uid: string;
  name: string;
  jobType?: string;
  cron?: string | null;
  delay?: number | null;
  schedulingType?: string | null;
  enabled?: boolean;
  status?: string;
  system?: boolean;
  created?: number;
  lastExecuted?: number | null;
  lastFinished?: number | null;
  lastExecutedStatus?: string;
  parameters?: Record<string, unknown>;
}

export async function seedJob(seed: JobSeed): Promise<void> {
  const cron = seed.cron === undefined ? "0 0 1 ? * *" : seed.cron;
  const delay = seed.delay ?? null;
  const schedulingType = seed.schedulingType ?? (cron ? "CRON" : delay != null ? "FIXED_DELAY" : "ONCE_ASAP");
  const enabled = seed.enabled ?? true;
  await env.DB.prepare(
    `INSERT INTO job_configurations (uid, name, job_type, scheduling_type, cron_expression, delay, job_parameters, enabled, job_status,
       last_executed_status, last_executed, last_finished, system, version, created, last_updated)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`,
  )
    .bind(
      seed.uid,
      seed.name,
      seed.jobType ?? "DATA_INTEGRITY",
      schedulingType,
      cron,
      delay,
      seed.parameters ? JSON.stringify(seed.parameters) : null,
      enabled ? 1 : 0,
      seed.status ?? (enabled ? "SCHEDULED" : "DISABLED"),
      seed.lastExecutedStatus ?? "NOT_STARTED",
      seed.lastExecuted ?? null,
      seed.lastFinished ?? null,
      seed.system ? 1 : 0,
      seed.created ?? T0,
      seed.created ?? T0,
    )
    .run();
}

export async function jobRow(uid: string): Promise<JobRow> {
  const row = await env.DB.prepare("SELECT * FROM job_configurations WHERE uid = ?").bind(uid).first<JobRow>();
  if (!row) throw new Error(`no job ${uid}`);
  return row;
}

export async function clearJobs(): Promise<void> {
  await env.DB.batch([env.DB.prepare("DELETE FROM job_configurations"), env.DB.prepare("DELETE FROM queue_run_steps")]);
}

let userCount = 0;

/** A user with the given authorities (no role); returns its Basic Authorization header. */
export async function userWith(authorities: string[]): Promise<string> {
  userCount++;
  const username = `queues${userCount}`;
  const uid = `Qusr${String(userCount).padStart(7, "0")}`;
  const hash = await hashPassword("Secret123!", 1000);
  await env.DB.prepare(
    `INSERT INTO users (uid, username, first_name, surname, password_hash, authorities, password_last_updated, created, last_updated)
     VALUES (?, ?, 'Queue', 'Tester', ?, ?, ?, ?, ?)`,
  )
    .bind(uid, username, hash, JSON.stringify(authorities), T0, T0, T0)
    .run();
  return basic(username, "Secret123!");
}

/** Deletes every alarm the job objects of this test file armed (queue writes sync the objects). */
export async function deleteJobAlarms(): Promise<void> {
  const ids = await listDurableObjectIds(env.JOBS);
  for (const id of ids) {
    await runInDurableObject(env.JOBS.get(id), async (_instance, state) => {
      await state.storage.deleteAlarm();
    });
  }
}
