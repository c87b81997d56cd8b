/**
 * The contract between the scheduler's engine (src/scheduling/, which runs jobs) and a job's
 * in-worker handler (src/jobs/handlers/, which does the work). The job module owns it, so handlers
 * never import the engine.
 *
 * A handler gets the run context: parameters, the user it runs as, a progress API (stages, items,
 * messages, forwarded to the job's task notifications), a cancel signal, the clock, and the
 * scheduler's maintenance work (`maintenance`, for HOUSEKEEPING). It returns an optional final
 * message and summary, throws to fail (`JobRunError` carries error codes), and ends STOPPED when it
 * stops because of a cancel (`JobCancelledError`, or any error after a cancel).
 */
import type { Clock } from "../http/clock";
import type { Settings } from "../settings/settings";
import type { JsonValue, NotificationLevel } from "../tasks/types";

/** How a run ended. */
export type RunStatus = "COMPLETED" | "FAILED" | "STOPPED";

/**
 * What started a run: its schedule (CRON, FIXED_DELAY, ONCE_ASAP: a run-once job due at once),
 * `execute` (MANUAL), the previous member of its queue (QUEUE), or the scheduler's safety net after
 * the job's alarm failed to fire (RECOVERY).
 */
export type RunTrigger = "CRON" | "FIXED_DELAY" | "ONCE_ASAP" | "MANUAL" | "QUEUE" | "RECOVERY";

/** DHIS2's JobProgress.FailurePolicy. */
export type FailurePolicy = "PARENT" | "FAIL" | "SKIP_STAGE" | "SKIP_ITEM" | "SKIP_ITEM_OUTLIER";

/** DHIS2-style progress reporting: a process made of stages made of items. */
export interface JobProgress {
  startingStage(description: string, totalItems?: number, onFailure?: FailurePolicy): void;
  completedStage(summary?: string): void;
  failedStage(error: string): void;
  startingItem(description: string): void;
  completedItem(summary?: string): void;
  failedItem(error: string): void;
  /** Free messages (task notifications). */
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /**
   * DHIS2's `addError(code, uid, type, args)`: the object `uid` (of type `type`, e.g.
   * `OrganisationUnit`) failed with the error `code` (e.g. `E4000`), `args` filling its message
   * template. Kept with the run (`GET /api/jobConfigurations/{id}/errors`), the same error once, at
   * most MAX_ITEM_ERRORS per run; it changes neither the run's outcome nor its notifications.
   * `message`: the text when the code is not one of the service's templates (an executor relays it).
   */
  addError(code: string, uid: string | null | undefined, type: string, args?: readonly string[], message?: string): void;
}

/** DHIS2's JobProgress.Error: one object that failed, as a run keeps it. */
export interface JobItemError {
  code: string;
  /** The object's UID ("" when it has none yet, as DHIS2 keeps it). */
  id: string;
  type: string;
  args: string[];
  /** The code's message with the arguments filled in. */
  message: string;
}

/** Item errors kept per run; more are counted, not kept. */
export const MAX_ITEM_ERRORS = 200;

/** What a successful run returns. */
export interface RunResult {
  /** The final message of a successful run. */
  message?: string;
  /** The run's summary (`/api/system/taskSummaries/{type}/{id}`). */
  summary?: JsonValue;
}

/** A run failure with DHIS2 error codes, to be recorded on the job (`errorCodes`). */
export class JobRunError extends Error {
  constructor(
    message: string,
    readonly errorCodes: string[] = [],
  ) {
    super(message);
    this.name = "JobRunError";
  }
}

/** A run that ended because it was cancelled (the scheduler records STOPPED). */
export class JobCancelledError extends Error {
  constructor(message = "Job cancelled") {
    super(message);
    this.name = "AbortError";
  }
}

/**
 * The scheduler's maintenance work, as HOUSEKEEPING runs it (implemented by src/scheduling/reconcile.ts).
 * `now` is the run's clock; lists are the UIDs concerned, numbers are counts.
 */
export interface Maintenance {
  /** RUNNING jobs whose heartbeat is stale: FAILED and rescheduled (`settings`: as already read). */
  resetStaleJobs(now: number, settings?: Settings): Promise<string[]>;
  /** SCHEDULED jobs that are not enabled show DISABLED. */
  markDisabledJobs(): Promise<number>;
  /** Finished run-once jobs older than `minutes` are deleted. */
  cleanupFinishedRunOnceJobs(now: number, minutes: number): Promise<string[]>;
  /** Job objects out of step with D1 are synced again. */
  reconcileJobObjects(now: number): Promise<number>;
  /** Run history of deleted jobs older than `minutes` is deleted. */
  pruneRunHistory(now: number, minutes: number): Promise<number>;
  /**
   * The run history's retention (`settings`: as already read): finished runs older than
   * `jobsRunHistoryMaxDays`, and each job's runs beyond the newest `jobsRunHistoryPerJob`.
   */
  applyRunRetention(now: number, settings: Settings): Promise<number>;
}

export interface JobRunContext {
  env: Env;
  runId: string;
  jobId: string;
  jobType: string;
  jobName: string;
  parameters: Record<string, unknown>;
  /** The user the run executes as; absent: the system. */
  user?: { uid: string; username?: string };
  scheduledAt: number;
  trigger: RunTrigger;
  progress: JobProgress;
  /** Aborted when the run is cancelled (cooperative: check it between units of work). */
  signal: AbortSignal;
  isCancelled(): boolean;
  /** Throws JobCancelledError once the run is cancelled. */
  throwIfCancelled(): void;
  clock: Clock;
  now(): number;
  /** A progress message for the run's task notifications. */
  notify(level: NotificationLevel, message: string): void;
  /** Waits `ms` of real time; resolves early when the run is cancelled. */
  sleep(ms: number): Promise<void>;
  /** The scheduler's maintenance work (HOUSEKEEPING). */
  maintenance: Maintenance;
}

export type JobHandler = (ctx: JobRunContext) => Promise<RunResult | void>;
