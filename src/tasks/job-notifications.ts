/**
 * One job's task notifications and run summary, kept inside the job's Durable Object
 * (`new JobNotifications(ctx, env)` in the object's constructor) and written through to KV.
 *
 * Semantics (DHIS2 2.42 notifier):
 * - `runStarted` clears the job's earlier notifications and summary, then writes an INFO message with
 *   `dataType: "PARAMETERS"` and the parameters as `data`.
 * - Every message gets a time strictly after the previous one (at least 1 ms apart) and a UID derived
 *   from the job and that time.
 * - A new message replaces the newest message when that one is LOOP (item progress does not grow the
 *   list; the final message of a stage or run replaces the last item message, as in DHIS2).
 * - `runFinished` writes the last message with `completed: true` (ERROR for a failed or cancelled run)
 *   and stores the summary.
 * - At most `notifierMaxMessagesPerJob` messages are kept; the oldest go first, but never the run's first.
 *
 * Storage and consistency:
 * - The object's SQLite storage holds the truth (tables `tasks_run`, `tasks_messages`). Reads through
 *   `snapshot()` are strongly consistent: the HTTP layer serves `/tasks/{type}/{id}` and
 *   `/taskSummaries/{type}/{id}` from it, so a client polling right after `execute` sees the run.
 * - KV gets a copy for listings and history: keys `task:<TYPE>:<id>` and `summary:<TYPE>:<id>`
 *   (see kv.ts). Writes are batched: two writes of a job are always at least 1 s apart (so also per
 *   key — KV's limit). The start of a run is written at once (when the last write is over 1 s old),
 *   progress at most every 5 s while the run reports, the end of the run within a second of it (the
 *   summary a second later). Dirty flags live in SQLite, so a write interrupted by an eviction is redone when the
 *   object starts again. KV itself is eventually consistent (up to ~60 s elsewhere), so listings lag.
 */
import { type Clock, systemClock } from "../http/clock";
import { formatDate, serverTimeZone } from "../http/dates";
import { SETTINGS, loadSettings } from "../settings/settings";
import { kvTtlSeconds, summaryKey, taskKey, taskMetadata, type SummaryKeyMetadata } from "./kv";
import {
  ADDED_COLUMNS,
  LEVELS,
  SCHEMA,
  notificationUid,
  type KvOp,
  type MessageRow,
  type RunRow,
  type RunWithNewest,
} from "./notification-rows";
import type { Notification, NotificationLevel, NotificationSink, RunOutcome, RunStart, TaskSnapshot } from "./types";

/** Minimum spacing of two KV writes of one job (KV allows one write per second per key). */
export const KV_WRITE_INTERVAL_MS = 1000;
/**
 * Spacing of the progress writes while a run reports (after its first write, before its end). The
 * listings that read KV are eventually consistent anyway (KV: up to ~60 s); polls of one task read the
 * object. Start and end of a run are written with the minimum spacing.
 */
export const KV_PROGRESS_INTERVAL_MS = 5000;
/** clear() waits this long at most for its KV deletes. */
const CLEAR_WAIT_MS = 10_000;
/** Longest back-off after failed KV writes. */
const MAX_BACKOFF_MS = 60_000;

export interface JobNotificationsOptions {
  /** Real-time clock for KV write pacing (KV's per-second limit is in wall time). Default: the system clock. */
  pacing?: Clock;
  /** Minimum spacing of two KV writes (default {@link KV_WRITE_INTERVAL_MS}; never lower in production). */
  minIntervalMs?: number;
  /** Spacing of progress writes while a run reports (default {@link KV_PROGRESS_INTERVAL_MS}). */
  progressIntervalMs?: number;
}

export class JobNotifications implements NotificationSink {
  private readonly sql: SqlStorage;
  private readonly kv: KVNamespace;
  private readonly timeZone: string;
  private readonly pacing: Clock;
  private readonly minInterval: number;
  private readonly progressInterval: number;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private writing: Promise<void> | undefined;
  private failures = 0;
  private idleWaiters: Array<() => void> = [];
  private readonly timeTexts = new Map<number, string>();

  constructor(
    ctx: DurableObjectState,
    private readonly env: Env,
    options: JobNotificationsOptions = {},
  ) {
    this.sql = ctx.storage.sql;
    this.kv = env.TASKS;
    this.timeZone = serverTimeZone(env);
    this.pacing = options.pacing ?? systemClock;
    this.minInterval = options.minIntervalMs ?? KV_WRITE_INTERVAL_MS;
    this.progressInterval = Math.max(this.minInterval, options.progressIntervalMs ?? KV_PROGRESS_INTERVAL_MS);
    this.createSchema();
    // A write-through interrupted by an eviction or restart is picked up again.
    if (this.pendingOp()) this.kick();
  }

  // ---------------------------------------------------------------------------------------------
  // NotificationSink
  // ---------------------------------------------------------------------------------------------

  runStarted(run: RunStart): void {
    const prev = this.run();
    const maxMessages = run.limits?.maxMessages ?? prev?.max_messages ?? SETTINGS.notifierMaxMessagesPerJob.default;
    const maxAgeDays = run.limits?.maxAgeDays ?? prev?.max_age_days ?? SETTINGS.notifierMaxAgeDays.default;
    // Keys written under another job type (or job id) would be orphaned: delete them.
    if (prev?.kv_type && (prev.kv_type !== run.jobType || prev.job_id !== run.jobId)) {
      if (prev.kv_task_written)
        this.sql.exec(`INSERT OR IGNORE INTO tasks_kv_deletes (key) VALUES (?)`, taskKey(prev.kv_type, prev.job_id));
      if (prev.kv_summary_written)
        this.sql.exec(`INSERT OR IGNORE INTO tasks_kv_deletes (key) VALUES (?)`, summaryKey(prev.kv_type, prev.job_id));
    }
    const sameKeys = prev?.kv_type === run.jobType && prev?.job_id === run.jobId;
    this.sql.exec(`DELETE FROM tasks_messages`);
    this.sql.exec(
      `INSERT INTO tasks_run (id, job_id, job_type, user_uid, started, last_time, running, summary, summary_time,
         max_messages, max_age_days, kv_type, kv_task_dirty, kv_summary_dirty, kv_task_written, kv_summary_written,
         kv_last_write, run_kv_writes, total_kv_writes)
       VALUES (1, ?, ?, ?, ?, ?, 1, NULL, NULL, ?, ?, ?, 1, ?, ?, ?, ?, 0, ?)
       ON CONFLICT(id) DO UPDATE SET job_id = excluded.job_id, job_type = excluded.job_type, user_uid = excluded.user_uid,
         started = excluded.started, last_time = excluded.last_time, running = 1, summary = NULL, summary_time = NULL,
         kv_type = excluded.kv_type, kv_task_dirty = 1, kv_summary_dirty = excluded.kv_summary_dirty,
         kv_task_written = excluded.kv_task_written, kv_summary_written = excluded.kv_summary_written, run_kv_writes = 0,
         kv_run_first_write = NULL`,
      run.jobId,
      run.jobType,
      run.userUid ?? null,
      run.now,
      prev ? prev.last_time : run.now - 1,
      maxMessages,
      maxAgeDays,
      run.jobType,
      sameKeys && prev?.kv_summary_written ? 1 : 0,
      sameKeys ? (prev?.kv_task_written ?? 0) : 0,
      sameKeys ? (prev?.kv_summary_written ?? 0) : 0,
      prev?.kv_last_write ?? 0,
      prev?.total_kv_writes ?? 0,
    );
    const data = run.parameters === undefined ? null : JSON.stringify(run.parameters);
    this.append(this.runWithNewest()!, "INFO", run.message ?? "", false, run.now, { data });
    this.rekick();
    // Settings are read once per run (like DHIS2 caching them), unless the caller passed them (the
    // engine holds them: no D1 read per run start); the cap is re-applied when they arrive.
    if (!run.limits) void this.refreshSettings().catch(() => {});
  }

  notify(level: NotificationLevel, message: string, now: number): void {
    const row = this.runWithNewest();
    if (!row) return;
    this.append(row, LEVELS.has(level) ? level : "INFO", message ?? "", false, now, null);
    this.kick();
  }

  runFinished(run: { outcome: RunOutcome; message: string; summary?: unknown; now: number }): void {
    const row = this.runWithNewest();
    if (!row) return;
    const level: NotificationLevel = run.outcome === "COMPLETED" ? "INFO" : "ERROR";
    const time = this.append(row, level, run.message ?? "", true, run.now, null);
    const summary = run.summary === undefined || run.summary === null ? null : JSON.stringify(run.summary);
    this.sql.exec(
      `UPDATE tasks_run SET running = 0, summary = ?, summary_time = ?, kv_summary_dirty = CASE WHEN ? IS NULL AND kv_summary_written = 0 THEN 0 ELSE 1 END WHERE id = 1`,
      summary,
      summary === null ? null : time,
      summary,
    );
    this.rekick();
  }

  // ---------------------------------------------------------------------------------------------
  // Reads and maintenance (the object's RPC methods getTaskSnapshot / clearTasks call these)
  // ---------------------------------------------------------------------------------------------

  /** The latest run as the HTTP layer needs it; null when the job never reported (or was cleared). */
  snapshot(): TaskSnapshot | null {
    const row = this.run();
    if (!row) return null;
    const rows = this.sql.exec<MessageRow>(`SELECT * FROM tasks_messages ORDER BY seq DESC`).toArray();
    if (rows.length === 0 && row.summary === null) return null;
    const snap: TaskSnapshot = {
      jobId: row.job_id,
      jobType: row.job_type,
      notifications: rows.map((m) => this.toNotification(row, m)),
      running: row.running === 1,
      started: rows.length ? rows[rows.length - 1].time : row.started,
      lastActivity: Math.max(rows.length ? rows[0].time : row.started, row.summary_time ?? 0),
      maxAgeDays: row.max_age_days,
      kvWrites: {
        run: row.run_kv_writes,
        total: row.total_kv_writes,
        runSpanMs: row.kv_run_first_write === null ? 0 : row.kv_last_write - row.kv_run_first_write,
      },
    };
    if (row.user_uid) snap.userUid = row.user_uid;
    if (row.summary !== null) snap.summary = JSON.parse(row.summary);
    return snap;
  }

  /**
   * Removes the job's notifications and summary, here and (awaited) in KV. The run's identity stays, so
   * a run still in progress keeps reporting (into an empty list), as in DHIS2.
   */
  async clear(): Promise<void> {
    // Let an in-flight write land first, so its key is known to need deleting.
    while (this.writing) await this.writing;
    const row = this.run();
    if (!row) return;
    this.sql.exec(`DELETE FROM tasks_messages`);
    this.sql.exec(
      `UPDATE tasks_run SET summary = NULL, summary_time = NULL, kv_task_dirty = kv_task_written, kv_summary_dirty = kv_summary_written WHERE id = 1`,
    );
    this.rekick();
    // Normally at most a second or two (paced deletes); bounded in case KV keeps failing (retried later).
    let bound: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.idle(), new Promise<void>((r) => (bound = setTimeout(r, CLEAR_WAIT_MS)))]);
    if (bound !== undefined) clearTimeout(bound);
  }

  /** Resolves once every pending KV write of this job is done (tests and shutdown use it). */
  idle(): Promise<void> {
    if (!this.timer && !this.writing && !this.pendingOp()) return Promise.resolve();
    this.kick();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Reads the retention settings (messages per job, max age) and applies the message cap. */
  async refreshSettings(): Promise<void> {
    const settings = await loadSettings(this.env.DB);
    if (!this.run()) return;
    this.sql.exec(
      `UPDATE tasks_run SET max_messages = ?, max_age_days = ? WHERE id = 1`,
      settings.notifierMaxMessagesPerJob,
      settings.notifierMaxAgeDays,
    );
    if (this.applyCap(settings.notifierMaxMessagesPerJob)) {
      this.sql.exec(`UPDATE tasks_run SET kv_task_dirty = 1 WHERE id = 1`);
      this.kick();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Internals
  // ---------------------------------------------------------------------------------------------

  private createSchema(): void {
    for (const stmt of SCHEMA) this.sql.exec(stmt);
    this.upgradeSchema();
  }

  /**
   * Runs a first read of an entry point. The object's storage can be wiped under a live instance
   * (`deleteAll()` when its job is deleted): the tables are then created again instead of failing.
   */
  private withTables<T>(read: () => T): T {
    try {
      return read();
    } catch (e) {
      if (!/no such table/i.test(e instanceof Error ? e.message : String(e))) throw e;
      this.createSchema();
      return read();
    }
  }

  /** Adds columns introduced after an object first created its tables. */
  private upgradeSchema(): void {
    const columns = new Set(this.sql.exec(`SELECT * FROM tasks_run LIMIT 0`).columnNames);
    for (const [name, decl] of ADDED_COLUMNS) {
      if (!columns.has(name)) this.sql.exec(`ALTER TABLE tasks_run ADD COLUMN ${name} ${decl}`);
    }
  }

  private run(): RunRow | null {
    return this.withTables(() => this.sql.exec<RunRow>(`SELECT * FROM tasks_run WHERE id = 1`).toArray()[0] ?? null);
  }

  /** The run row plus its newest message's seq and level, in one statement (the hot path). */
  private runWithNewest(): RunWithNewest | null {
    return this.withTables(
      () =>
        this.sql
          .exec<RunWithNewest>(
            `SELECT r.*, m.seq AS newest_seq, m.level AS newest_level FROM tasks_run r
           LEFT JOIN (SELECT seq, level FROM tasks_messages ORDER BY seq DESC LIMIT 1) m ON 1 = 1 WHERE r.id = 1`,
          )
          .toArray()[0] ?? null,
    );
  }

  /** formatDate, memoised: every poll formats the same instants again. */
  private formatTime(time: number): string {
    let text = this.timeTexts.get(time);
    if (text === undefined) {
      if (this.timeTexts.size >= 4096) this.timeTexts.clear();
      text = formatDate(time, this.timeZone) ?? "";
      this.timeTexts.set(time, text);
    }
    return text;
  }

  private toNotification(row: RunRow, m: MessageRow): Notification {
    const n: Notification = {
      uid: m.uid,
      id: m.uid,
      level: m.level as NotificationLevel,
      category: row.job_type,
      time: this.formatTime(m.time),
      message: m.message,
      completed: m.completed === 1,
    };
    if (m.data !== null) {
      n.dataType = "PARAMETERS";
      const data = JSON.parse(m.data);
      if (data !== null) n.data = data;
    }
    return n;
  }

  /**
   * Appends one message (replacing a newest LOOP message), applies the cap; returns its time.
   * `parameters` marks the run's first message (`dataType: PARAMETERS`; `data` omitted when null).
   */
  private append(
    row: RunWithNewest,
    level: NotificationLevel,
    message: string,
    completed: boolean,
    now: number,
    parameters: { data: string | null } | null,
  ): number {
    const time = Math.max(Math.floor(now), row.last_time + 1);
    const uid = notificationUid(row.job_id, time);
    const data = parameters ? (parameters.data ?? "null") : null;
    const newest = row.newest_seq;
    const replaces = newest !== null && row.newest_level === "LOOP" && !parameters;
    if (replaces) {
      // The newest message stays the newest: overwrite it in place.
      this.sql.exec(
        `UPDATE tasks_messages SET time = ?, uid = ?, level = ?, message = ?, completed = ?, data = ? WHERE seq = ?`,
        time,
        uid,
        level,
        message,
        completed ? 1 : 0,
        data,
        newest,
      );
    } else {
      this.sql.exec(
        `INSERT INTO tasks_messages (time, uid, level, message, completed, data) VALUES (?, ?, ?, ?, ?, ?)`,
        time,
        uid,
        level,
        message,
        completed ? 1 : 0,
        data,
      );
    }
    this.sql.exec(`UPDATE tasks_run SET last_time = ?, kv_task_dirty = 1 WHERE id = 1`, time);
    // A replacement does not grow the list, so the cap cannot be newly exceeded.
    if (!replaces) this.applyCap(row.max_messages);
    return time;
  }

  /**
   * Drops the oldest messages beyond the cap, always keeping the run's first (so at least two are
   * kept: the first and the newest). True if any went.
   */
  private applyCap(maxMessages: number): boolean {
    const max = Math.max(2, maxMessages);
    const count = this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM tasks_messages`).one().n;
    if (count <= max) return false;
    this.sql.exec(
      `DELETE FROM tasks_messages WHERE seq IN (
         SELECT seq FROM tasks_messages WHERE seq > (SELECT MIN(seq) FROM tasks_messages) ORDER BY seq ASC LIMIT ?)`,
      count - max,
    );
    return true;
  }

  // --- KV write-through ------------------------------------------------------------------------

  /** The next KV operation to perform, or null when KV is up to date. */
  private pendingOp(): KvOp | null {
    const stale = this.withTables(() => this.sql.exec<{ key: string }>(`SELECT key FROM tasks_kv_deletes LIMIT 1`).toArray()[0]);
    if (stale) return { kind: "delete", key: stale.key, stale: true };
    const row = this.run();
    if (!row) return null;
    if (row.kv_task_dirty) return { kind: "task" };
    if (row.kv_summary_dirty) return { kind: "summary" };
    return null;
  }

  /** Starts the next KV write now, or arms a timer for when the job's write budget allows it. */
  private kick(): void {
    if (this.writing || this.timer) return;
    const op = this.pendingOp();
    if (!op) {
      this.resolveIdle();
      return;
    }
    const now = this.pacing.now();
    const row = this.run();
    // A last-write time in the future (another clock, skew) must not stall the write-through.
    const recorded = row?.kv_last_write ?? 0;
    const last = recorded > now ? now - this.minInterval : recorded;
    const progress = op.kind === "task" && row !== null && row.running === 1 && row.run_kv_writes > 0;
    const gap = this.failures
      ? Math.min(MAX_BACKOFF_MS, this.minInterval * 2 ** this.failures)
      : progress
        ? this.progressInterval
        : this.minInterval;
    const wait = last + gap - now;
    if (wait > 0) {
      this.timer = setTimeout(
        () => {
          this.timer = undefined;
          this.safeKick();
        },
        Math.min(wait, gap),
      );
      return;
    }
    this.writing = this.perform(op)
      .catch((e) => console.warn("Task notification write-through failed", e instanceof Error ? e.message : String(e)))
      .finally(() => {
        this.writing = undefined;
        this.safeKick();
      });
  }

  /** A run started, ended or was cleared: the pacing may allow an earlier write than the armed timer. */
  private rekick(): void {
    if (this.timer && !this.writing) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.kick();
  }

  /** kick() from a timer or a finished write: an error there has nobody to report to. */
  private safeKick(): void {
    try {
      this.kick();
    } catch (e) {
      console.warn("Task notification write-through stalled", e instanceof Error ? e.message : String(e));
      this.resolveIdle();
    }
  }

  private resolveIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** One KV operation. State is read and the dirty flag cleared synchronously, so later changes re-dirty it. */
  private async perform(op: KvOp): Promise<void> {
    const startedAt = this.pacing.now();
    const row = this.run();
    let write: () => Promise<void>;
    let undo: () => void;
    let done: () => void = () => {};
    if (op.kind === "delete") {
      this.sql.exec(`DELETE FROM tasks_kv_deletes WHERE key = ?`, op.key);
      write = () => this.kv.delete(op.key);
      undo = () => this.sql.exec(`INSERT OR IGNORE INTO tasks_kv_deletes (key) VALUES (?)`, op.key);
    } else if (!row) {
      return;
    } else if (op.kind === "task") {
      const key = taskKey(row.job_type, row.job_id);
      const writes = row.run_kv_writes + 1;
      this.sql.exec(`UPDATE tasks_run SET kv_task_dirty = 0 WHERE id = 1`);
      const snap = this.snapshot();
      if (!snap || snap.notifications.length === 0) {
        write = () => this.kv.delete(key);
        done = () => this.sql.exec(`UPDATE tasks_run SET kv_task_written = 0 WHERE id = 1`);
      } else {
        const list = snap.notifications;
        const value = JSON.stringify(list);
        const metadata = taskMetadata(list, this.newestTime(), snap.userUid, writes);
        write = () => this.kv.put(key, value, { metadata, expirationTtl: kvTtlSeconds(row.max_age_days) });
        done = () => this.sql.exec(`UPDATE tasks_run SET kv_task_written = 1 WHERE id = 1`);
      }
      undo = () => this.sql.exec(`UPDATE tasks_run SET kv_task_dirty = 1 WHERE id = 1`);
    } else {
      const key = summaryKey(row.job_type, row.job_id);
      this.sql.exec(`UPDATE tasks_run SET kv_summary_dirty = 0 WHERE id = 1`);
      if (row.summary === null) {
        write = () => this.kv.delete(key);
        done = () => this.sql.exec(`UPDATE tasks_run SET kv_summary_written = 0 WHERE id = 1`);
      } else {
        const metadata: SummaryKeyMetadata = { t: row.summary_time ?? row.last_time, w: row.run_kv_writes + 1 };
        if (row.user_uid) metadata.u = row.user_uid;
        const value = row.summary;
        write = () => this.kv.put(key, value, { metadata, expirationTtl: kvTtlSeconds(row.max_age_days) });
        done = () => this.sql.exec(`UPDATE tasks_run SET kv_summary_written = 1 WHERE id = 1`);
      }
      undo = () => this.sql.exec(`UPDATE tasks_run SET kv_summary_dirty = 1 WHERE id = 1`);
    }
    this.sql.exec(
      `UPDATE tasks_run SET kv_last_write = ?1, kv_run_first_write = COALESCE(kv_run_first_write, ?1),
         run_kv_writes = run_kv_writes + 1, total_kv_writes = total_kv_writes + 1 WHERE id = 1`,
      startedAt,
    );
    try {
      await write();
      this.failures = 0;
      done();
    } catch (e) {
      this.failures++;
      undo();
      console.warn("Task notification KV write failed", e instanceof Error ? e.message : String(e));
    }
  }

  /** Epoch ms of the newest message (the stored value, not the formatted one). */
  private newestTime(): number {
    return this.sql.exec<{ t: number | null }>(`SELECT MAX(time) AS t FROM tasks_messages`).one().t ?? 0;
  }
}
