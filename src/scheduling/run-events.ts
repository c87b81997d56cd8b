/**
 * Run lifecycle events: what the engine reports about a job's runs, as one discriminated type, to the
 * listeners registered at the Worker's entry (`registerRunListeners` in src/scheduling/hooks.ts).
 *
 * - RUN_STARTED: a run began; emitted once its start is recorded in D1.
 * - RUN_ENDED: a run ended with its outcome; emitted once its end is recorded in D1.
 * - RUN_LOST: a run died with its object (or its heartbeat went stale) and is recorded FAILED (E7012).
 * - RUN_RECOVERED: a run ended while its end could not be recorded; the kept outcome was recorded
 *   later (at the object's next alarm or contact), and this reports it.
 * - OCCURRENCE_SKIPPED: CRON occurrences older than the window, recorded as skipped, never run.
 *
 * Each started run gets exactly one terminal event (RUN_ENDED, RUN_LOST or RUN_RECOVERED), except a
 * run of a deleted job, whose end may be all there is left to report. Delivery is at least once:
 * undelivered events wait in the job object's storage and are retried with backoff, in order per
 * listener, so a listener deduplicates by `id` (stable across retries and object restarts).
 * Times are epoch ms. This module depends on no listener.
 */
import type { RunStatus, RunTrigger } from "../jobs/contract";

export type { RunStatus, RunTrigger };

export type RunEventKind = "RUN_STARTED" | "RUN_ENDED" | "RUN_LOST" | "RUN_RECOVERED" | "OCCURRENCE_SKIPPED";

/** What every event carries: its identity and the job it concerns. */
interface EventBase {
  /** Stable event id (idempotency key): the same event retried has the same id. */
  id: string;
  /** When it happened: the run's start, its end, or the instant the skip or loss was recorded. */
  at: number;
  jobId: string;
  jobType: string;
  jobName: string;
  /** The queue the job belongs to (head or member), if any. */
  queue?: string;
  /** The occurrence (epoch ms): the schedule's instant, the `execute` call, or the queue's request. */
  scheduledAt: number;
  /** The user the run executes as (the job's executedBy); null: the system. */
  executedBy: string | null;
}

/** A run: what started it and when. */
export interface RunInfo extends EventBase {
  /** `<jobId>-<scheduledAt>`: the run's id, as in its task notifications and executor requests. */
  runId: string;
  trigger: RunTrigger;
  /** MANUAL: the user who called `execute` (absent when unknown). */
  triggeredBy?: string;
  startedAt: number;
  /** Start lateness: startedAt − scheduledAt. */
  latenessMs: number;
}

/** How a run ended. */
export interface RunEnd {
  status: RunStatus;
  finishedAt: number;
  /** finishedAt − startedAt. */
  durationMs: number;
  /** DHIS2 error codes (e.g. E7010 no executor, E7012 lost run); empty when none. */
  errorCodes: string[];
  /** The run's final message (its error for FAILED). */
  message: string;
}

export interface RunStartedEvent extends RunInfo {
  kind: "RUN_STARTED";
}

export interface RunEndedEvent extends RunInfo, RunEnd {
  kind: "RUN_ENDED" | "RUN_LOST" | "RUN_RECOVERED";
}

export interface OccurrenceSkippedEvent extends EventBase {
  kind: "OCCURRENCE_SKIPPED";
  trigger: "CRON";
  /** The skipped occurrences: how many, the first and the last (the last is `scheduledAt`). */
  skipped: { count: number; first: number; last: number };
  message: string;
}

export type RunEvent = RunStartedEvent | RunEndedEvent | OccurrenceSkippedEvent;

/** Whether the event reports the end of a run (RUN_ENDED, RUN_LOST, RUN_RECOVERED). */
export function isRunEnd(event: RunEvent): event is RunEndedEvent {
  return event.kind === "RUN_ENDED" || event.kind === "RUN_LOST" || event.kind === "RUN_RECOVERED";
}

/** What a listener gets beside the event. */
export interface RunListenerContext {
  env: Env;
  /** The delivery instant (the object's clock). */
  now: number;
  /** 1 for the first delivery of this event to this listener, 2 for its first retry, … */
  attempt: number;
}

/**
 * A listener of run events (registered at the Worker's entry). `handle` runs in the job's Durable
 * Object, after the fact: it never breaks a run, and a run never waits for a RUN_STARTED delivery.
 * It is called at least once per event it `accepts`, in the order the object emitted them; a throw
 * (or no answer within the delivery timeout) has the event retried later with backoff, so `handle`
 * must be idempotent (key: `event.id`) and quick (hand slow work to a Queue).
 */
export interface RunListener {
  /** Stable name: undelivered events are kept per listener name (keep it across deployments). */
  readonly name: string;
  /** The events it wants (default: all). Events no listener accepts cost nothing. Synchronous, no I/O. */
  accepts?(event: RunEvent): boolean;
  handle(event: RunEvent, context: RunListenerContext): Promise<void> | void;
}
