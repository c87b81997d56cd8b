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
  data?: JsonValue;
}

export type RunOutcome = "COMPLETED" | "FAILED" | "STOPPED";

/** A run's start, as the notification sink takes it. */
export interface RunStart {
  jobId: string;
  jobType: string;
  parameters: unknown;
  userUid?: string;
  now: number;
  message?: string;
  limits?: NotifierLimits;
}

/** The notifier's system settings (`notifierMaxMessagesPerJob`, `notifierMaxAgeDays`). */
export interface NotifierLimits {
  maxMessages: number;
  maxAgeDays: number;
}

/** What a run writes. Implemented by the tasks module over the job's Durable Object storage. */
export interface NotificationSink {
  /**
   * A new run: clears the job's earlier notifications and summary, writes the PARAMETERS message.
   * `limits`: the notifier settings the caller already holds (else the sink reads them itself).
   */
  runStarted(run: RunStart): void;
  /** A progress message; LOOP replaces a newest LOOP message instead of growing the list. */
  notify(level: NotificationLevel, message: string, now: number): void;
  /** The last message of a run (`completed: true`, ERROR level for FAILED), plus the run's summary. */
  runFinished(run: { outcome: RunOutcome; message: string; summary?: unknown; now: number }): void;
}

/**
 * What the job's Durable Object hands to the HTTP layer (`getTaskSnapshot()` RPC): the live
 * notifications of the job's latest run and its summary, read from the object's own storage, so a
 * poll right after `execute` sees the run (strong consistency).
 */
/** A JSON value (a summary, a PARAMETERS message's data); typed shallowly so RPC stub types stay finite. */
export type JsonValue = string | number | boolean | object | null;

export interface TaskSnapshot {
  jobId: string;
  /** The job type (notification category) of the latest run. */
  jobType: string;
  /** UID of the user who started the run (execute caller, or executedBy/creator for scheduled runs). */
  userUid?: string;
  /** Newest first, times formatted in the server zone. */
  notifications: Notification[];
  /** The run's summary; absent when there is none. */
  summary?: JsonValue;
  /** True between runStarted and runFinished. */
  running: boolean;
  /** Epoch ms of the run's first message. */
  started: number;
  /** Epoch ms of the newest message (or summary), i.e. the last activity. */
  lastActivity: number;
  /** Retention (setting notifierMaxAgeDays as read at the run's start). */
  maxAgeDays: number;
  /**
   * KV write-through instrumentation: writes for the latest run, over the object's lifetime, and the
   * wall time between the run's first and last write (writes are at least 1 s apart).
   */
  kvWrites: { run: number; total: number; runSpanMs: number };
}
