/**
 * A job configuration row as DHIS2's JSON: stored members, computed read-only members and the
 * generic identifiable members. Only the selected top-level members are computed (the schedule
 * computation is skipped unless `nextExecutionTime`/`maxDelayedExecutionTime` are asked for).
 */
import { applyFields, isEmptySelection, selectedNames, type FieldSelection } from "../http/fields";
import { formatDate, formatDuration } from "../http/dates";
import { getJobType } from "../jobs/registry";
import { isNoScheduleCron, nextCronOccurrence } from "../scheduling/cron";
import { API_MAX_CRON_DELAY_HOURS, apiScheduleTimesFromRow, HOUR_MS } from "../scheduling/schedule";
import type { JobRow } from "./store";

/** Every member of a full job configuration, in output order. */
export const ALL_MEMBERS = [
  "id",
  "href",
  "created",
  "lastUpdated",
  "createdBy",
  "lastUpdatedBy",
  "name",
  "displayName",
  "code",
  "jobType",
  "schedulingType",
  "cronExpression",
  "delay",
  "jobParameters",
  "enabled",
  "jobStatus",
  "lastExecutedStatus",
  "lastExecuted",
  "lastFinished",
  "lastAlive",
  "lastRuntimeExecution",
  "nextExecutionTime",
  "maxDelayedExecutionTime",
  "executedBy",
  "userUid",
  "queueName",
  "queuePosition",
  "errorCodes",
  "configurable",
  "leaderOnlyJob",
  "externalAccess",
  "sharing",
  "access",
  "favorite",
  "favorites",
  "translations",
  "userGroupAccesses",
  "userAccesses",
  "attributeValues",
] as const;

/** DHIS2 field presets, resolved against this object's members. */
export const FIELD_PRESETS: Record<string, string[]> = {
  all: [...ALL_MEMBERS],
  identifiable: ["id", "name", "code", "created", "lastUpdated", "lastUpdatedBy"],
  nameable: ["id", "name", "code", "created", "lastUpdated", "lastUpdatedBy", "displayName"],
  simple: [
    "id", "href", "created", "lastUpdated", "name", "displayName", "code", "jobType", "schedulingType", "cronExpression",
    "delay", "enabled", "jobStatus", "lastExecutedStatus", "lastExecuted", "lastFinished", "lastAlive",
    "lastRuntimeExecution", "nextExecutionTime", "maxDelayedExecutionTime", "executedBy", "userUid", "queueName",
    "queuePosition", "errorCodes", "configurable", "leaderOnlyJob", "externalAccess", "favorite",
  ],
  owner: [
    "id", "created", "lastUpdated", "createdBy", "lastUpdatedBy", "name", "code", "jobType", "schedulingType",
    "cronExpression", "delay", "jobParameters", "enabled", "jobStatus", "lastExecutedStatus", "lastExecuted",
    "lastFinished", "lastAlive", "executedBy", "queueName", "queuePosition", "errorCodes",
  ],
  persisted: [
    "id", "created", "lastUpdated", "createdBy", "lastUpdatedBy", "name", "code", "jobType", "schedulingType",
    "cronExpression", "delay", "jobParameters", "enabled", "jobStatus", "lastExecutedStatus", "lastExecuted",
    "lastFinished", "lastAlive", "executedBy", "queueName", "queuePosition", "errorCodes",
  ],
};

export interface SerializeContext {
  /** `<base>/api` for `href`. */
  apiBase: string;
  timeZone: string;
  now: number;
  /** The caller may write job configurations (drives `access`). */
  canWrite: boolean;
}

/** DHIS2 derives the type when none is stored: cron → CRON, delay → FIXED_DELAY, else ONCE_ASAP. */
export function effectiveSchedulingType(row: Pick<JobRow, "scheduling_type" | "cron_expression" | "delay">): string {
  if (row.scheduling_type) return row.scheduling_type;
  if (row.cron_expression) return "CRON";
  if (row.delay !== null && row.delay !== undefined) return "FIXED_DELAY";
  return "ONCE_ASAP";
}

/** The status DHIS2 reports: a stored DISABLED on an enabled job reads as SCHEDULED. */
export function reportedJobStatus(row: Pick<JobRow, "job_status" | "enabled">): string {
  return row.job_status === "DISABLED" && row.enabled === 1 ? "SCHEDULED" : row.job_status;
}

export function isConfigurableRow(row: Pick<JobRow, "job_type" | "system">): boolean {
  return row.system === 0 && getJobType(row.job_type)?.configurable === true;
}

function parseParameters(text: string | null): unknown {
  if (text === null || text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const NO_TIMES = { nextExecutionTime: null, maxDelayedExecutionTime: null };

/**
 * Exact memo of `nextCronOccurrence` per (zone, cron): the last answer `next` for a start `from`
 * is also the answer for every start in [from, next), so repeated list reads skip compiling and
 * evaluating the expression. Bounded; the oldest entry goes first.
 */
const NEXT_MEMO = new Map<string, { from: number; next: number | null }>();
const NEXT_MEMO_MAX = 20_000;

function memoNextOccurrence(cron: string, since: number, timeZone: string): number | null {
  const key = `${timeZone}\u0000${cron}`;
  const hit = NEXT_MEMO.get(key);
  if (hit && hit.from <= since && (hit.next === null || since < hit.next)) return hit.next;
  const next = nextCronOccurrence(cron, since, timeZone);
  if (hit) NEXT_MEMO.delete(key);
  else if (NEXT_MEMO.size >= NEXT_MEMO_MAX) NEXT_MEMO.delete(NEXT_MEMO.keys().next().value as string);
  NEXT_MEMO.set(key, { from: since, next });
  return next;
}

/**
 * `nextExecutionTime`/`maxDelayedExecutionTime` of a row. CRON is computed here directly (the first
 * occurrence after the later of the last start, the creation, and now minus the 4-hour window), the
 * same instant `apiScheduleTimesFromRow` gives, without walking every missed occurrence since the
 * job was created (that walk costs tens of milliseconds per old daily job, too much for a list).
 * Other scheduling types use the scheduler's function.
 */
export function apiTimes(row: JobRow, now: number, timeZone: string): { nextExecutionTime: number | null; maxDelayedExecutionTime: number | null } {
  if (effectiveSchedulingType(row) !== "CRON") return apiScheduleTimesFromRow(row, now, timeZone);
  const cron = row.cron_expression;
  if (row.enabled !== 1 || (row.queue_position ?? 0) > 0 || !cron || isNoScheduleCron(cron)) return NO_TIMES;
  const window = API_MAX_CRON_DELAY_HOURS * HOUR_MS;
  const since = Math.max(row.last_executed ?? -Infinity, row.created - 1, now - window - 1);
  const next = memoNextOccurrence(cron, since, timeZone);
  return next === null ? NO_TIMES : { nextExecutionTime: next, maxDelayedExecutionTime: next + window };
}

/** Builds the object with the members in `names` (null = all), in ALL_MEMBERS order, nulls omitted. */
export function jobJson(row: JobRow, names: Set<string> | null, ctx: SerializeContext): Record<string, unknown> {
  const want = (n: string) => names === null || names.has(n);
  const out: Record<string, unknown> = {};
  const tz = ctx.timeZone;
  let times: { nextExecutionTime: number | null; maxDelayedExecutionTime: number | null } | undefined;
  const scheduleTimes = () => (times ??= apiTimes(row, ctx.now, tz));
  const set = (k: string, v: unknown) => {
    if (v !== undefined && v !== null) out[k] = v;
  };
  for (const m of ALL_MEMBERS) {
    if (!want(m)) continue;
    switch (m) {
      case "id":
        set(m, row.uid);
        break;
      case "href":
        set(m, `${ctx.apiBase}/jobConfigurations/${row.uid}`);
        break;
      case "created":
        set(m, formatDate(row.created, tz));
        break;
      case "lastUpdated":
        set(m, formatDate(row.last_updated, tz));
        break;
      case "createdBy":
        if (row.created_by) set(m, { id: row.created_by });
        break;
      case "lastUpdatedBy":
        if (row.last_updated_by) set(m, { id: row.last_updated_by });
        break;
      case "name":
      case "displayName":
        set(m, row.name);
        break;
      case "code":
        set(m, row.code);
        break;
      case "jobType":
        set(m, row.job_type);
        break;
      case "schedulingType":
        set(m, effectiveSchedulingType(row));
        break;
      case "cronExpression":
        set(m, row.cron_expression);
        break;
      case "delay":
        set(m, row.delay);
        break;
      case "jobParameters":
        set(m, parseParameters(row.job_parameters));
        break;
      case "enabled":
        set(m, row.enabled === 1);
        break;
      case "jobStatus":
        set(m, reportedJobStatus(row));
        break;
      case "lastExecutedStatus":
        set(m, row.last_executed_status);
        break;
      case "lastExecuted":
        set(m, formatDate(row.last_executed, tz));
        break;
      case "lastFinished":
        set(m, formatDate(row.last_finished, tz));
        break;
      case "lastAlive":
        set(m, formatDate(row.last_alive, tz));
        break;
      case "lastRuntimeExecution":
        if (row.job_status !== "RUNNING" && row.last_executed !== null && row.last_finished !== null && row.last_finished >= row.last_executed) {
          set(m, formatDuration(row.last_finished - row.last_executed));
        }
        break;
      case "nextExecutionTime":
        set(m, formatDate(scheduleTimes().nextExecutionTime, tz));
        break;
      case "maxDelayedExecutionTime":
        set(m, formatDate(scheduleTimes().maxDelayedExecutionTime, tz));
        break;
      case "executedBy":
      case "userUid":
        set(m, row.executed_by);
        break;
      case "queueName":
        set(m, row.queue_name);
        break;
      case "queuePosition":
        set(m, row.queue_position);
        break;
      case "errorCodes":
        set(m, row.error_codes);
        break;
      case "configurable":
        set(m, isConfigurableRow(row));
        break;
      case "leaderOnlyJob":
        set(m, true);
        break;
      case "externalAccess":
      case "favorite":
        set(m, false);
        break;
      case "sharing":
        set(m, { external: false, users: {}, userGroups: {} });
        break;
      case "access":
        set(m, {
          manage: ctx.canWrite,
          externalize: ctx.canWrite,
          write: ctx.canWrite,
          read: true,
          update: ctx.canWrite,
          delete: ctx.canWrite,
        });
        break;
      case "favorites":
      case "translations":
      case "userGroupAccesses":
      case "userAccesses":
      case "attributeValues":
        set(m, []);
        break;
    }
  }
  return out;
}

/** The columns each member reads (schedule times need the whole row). */
const MEMBER_COLUMNS: Record<string, string[] | "all"> = {
  id: ["uid"],
  href: ["uid"],
  created: ["created"],
  lastUpdated: ["last_updated"],
  createdBy: ["created_by"],
  lastUpdatedBy: ["last_updated_by"],
  name: ["name"],
  displayName: ["name"],
  code: ["code"],
  jobType: ["job_type"],
  schedulingType: ["scheduling_type", "cron_expression", "delay"],
  cronExpression: ["cron_expression"],
  delay: ["delay"],
  jobParameters: ["job_parameters"],
  enabled: ["enabled"],
  jobStatus: ["job_status", "enabled"],
  lastExecutedStatus: ["last_executed_status"],
  lastExecuted: ["last_executed"],
  lastFinished: ["last_finished"],
  lastAlive: ["last_alive"],
  lastRuntimeExecution: ["job_status", "last_executed", "last_finished"],
  nextExecutionTime: "all",
  maxDelayedExecutionTime: "all",
  executedBy: ["executed_by"],
  userUid: ["executed_by"],
  queueName: ["queue_name"],
  queuePosition: ["queue_position"],
  errorCodes: ["error_codes"],
  configurable: ["job_type", "system"],
};

/**
 * The SELECT list a selection needs (`all` = every API column). Rows read with a narrower list
 * only serve the selected members.
 */
export function columnsFor(sel: FieldSelection, allColumns: string): string {
  if (isEmptySelection(sel)) return allColumns;
  const names = selectedNames(sel, FIELD_PRESETS);
  if (names === null) return allColumns;
  const cols = new Set<string>(["uid"]);
  for (const n of names) {
    const c = MEMBER_COLUMNS[n];
    if (c === "all") return allColumns;
    if (c) for (const x of c) cols.add(x);
  }
  return [...cols].join(", ");
}

/** A row through a `fields` selection: computes only what is selected, then applies nesting/exclusions. */
export function selectJobJson(row: JobRow, sel: FieldSelection, ctx: SerializeContext): Record<string, unknown> {
  if (isEmptySelection(sel)) return jobJson(row, null, ctx);
  const names = selectedNames(sel, FIELD_PRESETS);
  const obj = jobJson(row, names, ctx);
  const needsApply = sel.exclude.size > 0 || [...sel.include.values()].some((v) => v !== null);
  return needsApply ? (applyFields(obj, sel, FIELD_PRESETS) as Record<string, unknown>) : obj;
}
