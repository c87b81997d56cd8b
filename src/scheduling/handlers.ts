/**
 * Job handlers: what a run of each job type does inside the Worker. A registry keyed by job type;
 * implementations live in `src/jobs/handlers/<type>.ts`. Types without an in-worker handler run on
 * the external executor (the engine drives `beginExecutorRun` / `stepExecutorRun`), which fails the
 * run with E7010 and a clear message when no executor is configured — a run of an unimplemented type
 * never "completes".
 *
 * A handler gets the run context: parameters, the user it runs as, a progress API (stages, items,
 * messages — forwarded to the job's task notifications), a cancel signal, and the clock. It returns
 * an optional final message and summary, throws to fail (`JobRunError` carries error codes), and
 * ends STOPPED when it stops because of a cancel (`JobCancelledError`, or any error after a cancel).
 */
import { JobCancelledError, JobRunError, type ExecutorRunContext, type RunResult } from "../executor/handler";
import type { Clock } from "../http/clock";
import { accountExpiryAlertHandler } from "../jobs/handlers/account-expiry-alert";
import { credentialsExpiryAlertHandler } from "../jobs/handlers/credentials-expiry-alert";
import { disableInactiveUsersHandler } from "../jobs/handlers/disable-inactive-users";
import { housekeepingHandler } from "../jobs/handlers/housekeeping";
import { removeExpiredHandler } from "../jobs/handlers/remove-expired";
import { testHandler } from "../jobs/handlers/test";

export { JobCancelledError, JobRunError, type RunResult };

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
}

export interface JobRunContext extends ExecutorRunContext {
  env: Env;
  runId: string;
  jobId: string;
  jobType: string;
  jobName: string;
  parameters: Record<string, unknown>;
  /** The user the run executes as; absent: the system. */
  user?: { uid: string; username?: string };
  scheduledAt: number;
  trigger: string;
  progress: JobProgress;
  /** Aborted when the run is cancelled (cooperative: check it between units of work). */
  signal: AbortSignal;
  isCancelled(): boolean;
  /** Throws JobCancelledError once the run is cancelled. */
  throwIfCancelled(): void;
  clock: Clock;
  now(): number;
  /** Waits `ms` of real time; resolves early when the run is cancelled. */
  sleep(ms: number): Promise<void>;
}

export type JobHandler = (ctx: JobRunContext) => Promise<RunResult | void>;

const HANDLERS: Record<string, JobHandler> = {
  TEST: testHandler,
  HOUSEKEEPING: housekeepingHandler,
  DISABLE_INACTIVE_USERS: disableInactiveUsersHandler,
  ACCOUNT_EXPIRY_ALERT: accountExpiryAlertHandler,
  CREDENTIALS_EXPIRY_ALERT: credentialsExpiryAlertHandler,
  REMOVE_USED_OR_EXPIRED_RESERVED_VALUES: removeExpiredHandler,
};

/** Tests may register extra handlers (e.g. a handler that blocks until told to finish). */
const overrides = new Map<string, JobHandler>();

export function registerJobHandler(jobType: string, handler: JobHandler | null): void {
  if (handler) overrides.set(jobType, handler);
  else overrides.delete(jobType);
}

/** The in-worker handler of a type; undefined: the type runs on the external executor. */
export function inWorkerHandler(jobType: string): JobHandler | undefined {
  return overrides.get(jobType) ?? HANDLERS[jobType];
}
