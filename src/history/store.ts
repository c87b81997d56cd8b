/**
 * The run history's reads, straight from the engine's own `job_runs` rows (written by the start and
 * the end in the transactions that record them; migrations 0020, 0063): filters, access and paging in
 * SQL with bound parameters only (lists travel as one JSON array, read with `json_each`), newest
 * first. And the job errors (DHIS2 2.41+): per job, its last finished run, when it reported item
 * errors.
 */
import type { RunRow } from "../scheduling/store";

/** Who is asking: a log reader sees every run; anyone else the runs that ran as them or that they started. */
export interface RunReader {
  uid: string;
  readsAll: boolean;
}

export interface RunFilter {
  /** One job's runs. */
  job?: string;
  status?: string[];
  type?: string[];
  trigger?: string[];
  /** Scheduled instant (epoch ms), inclusive. */
  since?: number;
  until?: number;
}

/** A history row with the job's current name (null once the job is deleted). */
export type HistoryRow = Omit<RunRow, "item_errors"> & { job_name: string | null };

const json = (list: readonly string[] | undefined) => (list?.length ? JSON.stringify(list) : null);

/**
 * The `WHERE` of a history query over `job_runs r LEFT JOIN job_configurations c`, from fixed SQL
 * fragments (only the filters given, so SQLite can use the (job, occurrence) and occurrence indexes),
 * with their bound values. A run is readable by log readers, the user it ran as, the user who
 * started it, and the user its job runs as now (src/scheduling/access.ts, as for a job's progress).
 */
function historyWhere(filter: RunFilter, reader: RunReader): { sql: string; args: unknown[] } {
  const terms: string[] = [];
  const args: unknown[] = [];
  const term = (sql: string, value: unknown) => {
    args.push(value);
    terms.push(sql.replace("?", `?${args.length}`));
  };
  if (filter.job !== undefined) term("r.job_uid = ?", filter.job);
  if (filter.status?.length) term("r.status IN (SELECT value FROM json_each(?))", json(filter.status));
  if (filter.type?.length) term("r.job_type IN (SELECT value FROM json_each(?))", json(filter.type));
  if (filter.trigger?.length) term("r.trigger IN (SELECT value FROM json_each(?))", json(filter.trigger));
  if (filter.since !== undefined) term("r.scheduled_at >= ?", filter.since);
  if (filter.until !== undefined) term("r.scheduled_at <= ?", filter.until);
  if (!reader.readsAll) {
    args.push(reader.uid);
    const n = args.length;
    terms.push(`(r.executed_by = ?${n} OR r.triggered_by = ?${n} OR c.executed_by = ?${n})`);
  }
  return { sql: terms.length ? `WHERE ${terms.join(" AND ")}` : "", args };
}

/** One page of runs, newest first (scheduled instant, then insertion), and how many match. */
export async function listRuns(
  db: D1Database,
  filter: RunFilter,
  reader: RunReader,
  page: { page: number; pageSize: number },
): Promise<{ total: number; rows: HistoryRow[] }> {
  const where = historyWhere(filter, reader);
  const from = `FROM job_runs r LEFT JOIN job_configurations c ON c.uid = r.job_uid ${where.sql}`;
  const n = where.args.length;
  const [count, rows] = await db.batch([
    db.prepare(`SELECT COUNT(*) AS n ${from}`).bind(...where.args),
    db
      .prepare(
        `SELECT r.id, r.job_uid, r.job_type, r.trigger, r.scheduled_at, r.started_at, r.finished_at, r.status, r.error_codes,
           r.error, r.executed_by, r.triggered_by, r.queue_name, r.message, r.item_error_codes, r.item_error_count, c.name AS job_name
         ${from} ORDER BY r.scheduled_at DESC, r.id DESC LIMIT ?${n + 1} OFFSET ?${n + 2}`,
      )
      .bind(...where.args, page.pageSize, (page.page - 1) * page.pageSize),
  ]);
  return { total: Number((count.results[0] as { n: number } | undefined)?.n ?? 0), rows: rows.results as HistoryRow[] };
}

/** Whether the user started a run of the job, or one ran as them (they may read those). */
export async function hasOwnRun(db: D1Database, jobUid: string, userUid: string): Promise<boolean> {
  const row = await db
    .prepare(`SELECT 1 AS x FROM job_runs WHERE job_uid = ?1 AND (triggered_by = ?2 OR executed_by = ?2) LIMIT 1`)
    .bind(jobUid, userUid)
    .first();
  return row !== null;
}

/** DHIS2's JobRunErrorsParams: every filter must match; within a list, any value. */
export interface ErrorFilter {
  job?: string;
  user?: string;
  /** Start of the run (epoch ms), inclusive. */
  from?: number;
  to?: number;
  code?: string[];
  object?: string[];
  type?: string[];
}

export interface ErrorRow {
  job_uid: string;
  job_type: string;
  executed_by: string | null;
  started_at: number | null;
  finished_at: number | null;
  item_errors: string;
  created: number;
  job_parameters: string | null;
}

/**
 * DHIS2's `findJobRunErrors`: for each job, its last finished run (COMPLETED, FAILED or STOPPED; a
 * run in progress keeps the previous one's errors in view) when that run reported item errors,
 * newest start first. Deleted jobs are not listed.
 */
export async function findJobRunErrors(db: D1Database, f: ErrorFilter): Promise<ErrorRow[]> {
  const { results } = await db
    .prepare(
      `SELECT r.job_uid, r.job_type, r.executed_by, r.started_at, r.finished_at, r.item_errors, c.created, c.job_parameters
       FROM job_runs r JOIN job_configurations c ON c.uid = r.job_uid
       WHERE r.item_error_codes IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM job_runs n WHERE n.job_uid = r.job_uid AND n.id > r.id
                           AND n.status IN ('COMPLETED', 'FAILED', 'STOPPED'))
         AND (?1 IS NULL OR r.job_uid = ?1)
         AND (?2 IS NULL OR r.executed_by = ?2)
         AND (?3 IS NULL OR r.started_at >= ?3)
         AND (?4 IS NULL OR r.started_at <= ?4)
         AND (?5 IS NULL OR EXISTS (SELECT 1 FROM json_each(?5) k
                                    WHERE instr(' ' || r.item_error_codes || ' ', ' ' || k.value || ' ') > 0))
         AND (?6 IS NULL OR EXISTS (SELECT 1 FROM json_each(r.item_errors) e
                                    WHERE json_extract(e.value, '$.id') IN (SELECT value FROM json_each(?6))))
         AND (?7 IS NULL OR r.job_type IN (SELECT value FROM json_each(?7)))
       ORDER BY r.started_at DESC, r.id DESC`,
    )
    .bind(f.job ?? null, f.user ?? null, f.from ?? null, f.to ?? null, json(f.code), json(f.object), json(f.type))
    .all<ErrorRow>();
  return results;
}
