/**
 * The engine's types, constants and shared helpers: the run marker and the state a job's object keeps
 * in its storage, the in-memory side of a run in progress, and the timings (engine.ts describes the
 * engine as a whole).
 */
import type { ExecutorRunCursor } from "../executor/handler";
import type { JobRunContext, RunStatus, RunTrigger } from "../jobs/contract";
import { getJobType, hasIndependentRuns } from "../jobs/registry";
import type { Settings } from "../settings/settings";
import type { NotificationSink, NotifierLimits } from "../tasks/types";
import type { ProgressTracker } from "./progress";
import type { JobRow, ScheduleMark, StartResult } from "./store";

/** Heartbeat period while a run is in progress (DHIS2: at most every 10 s); tests shorten it. */
export let HEARTBEAT_MS = 10_000;
export function setHeartbeatMs(ms: number): void {
  HEARTBEAT_MS = ms;
}
/** How soon a run blocked by a busy job type tries again (it is also woken when the type frees). */
export const BUSY_RETRY_MS = 2_000;
/** Back-off after an unexpected error in the alarm handler (we re-arm instead of throwing). */
export const ERROR_RETRY_MS = 5_000;
/**
 * How long a run's end waits for D1 to record it. Past it the end counts as refused: it stays in the
 * run marker and is recorded by the retry alarm (ERROR_RETRY_MS later), so a D1 call that never
 * answers cannot leave the run RUNNING. (The late answer may still commit; recording is idempotent.)
 */
export let END_RECORD_TIMEOUT_MS = 60_000;
export function setEndRecordTimeoutMs(ms: number): void {
  END_RECORD_TIMEOUT_MS = ms;
}

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

export type { RunStatus, RunTrigger };

export interface RunningMarker {
  runId: string;
  runRowId: number;
  scheduledAt: number;
  trigger: RunTrigger;
  startedAt: number;
  executedBy: string | null;
  /** The job as the run started (its run events name it even when the job is gone); absent before version 1. */
  jobType?: string;
  jobName?: string;
  /** The job's queue, if any. */
  queue?: string;
  /** Who the run's notifications name: who executed it, else the job's owner. */
  userUid?: string;
  /** The run was cancelled (by a user, or null: a revert or delete). */
  cancelled?: { by: string | null };
  /** An executor run between two steps: where it stands. */
  executor?: ExecutorRunCursor;
  /** The run ended but recording its end in D1 failed: what to record (the retry does it). */
  ended?: { status: RunStatus; at: number; errorCodes: string | null; error: string | null; message?: string };
}

/**
 * The version of the stored EngineState (its `v`). Bump it when a stored field changes its meaning,
 * and teach `readEngineState` the upgrade (with a unit test per version).
 * - 0: no `v` (written before versioning); the fields of version 1.
 * - 1: version 0 with `v`. Added (optional, so version 0 reads as 1): a run marker's `jobType`,
 *   `jobName`, `queue` and `ended.message`, its trigger QUEUE or RECOVERY, `pendingExecute.via`,
 *   `recoveryOf`.
 */
export const ENGINE_STATE_VERSION = 1;

export interface EngineState {
  v: number;
  uid?: string;
  /** Whether the job was enabled the last time the object read it (to detect re-enabling). */
  enabled?: boolean;
  /** Creation or last enabling: the schedule starts here. */
  anchor?: number;
  /** The last occurrence that ran, was claimed, or was skipped. */
  lastScheduled?: number;
  running?: RunningMarker;
  /** A pending `execute` (starts at once); `via` QUEUE: the previous member of the job's queue asked. */
  pendingExecute?: { at: number; by: string | null; announced?: boolean; via?: "QUEUE" };
  /** An occurrence the safety net (reconcile) found due without its alarm having run it: it starts as RECOVERY. */
  recoveryOf?: number;
  /** A run blocked by a busy job type does not retry before this instant. */
  blockedUntil?: number;
  /** What was last written to `job_schedule`. */
  mark?: ScheduleMark;
  /** The object's job was deleted. */
  deleted?: boolean;
}

/** A fresh state (a new or re-bound object, a deleted job). */
export function newEngineState(fields: Omit<EngineState, "v"> = {}): EngineState {
  return { v: ENGINE_STATE_VERSION, ...fields };
}

/**
 * The one way stored state is read (`sched_state` key `state`): the current version as it is, older
 * versions upgraded; unreadable JSON, anything but an object, or a version this code does not know
 * (written by newer code, before a rollback) is reset, keeping only the job's UID. A reset forgets a
 * run in progress: D1's stale-run reset closes such a run (no heartbeat), as for a crashed object.
 */
export function readEngineState(raw: string | null | undefined): EngineState {
  if (raw == null) return newEngineState();
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return newEngineState();
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return newEngineState();
  const stored: Partial<EngineState> = parsed;
  const version = stored.v ?? 0;
  if (version === 0 || version === ENGINE_STATE_VERSION) return { ...stored, v: ENGINE_STATE_VERSION };
  return newEngineState(typeof stored.uid === "string" ? { uid: stored.uid } : {});
}

export interface LiveRun {
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

export interface RunOutcome {
  status: RunStatus;
  message: string;
  error: string | null;
  errorCodes: string | null;
  summary?: unknown;
}

export type StepResult = { done: true; outcome: RunOutcome } | { done: false; cursor: ExecutorRunCursor; wakeAt: number };

export interface Cached {
  row: JobRow;
  settings: Settings;
}

/** Debug/test view: the stored state, whether a run is live (and between executor steps), events not yet delivered. */
export type EngineSnapshot = EngineState & { live: boolean; detached: boolean; undeliveredEvents: number };

export type ExecuteResult = "started" | "not_found" | "running" | "disabled";

export function independentType(jobType: string): boolean {
  return hasIndependentRuns(jobType);
}

/** The job's parameters with the type's defaults filled in (the stored JSON if the type has none). */
export function readParameters(row: JobRow): Record<string, unknown> {
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

/** The notifier settings a run starts with, from the settings the object already holds. */
export function notifierLimits(settings: Settings): NotifierLimits {
  return { maxMessages: settings.notifierMaxMessagesPerJob, maxAgeDays: settings.notifierMaxAgeDays };
}

/** Notifications must never break a run. */
export function safeSink(sink: NotificationSink): NotificationSink {
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
