/**
 * The logic of one job's Durable Object (the class in job-object.ts only delegates here).
 *
 * - The object's alarm is set to the job's next due instant, computed by the pure schedule functions
 *   from the D1 row (the source of truth), re-read on every sync and every alarm.
 * - The object keeps a copy of its row and the settings in its storage (refreshed by every sync and
 *   every run's end, in the same D1 round trips), so an alarm decides without reading D1 first, even
 *   after the object was evicted. Every D1 write stays conditional on the row version of the copy.
 * - A due occurrence of a DHIS2 type starts through one D1 transaction (`tryStartRun`): the job must
 *   be enabled, not RUNNING, unchanged since the copy was taken, no other job of its type may be
 *   RUNNING, and the occurrence's history row is claimed by its UNIQUE (job, occurrence) key, so a
 *   duplicated or retried alarm never starts it twice.
 * - Types whose runs are independent (TEST) need no cross-job check: the occurrence is claimed in the
 *   object's own storage (strongly consistent; the object is the job's only runner) and the run starts
 *   at once, while the same D1 transaction records it. Should D1 refuse (the job changed, was
 *   disabled or deleted a moment ago), the run is cancelled at its first check and not recorded.
 * - An in-worker handler runs inside the alarm handler; a heartbeat refreshes `lastAlive` every 10 s;
 *   the end of the run records the outcome (`finishRun`) and arms the next alarm.
 * - A type that runs on the external executor never holds an alarm pass for long (an alarm has a
 *   15-minute wall-time limit): the pass delivers the start and returns; the run's cursor is kept
 *   with the run marker, and the run is stepped by its alarm (at least every 10 s, refreshing
 *   `lastAlive`) and by the executor's callbacks (`executorEvent`), in this or any later instance of
 *   the object, until the executor completes it, it is cancelled, or the executor falls silent.
 * - A run marker is persisted in the object's storage while a run is in progress, and until its end
 *   is recorded in D1 (with the outcome, once the run ended). An object that finds the marker without
 *   a live run records the kept outcome, or, when the run died with the previous instance, marks the
 *   run FAILED; either way the job is rescheduled at once.
 * - A queued job's end continues its queue (`onQueueMemberFinished`); a queue's head does not start a
 *   new queue run while the previous one is still going (it waits like a busy type).
 * - Every time comes from `clock.now()`.
 */
import { abandonExecutorRun, beginExecutorRun, stepExecutorRun, type ExecutorRunCursor, type ExecutorStep } from "../executor/handler";
import { clock } from "../http/clock";
import { JobCancelledError, JobRunError, type JobRunContext } from "../jobs/contract";
import { getJobType, hasIndependentRuns } from "../jobs/registry";
import { onQueueMemberFinished, queueBusy } from "../queues/runs";
import { defaultSettings, type Settings } from "../settings/settings";
import type { NotificationSink } from "../tasks/types";
import { inWorkerHandler } from "./handlers";
import { maintenanceFor } from "./reconcile";
import { ProgressTracker, type ProcessNode } from "./progress";
import { configFromRow, isRunOnce, nextDue, type DueOccurrence } from "./schedule";
import { jobObject } from "./sync";
import {
  failLostRun,
  finishRun,
  readJobAndSettings,
  recordSkipped,
  scheduleMarkStatement,
  deleteScheduleMark,
  tryStartRun,
  waitingJobsOfType,
  heartbeat,
  type JobRow,
  type ScheduleMark,
  type StartResult,
} from "./store";
import { serverTimeZone } from "../http/dates";

/** Heartbeat period while a run is in progress (DHIS2: at most every 10 s). */
export const HEARTBEAT_MS = 10_000;
/** How soon a run blocked by a busy job type tries again (it is also woken when the type frees). */
export const BUSY_RETRY_MS = 2_000;
/** Back-off after an unexpected error in the alarm handler (we re-arm instead of throwing). */
export const ERROR_RETRY_MS = 5_000;

/**
 * An alarm further away than PREWARM_MIN_LEAD_MS first fires PREWARM_MS early: an idle object may
 * have been evicted, and loading it again is the slowest part of a start when many jobs are due at
 * once, so it wakes a few seconds early (no D1 access: its copy of the row is in its storage) and sets
 * the exact alarm. 0 disables it (the tests pin exact alarm instants).
 */
export let PREWARM_MS = 5000;
export const PREWARM_MIN_LEAD_MS = 10_000;
export function setPrewarmMs(ms: number): void {
  PREWARM_MS = ms;
}

export const LOST_RUN_MESSAGE = "Job run was lost: its worker stopped before the run finished";

export type Trigger = "CRON" | "FIXED_DELAY" | "ONCE_ASAP" | "MANUAL";

interface RunningMarker {
  runId: string;
  runRowId: number;
  scheduledAt: number;
  trigger: Trigger;
  startedAt: number;
  executedBy: string | null;
  /** Who the run's notifications name: who executed it, else the job's owner. */
  userUid?: string;
  /** The run was cancelled (by a user, or null: a revert or delete). */
  cancelled?: { by: string | null };
  /** An executor run between two steps: where it stands. */
  executor?: ExecutorRunCursor;
  /** The run ended but recording its end in D1 failed: what to record (the retry does it). */
  ended?: { status: RunStatus; at: number; errorCodes: string | null; error: string | null };
}

type RunStatus = "COMPLETED" | "FAILED" | "STOPPED";

export interface EngineState {
  uid?: string;
  /** Whether the job was enabled the last time the object read it (to detect re-enabling). */
  enabled?: boolean;
  /** Creation or last enabling: the schedule starts here. */
  anchor?: number;
  /** The last occurrence that ran, was claimed, or was skipped. */
  lastScheduled?: number;
  running?: RunningMarker;
  /** A pending `execute` (starts at once). */
  pendingExecute?: { at: number; by: string | null; announced?: boolean };
  /** A run blocked by a busy job type does not retry before this instant. */
  blockedUntil?: number;
  /** What was last written to `job_schedule`. */
  mark?: ScheduleMark;
  /** The object's job was deleted. */
  deleted?: boolean;
}

interface LiveRun {
  row: JobRow;
  settings: Settings;
  marker: RunningMarker;
  abort: AbortController;
  tracker: ProgressTracker;
  ctx: JobRunContext;
  /** D1's answer to the start (independent types record it while the run starts). */
  recording: Promise<StartResult>;
  refused: boolean;
  /** An executor run between two steps (no alarm pass is working on it). */
  detached: boolean;
  /** A step is in progress. */
  stepping: boolean;
  /** A callback arrived that no step has looked at yet. */
  wakeQueued: boolean;
  /** When the job's heartbeat was last written by a step. */
  lastBeat: number;
}

interface RunOutcome {
  status: RunStatus;
  message: string;
  error: string | null;
  errorCodes: string | null;
  summary?: unknown;
}

type StepResult = { done: true; outcome: RunOutcome } | { done: false; cursor: ExecutorRunCursor; wakeAt: number };

interface Cached {
  row: JobRow;
  settings: Settings;
}

export type EngineSnapshot = EngineState & { live: boolean; detached: boolean };

export type ExecuteResult = "started" | "not_found" | "running" | "disabled";

export class JobEngine {
  private state: EngineState;
  private live: LiveRun | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly sql: SqlStorage;
  /** The row and settings as last read (sync, run end); null after a delete. */
  private cache: Cached | undefined;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Env,
    private readonly sink: NotificationSink,
  ) {
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS sched_state (k TEXT PRIMARY KEY, v TEXT NOT NULL)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS sched_claims (occurrence INTEGER PRIMARY KEY, claimed_at INTEGER NOT NULL)`);
    const row = this.sql.exec<{ v: string }>(`SELECT v FROM sched_state WHERE k = 'state'`).toArray()[0];
    this.state = row ? (JSON.parse(row.v) as EngineState) : {};
    const copy = this.sql.exec<{ v: string }>(`SELECT v FROM sched_state WHERE k = 'copy'`).toArray()[0];
    if (copy) this.cache = JSON.parse(copy.v) as Cached;
    // An executor run between two steps goes on in this instance.
    const marker = this.state.running;
    if (marker?.executor && !marker.ended && this.cache) {
      const started: StartResult = { outcome: "started", runRowId: marker.runRowId };
      this.openLive(this.cache.row, this.cache.settings, marker, Promise.resolve(started), this.progress() ?? undefined).detached = true;
    }
  }

  private get timeZone(): string {
    return serverTimeZone(this.env);
  }

  private save(): void {
    this.sql.exec(`INSERT OR REPLACE INTO sched_state (k, v) VALUES ('state', ?)`, JSON.stringify(this.state));
  }

  private saveProgress(process: ProcessNode): void {
    this.sql.exec(`INSERT OR REPLACE INTO sched_state (k, v) VALUES ('progress', ?)`, JSON.stringify(process));
  }

  /** The object's copy of its row and the settings, kept in its storage (it survives eviction). */
  private setCopy(copy: Cached | undefined): void {
    this.cache = copy;
    if (copy) this.sql.exec(`INSERT OR REPLACE INTO sched_state (k, v) VALUES ('copy', ?)`, JSON.stringify(copy));
    else this.sql.exec(`DELETE FROM sched_state WHERE k = 'copy'`);
  }

  private async read(uid: string): Promise<Cached | null> {
    const { row, settings } = await readJobAndSettings(this.env.DB, uid);
    this.setCopy(row ? { row, settings } : undefined);
    return this.cache ?? null;
  }

  /** Serialises alarm passes (a test's manual alarm may overlap a real one). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => {});
    return next;
  }

  // -------------------------------------------------------------------------------------------
  // Entry points (RPC and alarm)

  /** Re-reads the D1 row and arms or disarms the alarm. `typeFreed`: a blocked run may retry now. */
  async sync(uid: string, opts: { typeFreed?: boolean } = {}): Promise<void> {
    this.bind(uid);
    if (opts.typeFreed && this.state.blockedUntil !== undefined) {
      delete this.state.blockedUntil;
      this.save();
    }
    await this.recoverLostRun();
    const fresh = await this.read(uid);
    if (!fresh) return this.onDeleted();
    const { row, settings } = fresh;
    this.observe(row);
    if (this.live) {
      // A run is in progress: its end arms the next alarm. A revert (the row no longer shows this
      // run as RUNNING) stops the zombie run.
      // (Only once the start is recorded: an independent run is recorded while it starts.)
      const m = this.live.marker;
      if (m.runRowId > 0 && (row.job_status !== "RUNNING" || row.last_executed !== m.startedAt)) await this.stopLive(this.live, null);
      // An executor run between steps always has its alarm (reconcile's syncs repair a lost one).
      else if (this.live.detached && (await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(clock.now());
      return;
    }
    await this.arm(row, settings);
  }

  async alarm(): Promise<void> {
    return this.serial(async () => {
      if (!this.state.uid) return; // never bound: nothing to run
      try {
        await this.alarmPass();
      } catch (e) {
        console.error(`job ${this.state.uid}: alarm failed`, e);
        await this.ctx.storage.setAlarm(clock.now() + ERROR_RETRY_MS);
      }
    });
  }

  /** `POST /api/jobConfigurations/{id}/execute`: starts the job now (through the alarm). */
  async executeNow(uid: string, by: string | null): Promise<ExecuteResult> {
    this.bind(uid);
    await this.recoverLostRun();
    const fresh = await this.read(uid);
    if (!fresh) return "not_found";
    const row = fresh.row;
    this.observe(row);
    if (this.live || row.job_status === "RUNNING" || this.state.pendingExecute) return "running";
    if (row.enabled !== 1) return "disabled";
    const now = clock.now();
    // The run's first notification is written now, in this object's storage, so a client polling
    // right after `execute` sees its run (and not the previous run's list) on the very first poll.
    safeSink(this.sink).runStarted({
      jobId: row.uid,
      jobType: row.job_type,
      parameters: readParameters(row),
      userUid: by ?? row.executed_by ?? undefined,
      now,
    });
    this.state.pendingExecute = { at: now, by, announced: true };
    delete this.state.blockedUntil;
    this.save();
    await this.ctx.storage.setAlarm(now);
    return "started";
  }

  /** Cooperative cancel: the run stops at its next check and ends STOPPED; a pending execute is dropped. */
  async cancel(uid: string, by: string | null): Promise<{ cancelled: boolean; executingUser: string | null }> {
    this.bind(uid);
    let cancelled = false;
    if (this.live) {
      await this.stopLive(this.live, by);
      cancelled = true;
    }
    if (this.state.pendingExecute) {
      if (this.state.pendingExecute.announced)
        safeSink(this.sink).runFinished({ outcome: "STOPPED", message: "Job cancelled before it started", now: clock.now() });
      delete this.state.pendingExecute;
      this.save();
      cancelled = true;
    }
    return { cancelled, executingUser: this.live?.marker.executedBy ?? null };
  }

  /** Who runs the current run (for cancel's permission check), or null. */
  runningAs(): { running: boolean; executedBy: string | null } {
    return { running: this.live !== undefined, executedBy: this.live?.marker.executedBy ?? null };
  }

  /** The progress tree of the current or last run. */
  progress(): ProcessNode | null {
    if (this.live) return this.live.tracker.process;
    const row = this.sql.exec<{ v: string }>(`SELECT v FROM sched_state WHERE k = 'progress'`).toArray()[0];
    return row ? (JSON.parse(row.v) as ProcessNode) : null;
  }

  /**
   * Waits until no alarm pass is working (tests): an in-worker run has ended; an executor run has
   * ended or waits for its next step.
   */
  async idle(): Promise<void> {
    let seen: Promise<unknown>;
    do {
      seen = this.chain;
      await seen;
    } while (seen !== this.chain);
  }

  /**
   * A callback for an executor run arrived: the run's next step, now. While its start or a step is in
   * progress (a cancel's STOPPED answer comes back during the step that forwards the cancel), that
   * part arms the next step at once instead, so the callback never waits for the step that caused it.
   * False: no such run is here.
   */
  async executorEvent(runId: string): Promise<boolean> {
    const live = this.live;
    if (!live || live.marker.runId !== runId) return false;
    const busy = !live.detached || live.stepping || live.wakeQueued;
    live.wakeQueued = true;
    if (!busy) await this.alarm();
    return true;
  }

  /** Debug/test view of the object's state. */
  snapshot(): EngineSnapshot {
    return { ...this.state, live: this.live !== undefined, detached: this.live?.detached === true };
  }

  // -------------------------------------------------------------------------------------------

  private bind(uid: string): void {
    if (this.state.uid !== uid) {
      this.state = { uid };
      this.save();
      this.setCopy(undefined);
    }
  }

  /** Tracks enable transitions: a (re-)enabled job's schedule starts at the enabling instant. */
  private observe(row: JobRow): void {
    const enabled = row.enabled === 1;
    let changed = false;
    if (this.state.deleted) {
      delete this.state.deleted;
      changed = true;
    }
    if (this.state.anchor === undefined) {
      this.state.anchor = row.created;
      changed = true;
    } else if (enabled && this.state.enabled === false) {
      this.state.anchor = Math.max(row.created, clock.now());
      changed = true;
    }
    if (this.state.enabled !== enabled) {
      this.state.enabled = enabled;
      changed = true;
    }
    if (changed) this.save();
  }

  private async onDeleted(): Promise<void> {
    this.setCopy(undefined);
    const live = this.live;
    if (live?.detached) {
      // Nothing of the job is left to record the run on: the executor is told to stop.
      live.abort.abort();
      live.tracker.finish("STOPPED", "Job deleted");
      safeSink(this.sink).runFinished({ outcome: "STOPPED", message: "Job cancelled: the job was deleted", now: clock.now() });
      this.saveProgress(live.tracker.process);
      this.live = undefined;
      await abandonExecutorRun(live.ctx);
    } else if (live) live.abort.abort();
    await this.ctx.storage.deleteAlarm();
    if (!this.state.deleted || this.state.mark) {
      const uid = this.state.uid!;
      this.state = { uid, deleted: true };
      this.save();
      await deleteScheduleMark(this.env.DB, uid);
    }
  }

  /**
   * The run marker without a live run: the run ended but recording its end failed (record the kept
   * outcome now), or it died with an earlier instance of this object (FAILED).
   */
  private async recoverLostRun(): Promise<void> {
    const marker = this.state.running;
    if (!marker || this.live) return;
    const uid = this.state.uid!;
    const ended = marker.ended;
    if (ended) {
      const result = await finishRun(this.env.DB, {
        uid,
        startedAt: marker.startedAt,
        runRowId: marker.runRowId,
        now: ended.at,
        status: ended.status,
        errorCodes: ended.errorCodes,
        error: ended.error,
        keepRuns: (this.cache?.settings ?? defaultSettings()).jobsRunHistoryPerJob,
      });
      delete this.state.running;
      this.save();
      if (result.row) {
        this.setCopy({ row: result.row, settings: result.settings });
        await this.afterRun(result.row, ended.status, ended.at);
      } else await this.read(uid);
      return;
    }
    const now = clock.now();
    const failed = await failLostRun(this.env.DB, uid, marker.startedAt, now, LOST_RUN_MESSAGE);
    const jobType = this.cache?.row.job_type;
    if (jobType && !inWorkerHandler(jobType)) {
      // The object died while delivering the start: the executor may have the run; it is told to stop.
      await abandonExecutorRun({
        env: this.env,
        runId: marker.runId,
        jobId: uid,
        jobType,
        parameters: {},
        notify: () => {},
        now: () => clock.now(),
      });
    }
    const stored = this.progress();
    if (stored && stored.status === "RUNNING") {
      stored.status = "ERROR";
      stored.error = LOST_RUN_MESSAGE;
      stored.completedTime = now;
      this.saveProgress(stored);
    }
    try {
      this.sink.runFinished({ outcome: "FAILED", message: LOST_RUN_MESSAGE, now });
    } catch {
      // notifications are best effort
    }
    delete this.state.running;
    this.save();
    const fresh = await this.read(uid);
    if (failed && fresh) await this.afterRun(fresh.row, "FAILED", now);
  }

  /** What to run next: a pending execute first, else the schedule. */
  private nextOccurrence(row: JobRow, settings: Settings, now: number): DueOccurrence | null {
    if (this.state.pendingExecute) {
      return { trigger: "ONCE_ASAP", scheduledAt: this.state.pendingExecute.at, runAt: now };
    }
    return nextDue(
      configFromRow(row),
      {
        jobStatus: row.job_status,
        lastExecuted: row.last_executed,
        lastFinished: row.last_finished,
        anchor: this.state.anchor ?? row.created,
        lastScheduled: this.state.lastScheduled ?? null,
      },
      now,
      this.timeZone,
      settings.jobsMaxCronDelayHours,
    );
  }

  /** Records skipped occurrences, then sets (or deletes) the alarm and the D1 bookkeeping. */
  private async arm(row: JobRow, settings: Settings, extraStatements: D1PreparedStatement[] = []): Promise<void> {
    const now = clock.now();
    const due = this.nextOccurrence(row, settings, now);
    if (due?.skipped) {
      await recordSkipped(
        this.env.DB,
        {
          uid: row.uid,
          jobType: row.job_type,
          scheduledAt: due.skipped.last,
          count: due.skipped.count,
          first: due.skipped.first,
          now,
          keepRuns: settings.jobsRunHistoryPerJob,
          executedBy: row.executed_by,
        },
        `${due.skipped.count} missed occurrence(s) from ${new Date(due.skipped.first).toISOString()} to ${new Date(due.skipped.last).toISOString()} ` +
          `skipped: older than the ${settings.jobsMaxCronDelayHours} h window`,
      );
      this.state.lastScheduled = Math.max(this.state.lastScheduled ?? 0, due.skipped.last);
      this.save();
    }
    const alarmAt = this.alarmFor(due);
    if (alarmAt !== null)
      await this.ctx.storage.setAlarm(PREWARM_MS > 0 && alarmAt - now > PREWARM_MIN_LEAD_MS ? alarmAt - PREWARM_MS : alarmAt);
    else await this.ctx.storage.deleteAlarm();
    await this.writeMark(row, alarmAt, now, extraStatements);
  }

  private alarmFor(due: DueOccurrence | null): number | null {
    if (!due) return null;
    return this.state.blockedUntil !== undefined ? Math.max(due.runAt, this.state.blockedUntil) : due.runAt;
  }

  /** The bookkeeping row `arm` would write for this (predicted) row, if it differs from the last. */
  private plan(row: JobRow, settings: Settings, now: number): { mark: ScheduleMark; markStatement: D1PreparedStatement | null } {
    const due = this.nextOccurrence(row, settings, now);
    const mark: ScheduleMark = { version: row.version, lastUpdated: row.last_updated, alarmAt: due?.skipped ? null : this.alarmFor(due) };
    const prev = this.state.mark;
    const same = prev && prev.version === mark.version && prev.lastUpdated === mark.lastUpdated && prev.alarmAt === mark.alarmAt;
    return { mark, markStatement: same ? null : scheduleMarkStatement(this.env.DB, row.uid, mark, now) };
  }

  private async writeMark(row: JobRow, alarmAt: number | null, now: number, extra: D1PreparedStatement[]): Promise<void> {
    const mark: ScheduleMark = { version: row.version, lastUpdated: row.last_updated, alarmAt };
    const prev = this.state.mark;
    const same = prev && prev.version === mark.version && prev.lastUpdated === mark.lastUpdated && prev.alarmAt === mark.alarmAt;
    const statements = [...extra];
    if (!same) statements.push(scheduleMarkStatement(this.env.DB, row.uid, mark, now));
    if (statements.length) await this.env.DB.batch(statements);
    if (!same) {
      this.state.mark = mark;
      this.save();
    }
  }

  private async alarmPass(): Promise<void> {
    const uid = this.state.uid!;
    await this.recoverLostRun();
    if (this.live) {
      // An executor run waiting for its next step takes it; an in-worker run's end arms the next alarm.
      if (this.live.detached) await this.stepDetached(this.live);
      return;
    }
    const current = this.cache ?? (await this.read(uid));
    if (!current) return this.onDeleted();
    const { row, settings } = current;
    this.observe(row);
    const now = clock.now();
    const due = this.nextOccurrence(row, settings, now);
    if (!due || due.runAt > now || (this.state.blockedUntil !== undefined && this.state.blockedUntil > now && !this.state.pendingExecute)) {
      // Early (a prewarm), spurious, or nothing due: (re-)arm exactly from the copy.
      return this.arm(row, settings);
    }
    if (due.skipped) await this.arm(row, settings); // record the skip first; `due` stays valid
    await this.start(row, settings, due);
  }

  private async start(row: JobRow, settings: Settings, due: DueOccurrence): Promise<void> {
    const manual = this.state.pendingExecute !== undefined;
    const trigger: Trigger = manual ? "MANUAL" : (due.trigger as Trigger);
    const startedAt = clock.now();
    const independent = hasIndependentRuns(row.job_type);
    const executedBy = row.executed_by ?? null;
    const triggeredBy = manual ? (this.state.pendingExecute!.by ?? null) : null;
    const announced = manual && this.state.pendingExecute!.announced === true;
    const consume = () => {
      if (manual) delete this.state.pendingExecute;
      else this.state.lastScheduled = Math.max(this.state.lastScheduled ?? 0, due.scheduledAt);
    };
    const startInput = {
      uid: row.uid,
      jobType: row.job_type,
      now: startedAt,
      independent,
      trigger,
      scheduledAt: due.scheduledAt,
      executedBy,
      triggeredBy,
      guard: { version: row.version, lastUpdated: row.last_updated },
    };

    if (row.queue_name != null && row.queue_position === 0 && (await queueBusy(this.env.DB, row.queue_name))) {
      // The queue's previous run is still going: a queue never overlaps itself (as DHIS2 never
      // overlaps a job's runs). The head waits like a busy type, within the window.
      this.state.blockedUntil = startedAt + BUSY_RETRY_MS;
      this.save();
      return this.arm(row, settings);
    }

    if (independent) {
      // Claim the occurrence in the object's storage; the D1 record is written while the run starts.
      const claimed = this.sql.exec(
        `INSERT OR IGNORE INTO sched_claims (occurrence, claimed_at) VALUES (?, ?)`,
        due.scheduledAt,
        startedAt,
      ).rowsWritten;
      if (!claimed) {
        consume();
        this.save();
        return this.arm(row, settings);
      }
      if (due.scheduledAt % 16 === 0) {
        // Now and then: keep the newest claims only (older occurrences can never be due again).
        this.sql.exec(
          `DELETE FROM sched_claims WHERE occurrence < (SELECT MIN(occurrence) FROM (SELECT occurrence FROM sched_claims ORDER BY occurrence DESC LIMIT 64))`,
        );
      }
      const marker = this.begin(row, due, trigger, startedAt, executedBy, triggeredBy, -1);
      consume();
      this.save();
      const recorded = tryStartRun(this.env.DB, startInput);
      return this.execute(row, settings, marker, recorded, announced);
    }

    const result = await tryStartRun(this.env.DB, startInput);
    if (result.outcome === "duplicate") {
      // Another delivery of this alarm already ran this occurrence.
      consume();
      this.save();
      return this.arm(row, settings);
    }
    if (result.outcome === "blocked") {
      // The row changed since it was read, the job is RUNNING (a lost run not yet reset), or its
      // type is busy: re-read; if it is only the type, retry soon (the type's next finish wakes us).
      const fresh = await this.read(row.uid);
      if (!fresh) return this.onDeleted();
      this.observe(fresh.row);
      if (fresh.row.version === row.version && fresh.row.last_updated === row.last_updated) {
        this.state.blockedUntil = startedAt + BUSY_RETRY_MS;
        this.save();
      }
      return this.arm(fresh.row, fresh.settings);
    }
    const marker = this.begin(row, due, trigger, startedAt, executedBy, triggeredBy, result.runRowId);
    consume();
    this.save();
    await this.execute(row, settings, marker, Promise.resolve(result), announced);
  }

  private begin(
    row: JobRow,
    due: DueOccurrence,
    trigger: Trigger,
    startedAt: number,
    executedBy: string | null,
    triggeredBy: string | null,
    runRowId: number,
  ): RunningMarker {
    const marker: RunningMarker = {
      runId: `${row.uid}-${due.scheduledAt}`,
      runRowId,
      scheduledAt: due.scheduledAt,
      trigger,
      startedAt,
      executedBy,
    };
    const userUid = triggeredBy ?? executedBy;
    if (userUid) marker.userUid = userUid;
    this.state.running = marker;
    delete this.state.blockedUntil;
    return marker;
  }

  /**
   * The run's in-memory side: its cancel signal, progress tracker and handler context. Opened when a
   * run starts, or (`resumed`) for an executor run between two steps in a new instance of the object.
   */
  private openLive(row: JobRow, settings: Settings, marker: RunningMarker, recorded: Promise<StartResult>, resumed?: ProcessNode): LiveRun {
    const abort = new AbortController();
    if (marker.cancelled) abort.abort();
    const sink = safeSink(this.sink);
    const tracker = new ProgressTracker(
      sink,
      () => clock.now(),
      resumed ? { resume: resumed } : { jobId: row.uid, jobType: row.job_type, description: row.name, userId: marker.userUid },
    );
    const ctx: JobRunContext = {
      env: this.env,
      runId: marker.runId,
      jobId: row.uid,
      jobType: row.job_type,
      jobName: row.name,
      parameters: readParameters(row),
      user: marker.executedBy ? { uid: marker.executedBy } : undefined,
      scheduledAt: marker.scheduledAt,
      trigger: marker.trigger,
      progress: tracker,
      signal: abort.signal,
      isCancelled: () => abort.signal.aborted,
      throwIfCancelled: () => {
        if (abort.signal.aborted) throw new JobCancelledError();
      },
      clock,
      now: () => clock.now(),
      notify: (level, message) => sink.notify(level, message, clock.now()),
      sleep: (ms) => cancellableSleep(ms, abort.signal),
      maintenance: maintenanceFor(this.env),
    };
    const live: LiveRun = {
      row,
      settings,
      marker,
      abort,
      tracker,
      ctx,
      recording: recorded,
      refused: false,
      detached: false,
      stepping: false,
      wakeQueued: false,
      lastBeat: 0,
    };
    // D1 refused the start (independent types record it while the run starts): stop at once.
    live.recording = recorded.then(
      (r) => {
        if (r.outcome !== "started") {
          live.refused = true;
          abort.abort();
        } else marker.runRowId = r.runRowId;
        return r;
      },
      (e) => {
        live.refused = true;
        abort.abort();
        throw e;
      },
    );
    live.recording.catch(() => {}); // awaited (and logged) at the run's end; not unhandled meanwhile
    tracker.onChange = () => this.saveProgress(tracker.process);
    if (!resumed) this.saveProgress(tracker.process);
    this.live = live;
    return live;
  }

  /**
   * Runs a started occurrence. An in-worker handler runs to its end inside this alarm pass. A type
   * that runs on the executor only has its start delivered here; the run then waits between steps
   * (`detach`), with no alarm pass held open, however long the executor takes.
   */
  private async execute(
    row: JobRow,
    settings: Settings,
    marker: RunningMarker,
    recorded: Promise<StartResult>,
    /** `execute` already wrote the run's first notification. */
    announced = false,
  ): Promise<void> {
    const live = this.openLive(row, settings, marker, recorded);
    if (!announced)
      safeSink(this.sink).runStarted({
        jobId: row.uid,
        jobType: row.job_type,
        parameters: live.ctx.parameters,
        userUid: marker.userUid,
        now: marker.startedAt,
      });
    const beat = setInterval(() => {
      heartbeat(this.env.DB, row.uid, marker.startedAt, clock.now()).catch(() => {});
    }, HEARTBEAT_MS);
    const own = inWorkerHandler(row.job_type);
    let step: StepResult;
    try {
      step = await this.attempt(live, async () => {
        // The run is claimed and stamped; its work begins on the next turn of the event loop, so one
        // job's synchronous work never delays the start of the other jobs due at the same instant.
        await new Promise<void>((resolve) => setTimeout(resolve, 0));
        live.ctx.throwIfCancelled();
        if (!own) return beginExecutorRun(live.ctx);
        return { done: true, result: (await own(live.ctx)) ?? {} };
      });
    } finally {
      clearInterval(beat);
    }
    await this.settle(live, step);
  }

  /** An executor run's next step (its alarm, or a callback's wake-up). */
  private async stepDetached(live: LiveRun): Promise<void> {
    const cursor = live.marker.executor!;
    live.wakeQueued = false;
    live.stepping = true;
    let step: StepResult;
    try {
      step = await this.attempt(live, () => stepExecutorRun(live.ctx, cursor));
    } finally {
      live.stepping = false;
    }
    await this.settle(live, step);
  }

  /** Runs one part of the run; a throw becomes the run's outcome (FAILED, or STOPPED after a cancel). */
  private async attempt(live: LiveRun, part: () => Promise<ExecutorStep>): Promise<StepResult> {
    const aborted = live.abort.signal;
    try {
      const step = await part();
      if (!step.done) return step;
      const { result } = step;
      if (aborted.aborted)
        return {
          done: true,
          outcome: { status: "STOPPED", message: "Job cancelled", error: null, errorCodes: null, summary: result.summary },
        };
      return {
        done: true,
        outcome: {
          status: "COMPLETED",
          message: result.message ?? "Job completed",
          error: null,
          errorCodes: null,
          summary: result.summary,
        },
      };
    } catch (e) {
      // What the run reported before it failed or stopped, if anything (the executor attaches it).
      const summary = (e as { summary?: unknown } | null)?.summary;
      if (aborted.aborted || e instanceof JobCancelledError) {
        return { done: true, outcome: { status: "STOPPED", message: "Job cancelled", error: null, errorCodes: null, summary } };
      }
      const error = e instanceof Error ? e.message : String(e);
      const errorCodes = e instanceof JobRunError && e.errorCodes.length ? e.errorCodes.join(" ") : null;
      return { done: true, outcome: { status: "FAILED", message: error || "Job failed", error, errorCodes, summary } };
    }
  }

  private async settle(live: LiveRun, step: StepResult): Promise<void> {
    if (step.done) return this.end(live, step.outcome);
    return this.detach(live, step.cursor, step.wakeAt);
  }

  /**
   * The executor run goes on without this alarm pass: its cursor is stored with the run marker, the
   * job's heartbeat refreshed, and the alarm set for the next step (a callback may wake it sooner).
   */
  private async detach(live: LiveRun, cursor: ExecutorRunCursor, wakeAt: number): Promise<void> {
    try {
      await live.recording;
    } catch {
      // not recorded: the abort makes the next step forward the cancel and end the run
    }
    live.marker.executor = cursor;
    live.detached = true;
    this.save();
    const now = clock.now();
    if (now - live.lastBeat >= HEARTBEAT_MS / 2) {
      live.lastBeat = now;
      await heartbeat(this.env.DB, live.row.uid, live.marker.startedAt, now).catch(() => {});
    }
    await this.ctx.storage.setAlarm(live.wakeQueued ? now : wakeAt);
  }

  /** Stops the run at its next check (cancel, revert); a waiting executor run is stepped at once. */
  private async stopLive(live: LiveRun, by: string | null): Promise<void> {
    if (!live.marker.cancelled) {
      live.marker.cancelled = { by };
      this.save();
    }
    live.abort.abort();
    if (live.detached) await this.ctx.storage.setAlarm(clock.now());
  }

  /** Records the run's outcome (notifications, progress, D1), then continues the queue and re-arms. */
  private async end(live: LiveRun, outcome: RunOutcome): Promise<void> {
    const { row, settings, marker, tracker } = live;
    const { status, message, errorCodes, summary } = outcome;
    const now = clock.now();
    tracker.finish(status, status === "COMPLETED" ? undefined : message);
    safeSink(this.sink).runFinished({ outcome: status, message, summary, now });
    try {
      await live.recording;
    } catch (e) {
      console.error(`job ${row.uid}: recording the start failed`, e);
    }
    if (live.refused) {
      // Never recorded in D1: nothing to finish there. Re-read and re-arm.
      delete this.state.running;
      this.save();
      this.saveProgress(tracker.process);
      this.live = undefined;
      const fresh = await this.read(row.uid);
      if (!fresh) return this.onDeleted();
      this.observe(fresh.row);
      return this.arm(fresh.row, fresh.settings);
    }

    // Predict the row after the finish, so the next alarm's bookkeeping joins the same round trip.
    const runOnce = isRunOnce({ cronExpression: row.cron_expression, delay: row.delay }) && !row.queue_name;
    const predicted: JobRow = {
      ...row,
      job_status: row.enabled === 1 && !runOnce ? "SCHEDULED" : "DISABLED",
      enabled: runOnce ? 0 : row.enabled,
      last_executed: marker.startedAt,
      last_finished: now,
      last_alive: null,
      last_executed_status: status,
      error_codes: errorCodes,
    };
    // The marker stays, with the outcome, until the end is recorded: should `finishRun` fail, the
    // retry alarm (or the next contact) records it at once (`recoverLostRun`).
    const cancelledBy = marker.cancelled?.by;
    marker.ended = {
      status,
      at: now,
      errorCodes,
      error: status === "STOPPED" ? (cancelledBy ? `Cancelled by ${cancelledBy}` : "Cancelled") : outcome.error,
    };
    delete marker.executor;
    this.save();
    const planned = this.plan(predicted, settings, now);
    let result: { row: JobRow | null; settings: Settings } | undefined;
    try {
      result = await finishRun(
        this.env.DB,
        {
          uid: row.uid,
          startedAt: marker.startedAt,
          runRowId: marker.runRowId,
          now,
          status,
          errorCodes,
          error: marker.ended.error,
          keepRuns: settings.jobsRunHistoryPerJob,
        },
        planned.markStatement ? [planned.markStatement] : [],
      );
      delete this.state.running;
      if (planned.markStatement) this.state.mark = planned.mark;
    } finally {
      this.save();
      this.saveProgress(tracker.process);
      this.live = undefined;
    }
    await this.afterRun(row, status, now);
    // Arm from the fresh row (deleted, disabled or changed during the run, or as predicted).
    const fresh = result.row ? { row: result.row, settings: result.settings } : await this.read(row.uid);
    if (!fresh) return this.onDeleted();
    this.setCopy(fresh);
    this.observe(fresh.row);
    await this.arm(fresh.row, fresh.settings);
  }

  /** After a run's end is recorded: the job's queue continues, and a waiting job of its type may start. */
  private async afterRun(row: JobRow, status: RunStatus, now: number): Promise<void> {
    if (row.queue_name != null) {
      await onQueueMemberFinished(this.env, row.uid, status, now).catch((e) =>
        console.error(`job ${row.uid}: queue continuation failed`, e),
      );
    }
    if (!independentType(row.job_type)) await this.wakeWaiters(row);
  }

  /**
   * DHIS2's types run one at a time: a finished run lets the oldest-created waiting job of the type
   * start now (DHIS2's order); the others keep their own retry (BUSY_RETRY_MS), so the woken one
   * normally wins the slot. (Not a guarantee: a younger job's retry may still come first.)
   */
  private async wakeWaiters(row: JobRow): Promise<void> {
    try {
      const uids = await waitingJobsOfType(this.env.DB, row.job_type, row.uid, clock.now() + BUSY_RETRY_MS);
      await Promise.all(
        uids.map((uid) => {
          return jobObject(this.env, uid)
            .sync(uid, { typeFreed: true })
            .catch(() => {});
        }),
      );
    } catch {
      // waiting jobs also retry on their own
    }
  }
}

function independentType(jobType: string): boolean {
  return hasIndependentRuns(jobType);
}

/** The job's parameters with the type's defaults filled in (the stored JSON if the type has none). */
function readParameters(row: JobRow): Record<string, unknown> {
  let raw: unknown;
  if (row.job_parameters) {
    try {
      raw = JSON.parse(row.job_parameters);
    } catch {
      raw = undefined;
    }
  }
  const def = getJobType(row.job_type)?.parameters;
  if (def) {
    try {
      return def.parse(raw).value;
    } catch {
      // fall through to the raw object
    }
  }
  return raw && typeof raw === "object" && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
}

/** Notifications must never break a run. */
function safeSink(sink: NotificationSink): NotificationSink {
  return {
    runStarted: (r) => {
      try {
        sink.runStarted(r);
      } catch (e) {
        console.error("notification sink failed", e);
      }
    },
    notify: (l, m, n) => {
      try {
        sink.notify(l, m, n);
      } catch (e) {
        console.error("notification sink failed", e);
      }
    },
    runFinished: (r) => {
      try {
        sink.runFinished(r);
      } catch (e) {
        console.error("notification sink failed", e);
      }
    },
  };
}

export function cancellableSleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}
