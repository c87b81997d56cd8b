/**
 * Queue runs. The head (position 0) starts on its own schedule (or through `/execute`); when a
 * member's run completes, the next position starts at once; a failure or a cancel ends the run: the
 * remaining members are marked NOT_STARTED with lastExecuted = lastFinished = now (DHIS2's trySkip).
 *
 * Exactly-once: every (queue run, position) is one `queue_run_steps` row; its primary key is the
 * idempotency key. A member's start is requested by inserting its row as TRIGGERED (only one insert
 * can win) and claimed by moving it to STARTED (only one claim can win), so retries, duplicate
 * finish notifications and crashes never run a member twice. `reconcileQueueRuns` repairs the gaps a
 * crash can leave: a finish that was never reported continues (or ends) the run, a start that was
 * requested but never claimed is requested again, a claimed start that never began fails the run.
 *
 * Wiring (the scheduler does not know queues; src/index.ts plugs them in):
 * - `onQueueMemberFinished(env, uid, outcome, now)` after a queued job's run ended (D1 already
 *   updated), called by the run listener of hooks.ts; the next member is started through its Durable
 *   Object's `executeNow(uid, null, "QUEUE")`;
 * - `reconcileQueueRuns(env, now)` from the Worker's Cron Trigger (src/maintenance.ts).
 * `pendingQueueStart` / `claimQueueStart` let a scheduler pull starts instead (custom starter).
 */
import { jobObject, syncJobObject } from "../scheduling/sync";
import { runIdOf } from "./service";
import { loadJob, loadQueue, type QueueJobRow } from "./store";

export type QueueOutcome = "COMPLETED" | "FAILED" | "STOPPED";

export interface QueueStep {
  run_id: string;
  position: number;
  queue_name: string;
  job_uid: string;
  state: string;
  token: string | null;
  created: number;
  updated: number;
}

export interface QueueContinuation {
  /** What happened: the next member was asked to start, the run ended, or nothing applied. */
  action: "started-next" | "finished" | "skipped-rest" | "none";
  runId?: string;
  /** The member asked to start (action `started-next`). */
  next?: { uid: string; key: string };
  /** Members marked NOT_STARTED (action `skipped-rest`). */
  skipped?: string[];
}

/**
 * How a requested member start reaches the scheduler. The default claims the start (exactly once
 * per key) and asks the member's Durable Object to run now (`executeNow`).
 */
export type QueueStarter = (env: Env, uid: string, key: string, now: number) => Promise<void>;

/** The member's Durable Object, as far as queues use it. */
/**
 * The default starter: claims the TRIGGERED step (only one caller can) and has the member's object
 * execute it now. If the object refuses (the member is running, disabled or gone) the run fails at
 * this member: it and the rest are marked NOT_STARTED. If the call itself fails, the step stays
 * claimed and `reconcileQueueRuns` fails the run once the grace period has passed, so a member is
 * never started twice.
 */
export const startQueueMember: QueueStarter = async (env, uid, key, now) => {
  if (!(await claimQueueStart(env.DB, uid, key, now))) return;
  let result: string;
  try {
    result = await jobObject(env, uid).executeNow(uid, null, "QUEUE");
  } catch (e) {
    console.error(`queue member ${uid}: start request failed`, e instanceof Error ? e.message : String(e));
    return;
  }
  if (result !== "started") {
    const parsed = parseStepKey(key)!;
    const step = await stepOf(env.DB, parsed.runId, parsed.position);
    if (step) await failStep(env, step, now);
  }
};

const defaultStarter: QueueStarter = startQueueMember;

/** The idempotency key of one member start: `<run id>#<position>`. */
export function stepKey(runId: string, position: number): string {
  return `${runId}#${position}`;
}

export function parseStepKey(key: string): { runId: string; position: number } | null {
  const i = key.lastIndexOf("#");
  if (i <= 0) return null;
  const position = Number(key.slice(i + 1));
  return Number.isInteger(position) && position >= 0 ? { runId: key.slice(0, i), position } : null;
}

function token(): string {
  return crypto.randomUUID();
}

/** The member's step of the run in progress (TRIGGERED or STARTED), newest first. */
async function openStep(db: D1Database, uid: string, position: number): Promise<QueueStep | null> {
  return db
    .prepare(
      `SELECT * FROM queue_run_steps WHERE job_uid = ? AND position = ? AND state IN ('TRIGGERED', 'STARTED')
       ORDER BY created DESC LIMIT 1`,
    )
    .bind(uid, position)
    .first<QueueStep>();
}

async function stepOf(db: D1Database, runId: string, position: number): Promise<QueueStep | null> {
  return db.prepare("SELECT * FROM queue_run_steps WHERE run_id = ? AND position = ?").bind(runId, position).first<QueueStep>();
}

function recordOutcome(db: D1Database, runId: string, job: QueueJobRow, outcome: QueueOutcome, now: number): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO queue_run_steps (run_id, position, queue_name, job_uid, state, token, created, updated)
       VALUES (?, ?, ?, ?, ?, NULL, ?, ?)
       ON CONFLICT (run_id, position) DO UPDATE SET state = excluded.state, updated = excluded.updated
       WHERE queue_run_steps.state IN ('TRIGGERED', 'STARTED')`,
    )
    .bind(runId, job.queue_position, job.queue_name, job.uid, outcome, now, now);
}

/**
 * Marks every member behind `position` that has not run in this run as NOT_STARTED
 * (lastExecuted = lastFinished = now), and records them as SKIPPED so no late start can happen.
 */
function skipRestStatements(
  db: D1Database,
  queue: string,
  runId: string,
  members: QueueJobRow[],
  position: number,
  now: number,
): { stmts: D1PreparedStatement[]; uids: string[] } {
  const stmts: D1PreparedStatement[] = [];
  const uids: string[] = [];
  for (const m of members) {
    if ((m.queue_position ?? 0) <= position || m.job_status === "RUNNING") continue;
    uids.push(m.uid);
    stmts.push(
      db
        .prepare(
          `UPDATE job_configurations SET last_executed_status = 'NOT_STARTED', last_executed = ?, last_finished = ?, last_alive = NULL, last_updated = ?
           WHERE uid = ? AND queue_name = ? AND job_status != 'RUNNING'
             AND NOT EXISTS (SELECT 1 FROM queue_run_steps WHERE run_id = ? AND position = ? AND state = 'SKIPPED')`,
        )
        .bind(now, now, now, m.uid, queue, runId, m.queue_position),
      db
        .prepare(
          `INSERT INTO queue_run_steps (run_id, position, queue_name, job_uid, state, token, created, updated)
           VALUES (?, ?, ?, ?, 'SKIPPED', NULL, ?, ?)
           ON CONFLICT (run_id, position) DO UPDATE SET state = 'SKIPPED', updated = excluded.updated
           WHERE queue_run_steps.state = 'TRIGGERED'`,
        )
        .bind(runId, m.queue_position, queue, m.uid, now, now),
    );
  }
  return { stmts, uids };
}

/**
 * Fault injection for tests: while `dropFinishReports` is set, finish reports are lost, as if the
 * worker died between a member's end and the queue's continuation.
 */
export const queueFaults = { dropFinishReports: false };

export interface FinishOptions {
  starter?: QueueStarter;
  /**
   * The start of the run that ended: a report about an earlier run than the job's last one (a late
   * retry) is ignored; the reconcile covers whatever it missed.
   */
  startedAt?: number;
}

/**
 * Continues or ends a queue run after one member's run ended. Safe to call more than once for the
 * same run (duplicates do nothing new) and for jobs outside queues (returns `none`).
 *
 * `job` is the UID or the row (it is re-read from D1 either way); `outcome` is the run's result.
 */
export async function onQueueMemberFinished(
  env: Env,
  job: string | { uid: string },
  outcome: QueueOutcome,
  now: number,
  opts: FinishOptions = {},
): Promise<QueueContinuation> {
  if (queueFaults.dropFinishReports) return { action: "none" };
  const db = env.DB;
  const row = await loadJob(db, typeof job === "string" ? job : job.uid);
  if (!row || row.queue_name == null || row.queue_position == null) return { action: "none" };
  if (opts.startedAt !== undefined && row.last_executed !== opts.startedAt) return { action: "none" };
  const queue = row.queue_name;
  const position = row.queue_position;

  let runId: string;
  const open = await openStep(db, row.uid, position);
  if (open) {
    runId = open.run_id;
  } else if (position === 0 && row.last_executed != null) {
    // The head ran on its own schedule or through /execute: that run starts a queue run, unless it
    // began before the job led this queue (BASELINE) or was already handled.
    runId = runIdOf(queue, row.last_executed);
    const seen = await stepOf(db, runId, 0);
    if (seen && seen.state !== "TRIGGERED" && seen.state !== "STARTED") {
      if (seen.state === "BASELINE") return { action: "none", runId };
      return continueAfter(env, row, runId, seen.state as QueueOutcome, now, opts);
    }
  } else {
    // A member that ran outside a queue run (e.g. executed by hand): the queue is not involved.
    return { action: "none" };
  }
  return continueAfter(env, row, runId, outcome, now, opts, true);
}

/**
 * Records the member's outcome (when `record`) and, in the same D1 batch, either requests the next
 * member's start or marks the rest NOT_STARTED, so no crash can separate the two.
 */
async function continueAfter(
  env: Env,
  row: QueueJobRow,
  runId: string,
  outcome: QueueOutcome,
  now: number,
  opts: FinishOptions,
  record = false,
): Promise<QueueContinuation> {
  const db = env.DB;
  const queue = row.queue_name!;
  const position = row.queue_position!;
  const members = await loadQueue(db, queue);
  const head: D1PreparedStatement[] = record ? [recordOutcome(db, runId, row, outcome, now)] : [];
  const next = members.find((m) => m.queue_position === position + 1);
  if (outcome !== "COMPLETED" || (next && !next.enabled)) {
    // A failure or cancel ends the run; so does a disabled next member (it cannot start).
    const { stmts, uids } = skipRestStatements(db, queue, runId, members, position, now);
    if (head.length + stmts.length > 0) await db.batch([...head, ...stmts]);
    await syncQuietly(env, uids);
    return { action: "skipped-rest", runId, skipped: uids };
  }
  if (!next) {
    if (head.length > 0) await db.batch(head);
    return { action: "finished", runId };
  }
  await db.batch([
    ...head,
    db
      .prepare(
        `INSERT OR IGNORE INTO queue_run_steps (run_id, position, queue_name, job_uid, state, token, created, updated)
         VALUES (?, ?, ?, ?, 'TRIGGERED', ?, ?, ?)`,
      )
      .bind(runId, position + 1, queue, next.uid, token(), now, now),
  ]);
  const step = await stepOf(db, runId, position + 1);
  const key = stepKey(runId, position + 1);
  // Only a start still waiting to be claimed is (re)requested; a claimed or finished one is left alone.
  if (step && step.state === "TRIGGERED" && step.job_uid === next.uid) {
    await (opts.starter ?? defaultStarter)(env, next.uid, key, now);
  }
  return { action: "started-next", runId, next: { uid: next.uid, key } };
}

async function skipRest(
  env: Env,
  queue: string,
  runId: string,
  members: QueueJobRow[],
  position: number,
  now: number,
): Promise<QueueContinuation> {
  const { stmts, uids } = skipRestStatements(env.DB, queue, runId, members, position, now);
  if (stmts.length > 0) await env.DB.batch(stmts);
  await syncQuietly(env, uids);
  return { action: "skipped-rest", runId, skipped: uids };
}

/** Skipped members' objects re-read their rows; a failure here is repaired by the reconcile. */
async function syncQuietly(env: Env, uids: string[]): Promise<void> {
  await Promise.allSettled(uids.map((uid) => syncJobObject(env, uid)));
}

export interface PendingQueueStart {
  /** Idempotency key to pass to `claimQueueStart`. */
  key: string;
  runId: string;
  position: number;
  /** When the start was requested (epoch ms): the run is due from then on. */
  requestedAt: number;
}

/** A start the queue requested for this job and that nobody claimed yet, or null. */
export async function pendingQueueStart(db: D1Database, uid: string): Promise<PendingQueueStart | null> {
  const step = await db
    .prepare(
      `SELECT s.* FROM queue_run_steps s JOIN job_configurations j ON j.uid = s.job_uid
       WHERE s.job_uid = ? AND s.state = 'TRIGGERED' AND j.queue_name = s.queue_name AND j.queue_position = s.position
       ORDER BY s.created DESC LIMIT 1`,
    )
    .bind(uid)
    .first<QueueStep>();
  if (!step) return null;
  return { key: stepKey(step.run_id, step.position), runId: step.run_id, position: step.position, requestedAt: step.created };
}

/**
 * The statement that claims a requested start (TRIGGERED → STARTED). Put it in the same batch as
 * the job's own RUNNING transition and check `meta.changes === 1`: 0 means another attempt already
 * claimed it (or the queue was changed) and the run must not start.
 */
export function claimQueueStartStatement(db: D1Database, uid: string, key: string, now: number): D1PreparedStatement {
  const parsed = parseStepKey(key);
  return db
    .prepare(
      "UPDATE queue_run_steps SET state = 'STARTED', updated = ? WHERE run_id = ? AND position = ? AND job_uid = ? AND state = 'TRIGGERED'",
    )
    .bind(now, parsed?.runId ?? "", parsed?.position ?? -1, uid);
}

/** Claims a requested start; true exactly once per key. */
export async function claimQueueStart(db: D1Database, uid: string, key: string, now: number): Promise<boolean> {
  const res = await claimQueueStartStatement(db, uid, key, now).run();
  return (res.meta.changes ?? 0) === 1;
}

/**
 * Whether the queue led by `head` is between members (a member RUNNING or a start pending): the
 * head should not start a new run of the queue before the current one ends.
 */
export async function queueBusy(db: D1Database, queue: string): Promise<boolean> {
  const row = await db
    .prepare(
      `SELECT (SELECT COUNT(*) FROM job_configurations WHERE queue_name = ? AND queue_position > 0 AND job_status = 'RUNNING')
            + (SELECT COUNT(*) FROM queue_run_steps WHERE queue_name = ? AND state IN ('TRIGGERED', 'STARTED') AND position > 0) AS n`,
    )
    .bind(queue, queue)
    .first<{ n: number }>();
  return (row?.n ?? 0) > 0;
}

export interface ReconcileOptions extends FinishOptions {
  /** A claimed start that has not begun after this long failed (default 2 minutes). */
  startGraceMs?: number;
  /** A requested start still unclaimed after this long is requested again (default 30 s). */
  retriggerAfterMs?: number;
}

export interface ReconcileReport {
  continued: string[];
  retriggered: string[];
  failed: string[];
}

const FINISHED_STATUSES = new Set(["COMPLETED", "FAILED", "STOPPED"]);

/**
 * Repairs queue runs a crash interrupted. Idempotent; meant for the scheduler's periodic reconcile.
 * - a head whose finished run was never reported (no step for it) continues the queue;
 * - a STARTED member that is no longer running and finished after its start is reported now;
 * - a STARTED member that never began within the grace period fails the run (rest NOT_STARTED);
 * - a TRIGGERED member not claimed for a while is asked to start again (the claim stays exactly-once).
 */
export async function reconcileQueueRuns(env: Env, now: number, opts: ReconcileOptions = {}): Promise<ReconcileReport> {
  const db = env.DB;
  const grace = opts.startGraceMs ?? 120_000;
  const retrigger = opts.retriggerAfterMs ?? 30_000;
  const report: ReconcileReport = { continued: [], retriggered: [], failed: [] };

  // Heads: their finished runs without any step row.
  const { results: heads } = await db
    .prepare(
      `SELECT j.uid, j.queue_name, j.last_executed, j.last_executed_status FROM job_configurations j
       WHERE j.queue_name IS NOT NULL AND j.queue_position = 0 AND j.job_status != 'RUNNING'
         AND j.last_executed IS NOT NULL AND j.last_finished IS NOT NULL AND j.last_finished >= j.last_executed
         AND NOT EXISTS (SELECT 1 FROM queue_run_steps s WHERE s.run_id = j.queue_name || '@' || j.last_executed AND s.position = 0)`,
    )
    .all<{ uid: string; queue_name: string; last_executed: number; last_executed_status: string }>();
  for (const h of heads) {
    if (!FINISHED_STATUSES.has(h.last_executed_status)) continue;
    await onQueueMemberFinished(env, h.uid, h.last_executed_status as QueueOutcome, now, opts);
    report.continued.push(h.uid);
  }

  // Open steps.
  const { results: steps } = await db
    .prepare(
      `SELECT s.*, j.job_status AS j_status, j.last_executed AS j_last_executed, j.last_finished AS j_last_finished,
              j.last_executed_status AS j_result, j.queue_name AS j_queue, j.queue_position AS j_position
       FROM queue_run_steps s LEFT JOIN job_configurations j ON j.uid = s.job_uid
       WHERE s.state IN ('TRIGGERED', 'STARTED')`,
    )
    .all<
      QueueStep & {
        j_status: string | null;
        j_last_executed: number | null;
        j_last_finished: number | null;
        j_result: string | null;
        j_queue: string | null;
        j_position: number | null;
      }
    >();
  for (const s of steps) {
    const stillMember = s.j_queue === s.queue_name && s.j_position === s.position;
    if (!stillMember) {
      await db
        .prepare(
          "UPDATE queue_run_steps SET state = 'SKIPPED', updated = ? WHERE run_id = ? AND position = ? AND state IN ('TRIGGERED', 'STARTED')",
        )
        .bind(now, s.run_id, s.position)
        .run();
      continue;
    }
    if (s.j_status === "RUNNING") continue;
    if (s.state === "STARTED") {
      const began = s.j_last_executed != null && s.j_last_executed >= s.created;
      const ended = began && s.j_last_finished != null && s.j_last_finished >= s.j_last_executed!;
      if (ended && s.j_result && FINISHED_STATUSES.has(s.j_result)) {
        await onQueueMemberFinished(env, s.job_uid, s.j_result as QueueOutcome, now, opts);
        report.continued.push(s.job_uid);
      } else if (!began && now - s.updated >= grace) {
        await failStep(env, s, now);
        report.failed.push(s.job_uid);
      }
    } else if (now - s.updated >= retrigger) {
      await db
        .prepare("UPDATE queue_run_steps SET updated = ? WHERE run_id = ? AND position = ? AND state = 'TRIGGERED'")
        .bind(now, s.run_id, s.position)
        .run();
      await (opts.starter ?? defaultStarter)(env, s.job_uid, stepKey(s.run_id, s.position), now);
      report.retriggered.push(s.job_uid);
    }
  }
  return report;
}

/** A member whose claimed start never began: its step fails and the rest of the run is skipped. */
async function failStep(env: Env, step: QueueStep, now: number): Promise<void> {
  const db = env.DB;
  const res = await db
    .prepare("UPDATE queue_run_steps SET state = 'FAILED', updated = ? WHERE run_id = ? AND position = ? AND state = 'STARTED'")
    .bind(now, step.run_id, step.position)
    .run();
  if ((res.meta.changes ?? 0) !== 1) return;
  const members = await loadQueue(db, step.queue_name);
  // The member itself did not run: it too is NOT_STARTED.
  await skipRest(env, step.queue_name, step.run_id, members, step.position - 1, now);
}
