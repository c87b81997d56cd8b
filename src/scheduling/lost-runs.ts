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
import { runEndedEvent } from "./engine-events";
import { LOST_RUN_MESSAGE } from "./engine-state";
import { inWorkerHandler } from "./handlers";
import { RunLifecycle } from "./run-lifecycle";
import { RUN_LOST_ERROR_CODE, failLostRun, finishRun } from "./store";

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
      if (result.row) this.setCopy({ row: result.row, settings: result.settings });
      else await this.read(uid);
      const message = ended.message ?? ended.error ?? ended.status;
      const event = runEndedEvent(
        "RUN_RECOVERED",
        uid,
        marker,
        { status: ended.status, finishedAt: ended.at, errorCodes: ended.errorCodes, message },
        this.cache?.row,
      );
      await this.afterRun(event, result.row);
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
    const event = runEndedEvent(
      "RUN_LOST",
      uid,
      marker,
      { status: "FAILED", finishedAt: now, errorCodes: RUN_LOST_ERROR_CODE, message: LOST_RUN_MESSAGE },
      fresh?.row,
    );
    await this.afterRun(event, failed && fresh ? fresh.row : null);
  }
}
