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
 * - Run lifecycle events (run-events.ts): a run's start and end (once recorded in D1), a lost or
 *   recovered run and skipped occurrences go, through an outbox in the object's storage, to the
 *   listeners registered at the Worker's entry (hooks.ts), at least once. The engine knows listeners
 *   and start guards by their interfaces only: a queue continues through a listener, and a queue's
 *   head waits through a start guard while its previous queue run goes on (like a busy type).
 * - Triggers: CRON, FIXED_DELAY, ONCE_ASAP (the schedule), MANUAL (`execute`), QUEUE (`execute` from
 *   the previous queue member), RECOVERY (an occurrence found overdue by the reconcile's sync).
 * - Every time comes from `clock.now()`.
 *
 * Layers: engine-state.ts (types, timings) → engine-base.ts (storage, alarm) → run-lifecycle.ts
 * (start to end, executor steps) → lost-runs.ts → this file (entry points, the alarm pass, start).
 */
import { clock } from "../http/clock";
import { logEvent } from "../http/log";
import { hasIndependentRuns } from "../jobs/registry";
import type { Settings } from "../settings/settings";
import type { NotificationSink } from "../tasks/types";
import {
  BUSY_RETRY_MS,
  ERROR_RETRY_MS,
  notifierLimits,
  readParameters,
  safeSink,
  type EngineSnapshot,
  type ExecuteResult,
  type RunTrigger,
} from "./engine-state";
import { startGuards } from "./hooks";
import { LostRunRecovery } from "./lost-runs";
import { RECONCILE_GRACE_MS } from "./reconcile";
import type { DueOccurrence } from "./schedule";
import { tryStartRun, type JobRow, type StartResult } from "./store";

export {
  BUSY_RETRY_MS,
  END_RECORD_TIMEOUT_MS,
  ERROR_RETRY_MS,
  HEARTBEAT_MS,
  LOST_RUN_MESSAGE,
  PREWARM_MIN_LEAD_MS,
  PREWARM_MS,
  cancellableSleep,
  setEndRecordTimeoutMs,
  setHeartbeatMs,
  setPrewarmMs,
  type EngineSnapshot,
  type EngineState,
  type ExecuteResult,
} from "./engine-state";

export interface SyncOptions {
  /** The job's type was freed: a run blocked by it may retry now. */
  typeFreed?: boolean;
  /** The safety net (reconcile) asks: an overdue occurrence starts as RECOVERY. */
  recovery?: boolean;
}

export class JobEngine extends LostRunRecovery {
  constructor(ctx: DurableObjectState, env: Env, sink: NotificationSink) {
    super(ctx, env, sink);
    // An executor run between two steps goes on in this instance.
    const marker = this.state.running;
    if (marker?.executor && !marker.ended && this.cache) {
      const started: StartResult = { outcome: "started", runRowId: marker.runRowId };
      this.openLive(this.cache.row, this.cache.settings, marker, Promise.resolve(started), this.progress() ?? undefined).detached = true;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Entry points (RPC and alarm)

  /**
   * Re-reads the D1 row and arms or disarms the alarm. `typeFreed`: a blocked run may retry now.
   * `recovery`: the safety net (reconcile) found the object out of step; an occurrence overdue by
   * RECONCILE_GRACE_MS or more starts as a RECOVERY run.
   */
  async sync(uid: string, opts: SyncOptions = {}): Promise<void> {
    return this.contact(uid, () => this.syncPass(uid, opts));
  }

  /** A contact: run events due again go out first, and the alarm covers what is still undelivered. */
  private async contact<T>(uid: string, pass: () => Promise<T>): Promise<T> {
    this.bind(uid);
    this.events.retryDue();
    try {
      return await pass();
    } finally {
      await this.settleEvents();
    }
  }

  private async syncPass(uid: string, opts: SyncOptions): Promise<void> {
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
    if (opts.recovery) this.noteRecovery(row, settings);
    await this.arm(row, settings);
  }

  /** The occurrence due now that the reconcile found without its alarm having run it. */
  private noteRecovery(row: JobRow, settings: Settings): void {
    const now = clock.now();
    const due = this.nextOccurrence(row, settings, now);
    if (!due || this.state.pendingExecute || due.scheduledAt > now - RECONCILE_GRACE_MS) return;
    this.state.recoveryOf = due.scheduledAt;
    this.save();
  }

  async alarm(): Promise<void> {
    return this.serial(async () => {
      this.events.retryDue();
      try {
        if (this.state.uid) await this.alarmPass(); // (never bound: nothing to run)
      } catch (e) {
        logEvent("error", "job.alarm_failed", { jobId: this.state.uid, error: e });
        await this.ctx.storage.setAlarm(clock.now() + ERROR_RETRY_MS);
      } finally {
        await this.settleEvents();
      }
    });
  }

  /**
   * `POST /api/jobConfigurations/{id}/execute`: starts the job now (through the alarm). `via` QUEUE:
   * the previous member of the job's queue asks (the run's trigger is QUEUE, not MANUAL).
   */
  async executeNow(uid: string, by: string | null, via?: "QUEUE"): Promise<ExecuteResult> {
    return this.contact(uid, () => this.executePass(uid, by, via));
  }

  private async executePass(uid: string, by: string | null, via: "QUEUE" | undefined): Promise<ExecuteResult> {
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
      limits: notifierLimits(fresh.settings),
    });
    this.state.pendingExecute = { at: now, by, announced: true, ...(via ? { via } : {}) };
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
    return { ...this.state, live: this.live !== undefined, detached: this.live?.detached === true, undeliveredEvents: this.events.size() };
  }

  protected async alarmPass(): Promise<void> {
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

  protected async start(row: JobRow, settings: Settings, due: DueOccurrence): Promise<void> {
    const manual = this.state.pendingExecute !== undefined;
    const trigger: RunTrigger = manual
      ? this.state.pendingExecute?.via === "QUEUE"
        ? "QUEUE"
        : "MANUAL"
      : this.state.recoveryOf === due.scheduledAt
        ? "RECOVERY"
        : due.trigger;
    const startedAt = clock.now();
    const independent = hasIndependentRuns(row.job_type);
    const executedBy = row.executed_by ?? null;
    const triggeredBy = manual ? (this.state.pendingExecute!.by ?? null) : null;
    const announced = manual && this.state.pendingExecute!.announced === true;
    const consume = () => {
      if (manual) delete this.state.pendingExecute;
      else {
        this.state.lastScheduled = Math.max(this.state.lastScheduled ?? 0, due.scheduledAt);
        if (this.state.recoveryOf !== undefined && this.state.recoveryOf <= due.scheduledAt) delete this.state.recoveryOf;
      }
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

    if (!(await this.mayStart(row, trigger))) {
      // A start guard holds it (e.g. a queue's head while the queue's previous run goes on: a queue
      // never overlaps itself, as DHIS2 never overlaps a job's runs). It waits like a busy type.
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

  /** Whether every start guard registered at the entry lets the job start now. */
  private async mayStart(row: JobRow, trigger: RunTrigger): Promise<boolean> {
    const guards = startGuards();
    if (guards.length === 0) return true;
    const job = { jobId: row.uid, jobType: row.job_type, queueName: row.queue_name, queuePosition: row.queue_position, trigger };
    for (const guard of guards) {
      const answer = guard.mayStart(job, this.env);
      if (!(typeof answer === "boolean" ? answer : await answer)) return false;
    }
    return true;
  }
}
