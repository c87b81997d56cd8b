/**
 * D1 access for queues. A queue has no table of its own: it is the set of `job_configurations`
 * rows sharing `queue_name`, ordered by `queue_position` (0 = the head, which carries the cron).
 */

import type { JobRow } from "../jobconfigs/store";

/** The `job_configurations` columns the queue module reads. */
const QUEUE_FIELDS = [
  "uid",
  "name",
  "job_type",
  "scheduling_type",
  "cron_expression",
  "delay",
  "enabled",
  "job_status",
  "last_executed_status",
  "last_executed",
  "last_finished",
  "queue_name",
  "queue_position",
  "system",
  "version",
  "created",
  "last_updated",
] as const satisfies readonly (keyof JobRow)[];

export type QueueJobRow = Pick<JobRow, (typeof QUEUE_FIELDS)[number]>;

const COLUMNS = QUEUE_FIELDS.join(", ");

export async function loadAllJobs(db: D1Database): Promise<QueueJobRow[]> {
  const { results } = await db.prepare(`SELECT ${COLUMNS} FROM job_configurations`).all<QueueJobRow>();
  return results;
}

export async function loadJob(db: D1Database, uid: string): Promise<QueueJobRow | null> {
  return db.prepare(`SELECT ${COLUMNS} FROM job_configurations WHERE uid = ?`).bind(uid).first<QueueJobRow>();
}

/** The jobs with these UIDs (unknown UIDs are simply absent). */
export async function loadJobsByUid(db: D1Database, uids: string[]): Promise<Map<string, QueueJobRow>> {
  const out = new Map<string, QueueJobRow>();
  const unique = [...new Set(uids)];
  // D1 allows 100 bound parameters per statement.
  for (let i = 0; i < unique.length; i += 90) {
    const chunk = unique.slice(i, i + 90);
    const { results } = await db
      .prepare(`SELECT ${COLUMNS} FROM job_configurations WHERE uid IN (${chunk.map(() => "?").join(",")})`)
      .bind(...chunk)
      .all<QueueJobRow>();
    for (const r of results) out.set(r.uid, r);
  }
  return out;
}

/** The members of a queue in position order (empty when the queue does not exist). */
export async function loadQueue(db: D1Database, name: string): Promise<QueueJobRow[]> {
  const { results } = await db
    .prepare(`SELECT ${COLUMNS} FROM job_configurations WHERE queue_name = ? ORDER BY queue_position, uid`)
    .bind(name)
    .all<QueueJobRow>();
  return results;
}

export async function loadQueueNames(db: D1Database): Promise<string[]> {
  const { results } = await db
    .prepare("SELECT DISTINCT queue_name FROM job_configurations WHERE queue_name IS NOT NULL")
    .all<{ queue_name: string }>();
  return results.map((r) => r.queue_name).sort(compareJava);
}

/** Java's `String.compareTo` (UTF-16 code units), the order DHIS2 sorts names in. */
export function compareJava(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
