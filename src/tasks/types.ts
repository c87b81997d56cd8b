/**
 * Contract between the scheduler (which runs jobs) and the task notifier (which stores what runs
 * report). A run reports through a NotificationSink; the HTTP layer reads notifications back.
 */
export type NotificationLevel = "DEBUG" | "LOOP" | "INFO" | "WARN" | "ERROR";

/** DHIS2's Notification, as `/api/system/tasks…` returns it (null members omitted). */
export interface Notification {
  uid: string;
  id: string;
  level: NotificationLevel;
  category: string;
  time: string;
  message: string;
  completed: boolean;
  dataType?: "PARAMETERS";
  data?: unknown;
}

export type RunOutcome = "COMPLETED" | "FAILED" | "STOPPED";

/** What a run writes. Implemented by the tasks module over the job's Durable Object storage. */
export interface NotificationSink {
  /** A new run: clears the job's earlier notifications and summary, writes the PARAMETERS message. */
  runStarted(run: { jobId: string; jobType: string; parameters: unknown; userUid?: string; now: number; message?: string }): void;
  /** A progress message; LOOP replaces a newest LOOP message instead of growing the list. */
  notify(level: NotificationLevel, message: string, now: number): void;
  /** The last message of a run (`completed: true`, ERROR level for FAILED), plus the run's summary. */
  runFinished(run: { outcome: RunOutcome; message: string; summary?: unknown; now: number }): void;
}
