/**
 * A run's lifecycle in the job object: begin (the run marker), open (cancel signal, progress tracker,
 * handler context), execute (an in-worker handler to its end, or an executor run's start), the
 * executor run's later steps (`stepDetached`, `detach`: no alarm pass waits for the executor), stop
 * (cancel, revert), and end: the outcome recorded in D1, then what follows a run and the next alarm.
 * The start and the end are reported as run events (RUN_STARTED once the start is recorded in D1,
 * RUN_ENDED once the end is), to the listeners registered at the entry.
 */
import { beginExecutorRun, stepExecutorRun, type ExecutorRunCursor, type ExecutorStep } from "../executor/handler";
import { clock } from "../http/clock";
import { withDeadline } from "../http/deadline";
import { JobCancelledError, JobRunError, type JobRunContext } from "../jobs/contract";
import { logEvent } from "../http/log";
import type { Settings } from "../settings/settings";
import { EngineBase } from "./engine-base";
import {
  BUSY_RETRY_MS,
  END_RECORD_TIMEOUT_MS,
  ERROR_RETRY_MS,
  HEARTBEAT_MS,
  cancellableSleep,
  notifierLimits,
  independentType,
  readParameters,
  safeSink,
  type LiveRun,
  type RunOutcome,
  type RunTrigger,
  type RunningMarker,
  type StepResult,
} from "./engine-state";
import { runEndedEvent, runStartedEvent } from "./engine-events";
import { inWorkerHandler } from "./handlers";
import { ProgressTracker, runItemErrors, type ProcessNode } from "./progress";
import { maintenanceFor } from "./reconcile";
import type { RunEndedEvent } from "./run-events";
import { isRunOnce, type DueOccurrence } from "./schedule";
import { finishRun, heartbeat, waitingJobsOfType, type FinishInput, type JobRow, type StartResult } from "./store";
import { jobObject } from "./sync";

export abstract class RunLifecycle extends EngineBase {
  protected begin(
    row: JobRow,
    due: DueOccurrence,
    trigger: RunTrigger,
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
      jobType: row.job_type,
      jobName: row.name,
    };
    if (row.queue_name != null) marker.queue = row.queue_name;
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
  protected openLive(
    row: JobRow,
    settings: Settings,
    marker: RunningMarker,
    recorded: Promise<StartResult>,
    resumed?: ProcessNode,
  ): LiveRun {
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
  protected async execute(
    row: JobRow,
    settings: Settings,
    marker: RunningMarker,
    recorded: Promise<StartResult>,
    /** `execute` already wrote the run's first notification. */
    announced = false,
  ): Promise<void> {
    const live = this.openLive(row, settings, marker, recorded);
    // Reported once D1 has the start (independent types record it while the run begins).
    live.recording.then(
      (r) => {
        if (r.outcome === "started") this.events.emit(runStartedEvent(row.uid, marker, row));
      },
      () => {},
    );
    if (!announced)
      safeSink(this.sink).runStarted({
        jobId: row.uid,
        jobType: row.job_type,
        parameters: live.ctx.parameters,
        userUid: marker.userUid,
        now: marker.startedAt,
        limits: notifierLimits(settings),
      });
    // One heartbeat in flight at most, and none before D1 has the start (there is no RUNNING row to
    // refresh before): a slow D1 is never handed a pile of heartbeats of runs waiting for it.
    let beating = false;
    const beat = setInterval(() => {
      if (beating || marker.runRowId <= 0) return;
      beating = true;
      heartbeat(this.env.DB, row.uid, marker.startedAt, clock.now())
        .catch(() => {})
        .finally(() => {
          beating = false;
        });
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
  protected async stepDetached(live: LiveRun): Promise<void> {
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
  protected async attempt(live: LiveRun, part: () => Promise<ExecutorStep>): Promise<StepResult> {
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

  protected async settle(live: LiveRun, step: StepResult): Promise<void> {
    if (step.done) return this.end(live, step.outcome);
    return this.detach(live, step.cursor, step.wakeAt);
  }

  /**
   * The executor run goes on without this alarm pass: its cursor is stored with the run marker, the
   * job's heartbeat refreshed, and the alarm set for the next step (a callback may wake it sooner).
   */
  protected async detach(live: LiveRun, cursor: ExecutorRunCursor, wakeAt: number): Promise<void> {
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
  protected async stopLive(live: LiveRun, by: string | null): Promise<void> {
    if (!live.marker.cancelled) {
      live.marker.cancelled = { by };
      this.save();
    }
    live.abort.abort();
    if (live.detached) await this.ctx.storage.setAlarm(clock.now());
  }

  /** Records the run's outcome (notifications, progress, D1), reports it (RUN_ENDED), then re-arms. */
  protected async end(live: LiveRun, outcome: RunOutcome): Promise<void> {
    const { row, settings, marker, tracker } = live;
    const { status, message, errorCodes, summary } = outcome;
    const now = clock.now();
    tracker.finish(status, status === "COMPLETED" ? undefined : message);
    safeSink(this.sink).runFinished({ outcome: status, message, summary, now });
    try {
      await live.recording;
    } catch (e) {
      logEvent("error", "run.start_not_recorded", { jobId: row.uid, runId: marker.runId, error: e });
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
      message,
    };
    delete marker.executor;
    this.save();
    const planned = this.plan(predicted, settings, now);
    let result: { row: JobRow | null; settings: Settings } | undefined;
    try {
      result = await this.recordEnd(
        {
          uid: row.uid,
          startedAt: marker.startedAt,
          runRowId: marker.runRowId,
          now,
          status,
          errorCodes,
          error: marker.ended.error,
          message,
          items: runItemErrors(tracker.process),
          keepRuns: settings.jobsRunHistoryPerJob,
        },
        planned.markStatement ? [planned.markStatement] : [],
      );
      delete this.state.running;
      if (planned.markStatement) this.state.mark = planned.mark;
    } catch (e) {
      // D1 refused the end or did not answer in time: the end stays in the marker, and the retry
      // alarm records it (`recoverLostRun`); until then the job shows RUNNING with this run.
      logEvent("warn", "run.end_not_recorded", { jobId: row.uid, runId: marker.runId, status, retryInMs: ERROR_RETRY_MS, error: e });
      await this.ctx.storage.setAlarm(clock.now() + ERROR_RETRY_MS);
      return;
    } finally {
      this.save();
      this.saveProgress(tracker.process);
      this.live = undefined;
    }
    const ended = runEndedEvent("RUN_ENDED", row.uid, marker, { status, finishedAt: now, errorCodes, message }, row);
    await this.afterRun(ended, row);
    // Arm from the fresh row (deleted, disabled or changed during the run, or as predicted).
    const fresh = result.row ? { row: result.row, settings: result.settings } : await this.read(row.uid);
    if (!fresh) return this.onDeleted();
    this.setCopy(fresh);
    this.observe(fresh.row);
    await this.arm(fresh.row, fresh.settings);
  }

  /** `finishRun`, bounded by END_RECORD_TIMEOUT_MS: a D1 that does not answer in time counts as a refusal. */
  protected recordEnd(p: FinishInput, extra: D1PreparedStatement[] = []): Promise<{ row: JobRow | null; settings: Settings }> {
    const limit = END_RECORD_TIMEOUT_MS;
    return withDeadline(finishRun(this.env.DB, p, extra), limit, `D1 did not record the run's end within ${limit} ms`);
  }

  /**
   * After a run's end is recorded: its terminal event is delivered (awaited: what listeners start,
   * such as the next member of a queue, starts before this pass re-arms), then a waiting job of its
   * type may start (`row`: the job, when its run was recorded by this object).
   */
  protected async afterRun(ended: RunEndedEvent, row: JobRow | null): Promise<void> {
    await this.events.emit(ended);
    if (row && !independentType(row.job_type)) await this.wakeWaiters(row);
  }

  /**
   * DHIS2's types run one at a time: a finished run lets the oldest-created waiting job of the type
   * start now (DHIS2's order); the others keep their own retry (BUSY_RETRY_MS), so the woken one
   * normally wins the slot. (Not a guarantee: a younger job's retry may still come first.)
   */
  protected async wakeWaiters(row: JobRow): Promise<void> {
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
