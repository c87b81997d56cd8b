/**
 * `/api/scheduler` entries (DHIS2's SchedulerEntry / SchedulerEntryJob) as pure functions of the
 * job rows, `now` and the server time zone.
 *
 * - A job outside any queue is one entry whose `sequence` holds just that job.
 * - A queue is one entry named after the queue with `type: "Sequence"`; its schedule, `enabled` and
 *   times come from the head (position 0); its status is RUNNING while any member runs, else the
 *   head's status; `configurable` is always true.
 * - Run-once jobs (scheduled ONCE_ASAP, no cron, no delay, not in a queue) are left out. A job that
 *   left a queue keeps its CRON scheduling type without a cron: it is listed (disabled, unscheduled),
 *   as in DHIS2, so the Scheduler app still shows it.
 */
import { formatDate } from "../http/dates";
import { isConfigurableJobType, getJobType } from "../jobs/registry";
import { apiScheduleTimesFromRow, deriveSchedulingType } from "../scheduling/schedule";
import { compareJava, type QueueJobRow } from "./store";

export interface SchedulerEntryJob {
  id: string;
  name: string;
  type: string;
  cronExpression?: string;
  delay?: number;
  nextExecutionTime?: string;
  status: string;
}

export interface SchedulerEntry {
  name: string;
  type: string;
  cronExpression?: string;
  delay?: number;
  nextExecutionTime?: string;
  maxDelayedExecutionTime?: string;
  secondsToNextExecutionTime?: number;
  secondsToMaxDelayedExecutionTime?: number;
  status: string;
  enabled: boolean;
  configurable: boolean;
  sequence: SchedulerEntryJob[];
}

/** Internal form: the entry plus its next execution instant (for sorting). */
interface Built {
  entry: SchedulerEntry;
  next: number | null;
}

/** DHIS2 reports a stored DISABLED job that is enabled as SCHEDULED. */
export function effectiveStatus(row: QueueJobRow): string {
  return row.job_status === "DISABLED" && row.enabled ? "SCHEDULED" : row.job_status;
}

/**
 * DHIS2's `JobConfiguration.isRunOnce`: scheduled ONCE_ASAP (stored, or derived for a row without a
 * stored type), no cron, no delay, not in a queue.
 */
export function isRunOnceJob(row: QueueJobRow): boolean {
  const cron = row.cron_expression?.trim();
  if (cron || row.delay != null || row.queue_name != null) return false;
  return (
    deriveSchedulingType({ schedulingType: row.scheduling_type, cronExpression: row.cron_expression, delay: row.delay }) === "ONCE_ASAP"
  );
}

function times(row: QueueJobRow, now: number, tz: string) {
  const t = apiScheduleTimesFromRow(row, now, tz);
  return { next: t.nextExecutionTime, max: t.maxDelayedExecutionTime };
}

/** Java's `Duration.between(now, t).getSeconds()`: whole seconds, rounded towards negative infinity. */
function secondsUntil(t: number | null, now: number): number | undefined {
  return t == null ? undefined : Math.floor((t - now) / 1000);
}

function jobOf(row: QueueJobRow, now: number, tz: string): SchedulerEntryJob {
  const out: SchedulerEntryJob = { id: row.uid, name: row.name, type: row.job_type } as SchedulerEntryJob;
  if (row.cron_expression != null) out.cronExpression = row.cron_expression;
  if (row.delay != null) out.delay = row.delay;
  const next = formatDate(times(row, now, tz).next, tz);
  if (next !== undefined) out.nextExecutionTime = next;
  out.status = effectiveStatus(row);
  return out;
}

function entryOf(
  name: string,
  type: string,
  trigger: QueueJobRow,
  status: string,
  configurable: boolean,
  sequence: SchedulerEntryJob[],
  now: number,
  tz: string,
): Built {
  const t = times(trigger, now, tz);
  const entry = { name, type } as SchedulerEntry;
  if (trigger.cron_expression != null) entry.cronExpression = trigger.cron_expression;
  if (trigger.delay != null) entry.delay = trigger.delay;
  const next = formatDate(t.next, tz);
  if (next !== undefined) entry.nextExecutionTime = next;
  const max = formatDate(t.max, tz);
  if (max !== undefined) entry.maxDelayedExecutionTime = max;
  const sNext = secondsUntil(t.next, now);
  if (sNext !== undefined) entry.secondsToNextExecutionTime = sNext;
  const sMax = secondsUntil(t.max, now);
  if (sMax !== undefined) entry.secondsToMaxDelayedExecutionTime = sMax;
  entry.status = status;
  entry.enabled = trigger.enabled === 1;
  entry.configurable = configurable;
  entry.sequence = sequence;
  return { entry, next: t.next };
}

/** The entry of one job that is not in a queue. */
export function jobEntry(row: QueueJobRow, now: number, tz: string): SchedulerEntry {
  return buildJob(row, now, tz).entry;
}

function buildJob(row: QueueJobRow, now: number, tz: string): Built {
  return entryOf(row.name, row.job_type, row, effectiveStatus(row), isConfigurableJobType(row.job_type), [jobOf(row, now, tz)], now, tz);
}

/** The entry of a queue; `members` in any order. */
export function queueEntry(name: string, members: QueueJobRow[], now: number, tz: string): SchedulerEntry {
  return buildQueue(name, members, now, tz).entry;
}

function buildQueue(name: string, members: QueueJobRow[], now: number, tz: string): Built {
  const ordered = [...members].sort((a, b) => (a.queue_position ?? 0) - (b.queue_position ?? 0));
  const head = ordered[0];
  const status = ordered.some((m) => m.job_status === "RUNNING") ? "RUNNING" : effectiveStatus(head);
  return entryOf(
    name,
    "Sequence",
    head,
    status,
    true,
    ordered.map((m) => jobOf(m, now, tz)),
    now,
    tz,
  );
}

export type EntryOrder = "name" | "next";

function sortBuilt(list: Built[], order: EntryOrder): SchedulerEntry[] {
  const byName = (a: Built, b: Built) => compareJava(a.entry.name, b.entry.name);
  list.sort(
    order === "name"
      ? byName
      : (a, b) => {
          if (a.next === b.next) return byName(a, b);
          if (a.next === null) return 1;
          if (b.next === null) return -1;
          return a.next - b.next;
        },
  );
  return list.map((b) => b.entry);
}

/** `GET /api/scheduler`: one entry per job outside queues and one per queue. */
export function schedulerEntries(rows: QueueJobRow[], order: EntryOrder, now: number, tz: string): SchedulerEntry[] {
  const queues = new Map<string, QueueJobRow[]>();
  const built: Built[] = [];
  for (const row of rows) {
    if (row.queue_name != null) {
      const list = queues.get(row.queue_name) ?? [];
      list.push(row);
      queues.set(row.queue_name, list);
    } else if (!isRunOnceJob(row)) {
      built.push(buildJob(row, now, tz));
    }
  }
  for (const [name, members] of queues) built.push(buildQueue(name, members, now, tz));
  return sortBuilt(built, order);
}

/**
 * Whether a job may join a queue: a user-configurable, non-system type that is scheduled by cron
 * (not FIXED_DELAY), and not a member of any queue.
 */
export function isQueueable(row: QueueJobRow): boolean {
  if (row.system) return false;
  if (!isConfigurableJobType(row.job_type)) return false;
  if (getJobType(row.job_type)?.schedulingType !== "CRON") return false;
  if (
    deriveSchedulingType({ schedulingType: row.scheduling_type, cronExpression: row.cron_expression, delay: row.delay }) === "FIXED_DELAY"
  )
    return false;
  return row.queue_name == null;
}

/**
 * `GET /api/scheduler/queueable[?name=]`: job entries sorted by name. As in DHIS2, `name` excludes
 * the jobs of that queue, which no queue member passes anyway: the queue editor takes the members
 * from the queue itself.
 */
export function queueableEntries(rows: QueueJobRow[], excludeQueue: string | undefined, now: number, tz: string): SchedulerEntry[] {
  return sortBuilt(
    rows.filter((r) => isQueueable(r) && (excludeQueue === undefined || r.queue_name !== excludeQueue)).map((r) => buildJob(r, now, tz)),
    "name",
  );
}
