/**
 * Brings a job's Durable Object in step with its D1 row after any change (create, update, enable,
 * disable, delete). D1 is the source of truth: the object re-reads the row itself, then arms its
 * alarm for the next due instant, or disarms it (deleted, disabled, no schedule).
 */
import type { SyncOptions } from "./engine";
import type { JobObject } from "./job-object";

export function jobObject(env: Env, uid: string): DurableObjectStub<JobObject> {
  return env.JOBS.get(env.JOBS.idFromName(uid));
}

export async function syncJobObject(env: Env, uid: string, opts?: SyncOptions): Promise<void> {
  await jobObject(env, uid).sync(uid, opts);
}
