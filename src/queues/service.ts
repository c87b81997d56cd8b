/**
 * Queue writes (DHIS2's JobQueueService): create, update (including rename) and delete.
 *
 * Checks, in DHIS2's order: a name to store is one DHIS2 could store (names.ts: E4000, E4002,
 * E4027, 409); the queue exists (E7020, 404) or not yet (E7021, 409); the cron parses
 * (E7005 with Spring's parser message, 409); at least two known jobs (E7024); none in another queue
 * (E7022); none a system job (E7023); every UID known (404 `JobConfiguration with id X could not be
 * found.`).
 *
 * Effects, in one D1 batch: position 0 (the head) gets the queue's cron, the others lose theirs;
 * every member is CRON-scheduled without delay; jobs leaving the queue lose queue, position and cron
 * and are disabled (enabling them then needs a schedule first). Each touched row gets `version + 1`
 * and `last_updated`; afterwards each touched job's Durable Object is synced.
 */
import { ApiError, conflict, notFoundObject } from "../http/webmessage";
import { isConfigurableJobType, isSystemJobType } from "../jobs/registry";
import { shortestCronInterval, validateCron } from "../scheduling/cron";
import { serverTimeZone } from "../http/dates";
import { getSetting } from "../settings/settings";
import { tooFrequentMessage } from "../jobconfigs/quotas";
import { syncJobObject } from "../scheduling/sync";
import { checkQueueName } from "./names";
import { loadJobsByUid, loadQueue, type QueueJobRow } from "./store";

export const queueNotFound = (name: string) => new ApiError(404, `Job queue does not exist: \`${name}\``, { errorCode: "E7020" });
export const queueExists = (name: string) => new ApiError(409, `Job queue already exist: \`${name}\``, { errorCode: "E7021" });
export const jobInOtherQueue = (uid: string, queue: string) =>
  new ApiError(409, `Job \`${uid}\` is already used in another queue: \`${queue}\``, { errorCode: "E7022" });
export const systemJobInQueue = (uid: string) =>
  new ApiError(409, `Job \`${uid}\` is a system job that cannot be sequenced`, { errorCode: "E7023" });
export const queueTooShort = () => new ApiError(409, "Job queue must have at least two jobs.", { errorCode: "E7024" });
export const invalidQueueCron = (detail: string) => new ApiError(409, `Cron expression is invalid: \`${detail}\``, { errorCode: "E7005" });

export interface QueueInput {
  /** New name (PUT only; absent = keep). */
  name?: string;
  cronExpression?: string;
  sequence: string[];
}

export interface QueueView {
  name: string;
  cronExpression?: string;
  sequence: string[];
}

/** `GET /api/scheduler/queues/{name}`. */
export async function getQueue(db: D1Database, name: string): Promise<QueueView> {
  const members = await loadQueue(db, name);
  if (members.length === 0) throw queueNotFound(name);
  const view = { name } as QueueView;
  const cron = members[0].cron_expression;
  if (cron != null) view.cronExpression = cron;
  view.sequence = members.map((m) => m.uid);
  return view;
}

function isSystemRow(row: QueueJobRow): boolean {
  return row.system === 1 || isSystemJobType(row.job_type) || !isConfigurableJobType(row.job_type);
}

/** The checks shared by create and update; `queue` is the (old) name of the queue being written. */
async function validate(db: D1Database, queue: string, input: QueueInput): Promise<Map<string, QueueJobRow>> {
  const cronError = validateCron(input.cronExpression ?? "");
  if (cronError !== null) throw invalidQueueCron(cronError);
  const jobs = await loadJobsByUid(db, input.sequence);
  const found = input.sequence.filter((uid, i) => jobs.has(uid) && input.sequence.indexOf(uid) === i).map((uid) => jobs.get(uid)!);
  if (found.length < 2) throw queueTooShort();
  const taken = found.find((j) => j.queue_name != null && j.queue_name !== queue);
  if (taken) throw jobInOtherQueue(taken.uid, taken.queue_name!);
  const system = found.find(isSystemRow);
  if (system) throw systemJobInQueue(system.uid);
  const missing = input.sequence.find((uid) => !jobs.has(uid));
  if (missing !== undefined) throw notFoundObject("JobConfiguration", missing);
  const dup = input.sequence.find((uid, i) => input.sequence.indexOf(uid) !== i);
  if (dup !== undefined) throw conflict(`Job \`${dup}\` is listed more than once in the queue sequence.`);
  return jobs;
}

function joinStatements(
  db: D1Database,
  name: string,
  input: QueueInput,
  jobs: Map<string, QueueJobRow>,
  now: number,
  userUid: string | null,
): D1PreparedStatement[] {
  const out: D1PreparedStatement[] = [];
  input.sequence.forEach((uid, position) => {
    out.push(
      db
        .prepare(
          `UPDATE job_configurations SET queue_name = ?, queue_position = ?, cron_expression = ?, delay = NULL,
             scheduling_type = 'CRON', version = version + 1, last_updated = ?, last_updated_by = COALESCE(?, last_updated_by)
           WHERE uid = ?`,
        )
        .bind(name, position, position === 0 ? (input.cronExpression ?? null) : null, now, userUid, uid),
    );
  });
  // The head's latest run (if any) happened before it led this queue: never continue it.
  const head = jobs.get(input.sequence[0])!;
  if (head.last_executed != null) {
    out.push(
      db
        .prepare(
          `INSERT OR IGNORE INTO queue_run_steps (run_id, position, queue_name, job_uid, state, token, created, updated)
           VALUES (?, 0, ?, ?, 'BASELINE', NULL, ?, ?)`,
        )
        .bind(runIdOf(name, head.last_executed), name, head.uid, now, now),
    );
  }
  return out;
}

function leaveStatements(db: D1Database, leaving: QueueJobRow[], now: number, userUid: string | null): D1PreparedStatement[] {
  const out: D1PreparedStatement[] = [];
  for (const job of leaving) {
    out.push(
      db
        .prepare(
          `UPDATE job_configurations SET queue_name = NULL, queue_position = NULL, cron_expression = NULL, enabled = 0,
             job_status = CASE WHEN job_status = 'RUNNING' THEN job_status ELSE 'DISABLED' END,
             version = version + 1, last_updated = ?, last_updated_by = COALESCE(?, last_updated_by)
           WHERE uid = ?`,
        )
        .bind(now, userUid, job.uid),
    );
    // A start the queue requested for this job no longer applies.
    out.push(
      db.prepare("UPDATE queue_run_steps SET state = 'SKIPPED', updated = ? WHERE job_uid = ? AND state = 'TRIGGERED'").bind(now, job.uid),
    );
  }
  return out;
}

export function runIdOf(queue: string, headStart: number): string {
  return `${queue}@${headStart}`;
}

/**
 * Brings the touched jobs' Durable Objects in step. The D1 write is already committed: an object
 * that cannot be reached now is caught up by the scheduler's reconcile (its version changed).
 */
async function syncAll(env: Env, uids: Iterable<string>): Promise<void> {
  const results = await Promise.allSettled([...new Set(uids)].map((uid) => syncJobObject(env, uid)));
  for (const r of results) {
    if (r.status === "rejected")
      console.error("queue write: job object sync failed", r.reason instanceof Error ? r.reason.message : String(r.reason));
  }
}

/** Who writes a queue: superusers are not held to the shortest-interval quota. */
export interface QueueWriter {
  uid: string;
  isSuper: boolean;
}

/** The queue's cron is held to `jobsMinIntervalSeconds` for non-superusers, as a job's own schedule is. */
async function checkInterval(env: Env, input: QueueInput, caller: QueueWriter, now: number): Promise<void> {
  if (caller.isSuper || !input.cronExpression) return;
  const minSeconds = await getSetting(env.DB, "jobsMinIntervalSeconds");
  const gap = shortestCronInterval(input.cronExpression, now, serverTimeZone(env));
  if (gap !== null && gap / 1000 < minSeconds) throw new ApiError(409, tooFrequentMessage(gap / 1000, minSeconds), { errorCode: "E7010" });
}

export async function createQueue(env: Env, name: string, input: QueueInput, now: number, caller: QueueWriter): Promise<void> {
  const db = env.DB;
  const userUid = caller.uid;
  checkQueueName(name);
  if ((await loadQueue(db, name)).length > 0) throw queueExists(name);
  const jobs = await validate(db, name, input);
  await checkInterval(env, input, caller, now);
  await db.batch(joinStatements(db, name, input, jobs, now, userUid));
  await syncAll(env, input.sequence);
}

export async function updateQueue(env: Env, name: string, input: QueueInput, now: number, caller: QueueWriter): Promise<void> {
  const db = env.DB;
  const userUid = caller.uid;
  const old = await loadQueue(db, name);
  if (old.length === 0) throw queueNotFound(name);
  const newName = input.name ?? name;
  if (newName !== name) {
    checkQueueName(newName);
    if ((await loadQueue(db, newName)).length > 0) throw queueExists(newName);
  }
  const jobs = await validate(db, name, input);
  await checkInterval(env, input, caller, now);
  const keep = new Set(input.sequence);
  const leaving = old.filter((j) => !keep.has(j.uid));
  const renameSteps =
    newName === name ? [] : [db.prepare("UPDATE queue_run_steps SET queue_name = ? WHERE queue_name = ?").bind(newName, name)];
  await db.batch([
    ...renameSteps,
    ...joinStatements(db, newName, input, jobs, now, userUid),
    ...leaveStatements(db, leaving, now, userUid),
  ]);
  await syncAll(env, [...input.sequence, ...leaving.map((j) => j.uid)]);
}

export async function deleteQueue(env: Env, name: string, now: number, userUid: string | null): Promise<void> {
  const db = env.DB;
  const old = await loadQueue(db, name);
  if (old.length === 0) throw queueNotFound(name);
  await db.batch(leaveStatements(db, old, now, userUid));
  await syncAll(
    env,
    old.map((j) => j.uid),
  );
}
