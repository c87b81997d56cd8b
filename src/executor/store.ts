/**
 * D1 state of the executor protocol: runs handed to an executor (hashed callback token, state,
 * last heard), the callbacks they posted (drained in order by the run's handler), and the replay
 * cache of request signatures.
 */
import type { ReplayCache } from "./protocol";
import { sha256HexBytes } from "./protocol";

export type ExecutorRunState = "STARTING" | "RUNNING" | "CANCELLING" | "FINISHED";

export interface ExecutorRunRow {
  run_id: string;
  job_id: string;
  job_type: string;
  token_hash: string;
  state: ExecutorRunState;
  created: number;
  last_heard: number | null;
  finished: number | null;
  expires: number;
}

export interface ExecutorEventRow {
  id: number;
  run_id: string;
  kind: string;
  payload: string;
  received: number;
}

/** Callbacks for a finished run are refused; its row is kept this long to say so, then purged. */
export const FINISHED_GRACE_MS = 10 * 60 * 1000;
/** Upper bound of a run's callback validity. */
export const RUN_TTL_MS = 7 * 24 * 3600 * 1000;

export function hashToken(token: string): Promise<string> {
  return sha256HexBytes(token);
}

export async function createExecutorRun(
  db: D1Database,
  run: { runId: string; jobId: string; jobType: string; token: string; now: number },
): Promise<void> {
  const tokenHash = await hashToken(run.token);
  await db.batch([
    // A job runs once at a time: an earlier run left behind (its object was reset) is over, and
    // its executor learns so from the 409 its next callback gets.
    db
      .prepare(
        `UPDATE executor_runs SET state = 'FINISHED', finished = ?, expires = ? WHERE job_id = ? AND run_id <> ? AND state <> 'FINISHED'`,
      )
      .bind(run.now, run.now + FINISHED_GRACE_MS, run.jobId, run.runId),
    db
      .prepare(
        `INSERT INTO executor_runs (run_id, job_id, job_type, token_hash, state, created, last_heard, expires)
         VALUES (?, ?, ?, ?, 'STARTING', ?, ?, ?)
         ON CONFLICT(run_id) DO NOTHING`,
      )
      .bind(run.runId, run.jobId, run.jobType, tokenHash, run.now, run.now, run.now + RUN_TTL_MS),
  ]);
}

export function findExecutorRun(db: D1Database, runId: string): Promise<ExecutorRunRow | null> {
  return db.prepare(`SELECT * FROM executor_runs WHERE run_id = ?`).bind(runId).first<ExecutorRunRow>();
}

export async function setRunState(db: D1Database, runId: string, state: ExecutorRunState, now: number): Promise<void> {
  if (state === "FINISHED") {
    await db.batch([
      db
        .prepare(`UPDATE executor_runs SET state = 'FINISHED', finished = ?, expires = ? WHERE run_id = ?`)
        .bind(now, now + FINISHED_GRACE_MS, runId),
      db.prepare(`DELETE FROM executor_events WHERE run_id = ?`).bind(runId),
    ]);
    return;
  }
  await db.prepare(`UPDATE executor_runs SET state = ? WHERE run_id = ? AND state <> 'FINISHED'`).bind(state, runId).run();
}

/** Stores one callback and refreshes the run's heartbeat. */
/** Stores a callback; one carrying the nonce of a stored callback of the run (a re-delivery) is kept once. */
export async function appendEvent(db: D1Database, runId: string, kind: string, payload: unknown, now: number): Promise<void> {
  const nonce = (payload as { nonce?: unknown } | null)?.nonce;
  await db.batch([
    db
      .prepare(`INSERT OR IGNORE INTO executor_events (run_id, kind, payload, received, nonce) VALUES (?, ?, ?, ?, ?)`)
      .bind(runId, kind, JSON.stringify(payload ?? {}), now, typeof nonce === "string" ? nonce : null),
    db
      .prepare(
        `UPDATE executor_runs SET last_heard = ?, state = CASE WHEN state = 'STARTING' THEN 'RUNNING' ELSE state END WHERE run_id = ?`,
      )
      .bind(now, runId),
  ]);
}

/** Most callbacks one step relays (a step that reads this many is followed by another at once). */
export const EVENTS_PER_STEP = 500;

export async function eventsAfter(db: D1Database, runId: string, afterId: number): Promise<ExecutorEventRow[]> {
  const { results } = await db
    .prepare(`SELECT * FROM executor_events WHERE run_id = ? AND id > ? ORDER BY id LIMIT ?`)
    .bind(runId, afterId, EVENTS_PER_STEP)
    .all<ExecutorEventRow>();
  return results;
}

/** Drops expired replay entries and finished runs past their grace period. */
export async function purgeExpired(db: D1Database, now: number): Promise<void> {
  await db.batch([
    db.prepare(`DELETE FROM executor_replay WHERE expires < ?`).bind(now),
    db.prepare(`DELETE FROM executor_events WHERE run_id IN (SELECT run_id FROM executor_runs WHERE expires < ?)`).bind(now),
    db.prepare(`DELETE FROM executor_runs WHERE expires < ?`).bind(now),
  ]);
}

/** Replay cache over `executor_replay`: a signature is accepted once until it expires. */
export class D1ReplayCache implements ReplayCache {
  constructor(private readonly db: D1Database) {}
  async remember(signature: string, expiresAt: number, now: number): Promise<boolean> {
    const res = await this.db
      .prepare(
        `INSERT INTO executor_replay (signature, expires) VALUES (?, ?)
         ON CONFLICT(signature) DO UPDATE SET expires = excluded.expires WHERE executor_replay.expires < ?`,
      )
      .bind(signature, expiresAt, now)
      .run();
    return (res.meta.changes ?? 0) > 0;
  }
}
