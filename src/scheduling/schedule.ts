/**
 * Schedule semantics as pure functions of (configuration, run state, now, time zone, window).
 * No I/O and no clock: the Durable Object and the API pass `now` in.
 *
 * - Scheduling type: the stored one, else CRON when a cron is set, FIXED_DELAY when a delay is set,
 *   else ONCE_ASAP.
 * - CRON: the first occurrence after the later of (the last run's start, the last occurrence already
 *   consumed, the schedule anchor − 1 ms). The anchor is the job's creation or its last enabling, so
 *   a new job never runs for an occurrence before it existed. Occurrences older than the window
 *   (`maxCronDelayHours`) are skipped and reported; the first one inside the window runs once.
 * - FIXED_DELAY: `delay` seconds after the previous run ended, or after the anchor when it has not
 *   run since. A delay of 0 or less, or none, never becomes due.
 * - ONCE_ASAP: due now while the job is SCHEDULED and enabled.
 */
import { isNoScheduleCron, nextCronOccurrence } from "./cron";

export type SchedulingType = "CRON" | "FIXED_DELAY" | "ONCE_ASAP";
export const SCHEDULING_TYPES: readonly SchedulingType[] = ["CRON", "FIXED_DELAY", "ONCE_ASAP"];

export const HOUR_MS = 3600_000;
/** DHIS2's API fields always use the default window of 4 hours. */
export const API_MAX_CRON_DELAY_HOURS = 4;

export interface JobScheduleConfig {
  schedulingType?: string | null;
  cronExpression?: string | null;
  /** Seconds. */
  delay?: number | null;
  enabled: boolean;
  /** Epoch ms of creation. */
  created: number;
  queuePosition?: number | null;
}

export interface JobRunState {
  /** SCHEDULED | RUNNING | DISABLED | NOT_STARTED … */
  jobStatus?: string | null;
  /** Start of the last run (epoch ms). */
  lastExecuted?: number | null;
  /** End of the last run (epoch ms). */
  lastFinished?: number | null;
  /** Start of the schedule: creation or last enabling (epoch ms). Defaults to `created`. */
  anchor?: number | null;
  /** Scheduled instant of the last occurrence that ran or was skipped (epoch ms). */
  lastScheduled?: number | null;
}

export interface DueOccurrence {
  trigger: SchedulingType;
  /** The occurrence's instant (idempotency key together with the job UID). */
  scheduledAt: number;
  /** When the alarm should fire: `scheduledAt`, or now when it is already past. */
  runAt: number;
  /** CRON only: the last instant at which this occurrence may still start. */
  expiresAt?: number;
  /** CRON only: occurrences older than the window that are skipped, never run. */
  skipped?: { first: number; count: number; last: number };
}

export function deriveSchedulingType(cfg: Pick<JobScheduleConfig, "schedulingType" | "cronExpression" | "delay">): SchedulingType {
  const explicit = cfg.schedulingType?.toUpperCase();
  if (explicit && (SCHEDULING_TYPES as readonly string[]).includes(explicit)) return explicit as SchedulingType;
  if (cfg.cronExpression != null && cfg.cronExpression.trim() !== "") return "CRON";
  if (cfg.delay != null) return "FIXED_DELAY";
  return "ONCE_ASAP";
}

/** A job with neither a usable cron nor a positive delay: it runs only once (run-once job). */
export function isRunOnce(cfg: Pick<JobScheduleConfig, "cronExpression" | "delay">): boolean {
  return isNoScheduleCron(cfg.cronExpression) && !(cfg.delay != null && cfg.delay > 0);
}

/** Whether the job has a schedule that `/enable` accepts. */
export function hasUsableSchedule(cfg: Pick<JobScheduleConfig, "schedulingType" | "cronExpression" | "delay">): boolean {
  switch (deriveSchedulingType(cfg)) {
    case "CRON":
      return !isNoScheduleCron(cfg.cronExpression) && nextCronOccurrence(cfg.cronExpression!, 0, "Etc/UTC") !== null;
    case "FIXED_DELAY":
      return cfg.delay != null && cfg.delay > 0;
    case "ONCE_ASAP":
      return !isRunOnce(cfg);
  }
}

function max(...values: (number | null | undefined)[]): number {
  let m = -Infinity;
  for (const v of values) if (v != null && v > m) m = v;
  return m;
}

/**
 * CRON: the occurrence that is due next, honouring the window: the first occurrence after the later
 * of the last one seen and the window's start. With `recordSkipped` (the scheduler's view), the
 * occurrences that fell out of the window are counted for the run history; the API's read-only
 * times do not need them and skip that walk.
 */
export function nextCronDue(
  cron: string,
  state: JobRunState,
  created: number,
  now: number,
  timeZone: string,
  maxCronDelayHours: number,
  recordSkipped = true,
): DueOccurrence | null {
  if (isNoScheduleCron(cron)) return null;
  const anchor = state.anchor ?? created;
  const since = max(state.lastExecuted, state.lastScheduled, anchor - 1);
  const window = maxCronDelayHours * HOUR_MS;
  const windowStart = now - window;
  const next = nextCronOccurrence(cron, Math.max(since, windowStart - 1), timeZone);
  if (next === null) return null;
  const skipped = recordSkipped && since < windowStart - 1 ? skippedOccurrences(cron, since, windowStart, timeZone) : undefined;
  return { trigger: "CRON", scheduledAt: next, runAt: Math.max(next, now), expiresAt: next + window, ...(skipped ? { skipped } : {}) };
}

/** Occurrences after `since` and before `windowStart` (bounded; only for the record). */
function skippedOccurrences(cron: string, since: number, windowStart: number, timeZone: string): DueOccurrence["skipped"] {
  const first = nextCronOccurrence(cron, since, timeZone);
  if (first === null || first >= windowStart) return undefined;
  let count = 0;
  let last = first;
  for (let t: number | null = first; t !== null && t < windowStart && count < 10_000; t = nextCronOccurrence(cron, t, timeZone)) {
    count++;
    last = t;
  }
  return { first, count, last };
}

/** FIXED_DELAY: `delay` seconds after the previous run ended (or after the anchor). */
export function nextFixedDelayDue(
  delaySeconds: number | null | undefined,
  state: JobRunState,
  created: number,
  now: number,
): DueOccurrence | null {
  if (delaySeconds == null || !(delaySeconds > 0)) return null;
  const anchor = state.anchor ?? created;
  const base = max(state.lastFinished, anchor);
  const at = base + delaySeconds * 1000;
  return { trigger: "FIXED_DELAY", scheduledAt: at, runAt: Math.max(at, now) };
}

/**
 * The next occurrence the scheduler should run, or null when nothing is due ever (disabled, no
 * schedule, running, a finished run-once job, a queue member behind the head).
 */
export function nextDue(
  cfg: JobScheduleConfig,
  state: JobRunState,
  now: number,
  timeZone: string,
  maxCronDelayHours: number,
): DueOccurrence | null {
  if (!cfg.enabled) return null;
  if (state.jobStatus === "RUNNING" || state.jobStatus === "DISABLED") return null;
  if (cfg.queuePosition != null && cfg.queuePosition > 0) return null;
  switch (deriveSchedulingType(cfg)) {
    case "CRON":
      return cfg.cronExpression ? nextCronDue(cfg.cronExpression, state, cfg.created, now, timeZone, maxCronDelayHours) : null;
    case "FIXED_DELAY":
      return nextFixedDelayDue(cfg.delay, state, cfg.created, now);
    case "ONCE_ASAP": {
      if (state.jobStatus !== "SCHEDULED") return null;
      // A run-once job runs once; a job with a schedule returns to it (handled above).
      if (isRunOnce(cfg) && state.lastExecuted != null && max(state.lastExecuted) >= max(state.anchor, cfg.created)) return null;
      const at = max(state.anchor, cfg.created);
      return { trigger: "ONCE_ASAP", scheduledAt: at, runAt: Math.max(at, now) };
    }
  }
}

/**
 * DHIS2's read-only API fields (epoch ms; the caller formats them). `nextExecutionTime` is a best
 * guess using the API window (4 h); `maxDelayedExecutionTime` is `next + window` for CRON only.
 */
export function apiScheduleTimes(
  cfg: JobScheduleConfig,
  state: JobRunState,
  now: number,
  timeZone: string,
  maxCronDelayHours: number = API_MAX_CRON_DELAY_HOURS,
): { nextExecutionTime: number | null; maxDelayedExecutionTime: number | null } {
  if (!cfg.enabled || (cfg.queuePosition != null && cfg.queuePosition > 0)) {
    return { nextExecutionTime: null, maxDelayedExecutionTime: null };
  }
  const type = deriveSchedulingType(cfg);
  if (type === "CRON") {
    if (!cfg.cronExpression) return { nextExecutionTime: null, maxDelayedExecutionTime: null };
    // While a run is in progress the next occurrence is the one after its start.
    const due = nextCronDue(cfg.cronExpression, state, cfg.created, now, timeZone, maxCronDelayHours, false);
    if (!due) return { nextExecutionTime: null, maxDelayedExecutionTime: null };
    return { nextExecutionTime: due.scheduledAt, maxDelayedExecutionTime: due.scheduledAt + maxCronDelayHours * HOUR_MS };
  }
  const due = nextDue(cfg, state, now, timeZone, maxCronDelayHours);
  return { nextExecutionTime: due ? due.scheduledAt : null, maxDelayedExecutionTime: null };
}

export function nextExecutionTime(
  cfg: JobScheduleConfig,
  state: JobRunState,
  now: number,
  timeZone: string,
  maxCronDelayHours = API_MAX_CRON_DELAY_HOURS,
): number | null {
  return apiScheduleTimes(cfg, state, now, timeZone, maxCronDelayHours).nextExecutionTime;
}

export function maxDelayedExecutionTime(
  cfg: JobScheduleConfig,
  state: JobRunState,
  now: number,
  timeZone: string,
  maxCronDelayHours = API_MAX_CRON_DELAY_HOURS,
): number | null {
  return apiScheduleTimes(cfg, state, now, timeZone, maxCronDelayHours).maxDelayedExecutionTime;
}

/** A `job_configurations` row (the columns these functions read). */
export interface JobConfigRowLike {
  scheduling_type?: string | null;
  cron_expression?: string | null;
  delay?: number | null;
  enabled: number | boolean;
  created: number;
  queue_position?: number | null;
  job_status?: string | null;
  last_executed?: number | null;
  last_finished?: number | null;
}

export function configFromRow(row: JobConfigRowLike): JobScheduleConfig {
  return {
    schedulingType: row.scheduling_type ?? null,
    cronExpression: row.cron_expression ?? null,
    delay: row.delay ?? null,
    enabled: row.enabled === true || row.enabled === 1,
    created: row.created,
    queuePosition: row.queue_position ?? null,
  };
}

export function stateFromRow(row: JobConfigRowLike, anchor?: number | null, lastScheduled?: number | null): JobRunState {
  return {
    jobStatus: row.job_status ?? null,
    lastExecuted: row.last_executed ?? null,
    lastFinished: row.last_finished ?? null,
    anchor: anchor ?? null,
    lastScheduled: lastScheduled ?? null,
  };
}

/** `nextExecutionTime` / `maxDelayedExecutionTime` straight from a D1 row (epoch ms or null). */
export function apiScheduleTimesFromRow(row: JobConfigRowLike, now: number, timeZone: string) {
  return apiScheduleTimes(configFromRow(row), stateFromRow(row), now, timeZone);
}
