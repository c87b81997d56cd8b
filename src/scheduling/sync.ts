/**
 * Brings a job's Durable Object in step with its D1 row after any change (create, update, enable,
 * disable, delete). D1 is the source of truth: the object re-reads the row itself.
 *
 * Placeholder until the scheduler engine lands (issue #4): it does nothing yet.
 */
import type { Env } from "../env";

export async function syncJobObject(_env: Env, _uid: string): Promise<void> {}
