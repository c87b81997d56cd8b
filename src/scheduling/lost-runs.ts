/**
 * Lost-run recovery: a run marker in the object's storage without a live run. Either the run ended but
 * recording its end in D1 failed (the kept outcome is recorded now: RUN_RECOVERED), or the run died
 * with an earlier instance of the object (it is marked FAILED, E7012, and an executor that may hold it
 * is told to stop: RUN_LOST). Either way the job is rescheduled at once. Every alarm and contact calls
 * it first.
 */
import { abandonExecutorRun } from "../executor/handler";
import { clock } from "../http/clock";
import { defaultSettings } from "../settings/settings";
import { runEndedEvent, type RunEndFields } from "./engine-events";
import { LOST_RUN_MESSAGE, type RunningMarker } from "./engine-state";
import { inWorkerHandler } from "./handlers";
import { runItemErrors, type ProcessNode } from "./progress";
import { RunLifecycle } from "./run-lifecycle";
import type { RunEndedEvent } from "./run-events";
import { RUN_LOST_ERROR_CODE, failLostRun, type JobRow } from "./store";

export abstract class LostRunRecovery extends RunLifecycle {
  /**
   * The run marker without a live run: the run ended but recording its end failed (record the kept
   * outcome now), or it died with an earlier instance of this object (FAILED).
   */
  protected async recoverLostRun(): Promise<void> {
    const marker = this.state.running;
    if (!marker || this.live) return;
    const uid = this.state.uid!;
    const ended = marker.ended;
    if (ended) {
      const message = ended.message ?? ended.error ?? ended.status;
      const result = await this.recordEnd({
        uid,
        startedAt: marker.startedAt,
        runRowId: marker.runRowId,
        now: ended.at,
        status: ended.status,
        errorCodes: ended.errorCodes,
        error: ended.error,
        message,
        items: runItemErrors(this.progressOf(marker)),
        keepRuns: (this.cache?.settings ?? defaultSettings()).jobsRunHistoryPerJob,
      });
      delete this.state.running;
      this.save();
      let row = result.row;
      if (row) this.setCopy({ row, settings: result.settings });
      else row = (await this.read(uid))?.row ?? null;
      // D1 has this end now (recorded by this call, or by the earlier attempt whose answer was lost),
      // or the job is gone; otherwise the run was closed meanwhile by someone else (the stale-run
      // reset: FAILED, E7012), and the event says what D1 says.
      const ours = !row || (row.last_executed === marker.startedAt && row.last_finished === ended.at);
      const end: RunEndFields = { status: ended.status, finishedAt: ended.at, errorCodes: ended.errorCodes, message };
      const event = ours
        ? runEndedEvent("RUN_RECOVERED", uid, marker, end, row)
        : this.lostEvent(uid, marker, row?.last_finished ?? ended.at, row);
      await this.afterRun(event, result.row);
      return;
    }
    const now = clock.now();
    const failed = await failLostRun(this.env.DB, uid, marker.startedAt, now, LOST_RUN_MESSAGE, runItemErrors(this.progressOf(marker)));
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
    await this.afterRun(this.lostEvent(uid, marker, now, fresh?.row), failed && fresh ? fresh.row : null);
  }

  /** The stored progress tree, if it is this run's (a run that died before its tree was saved has none). */
  private progressOf(marker: RunningMarker): ProcessNode | null {
    const stored = this.progress();
    return stored && stored.startedTime >= marker.startedAt ? stored : null;
  }

  private lostEvent(uid: string, marker: RunningMarker, finishedAt: number, row: JobRow | null | undefined): RunEndedEvent {
    const end: RunEndFields = { status: "FAILED", finishedAt, errorCodes: RUN_LOST_ERROR_CODE, message: LOST_RUN_MESSAGE };
    return runEndedEvent("RUN_LOST", uid, marker, end, row);
  }
}
