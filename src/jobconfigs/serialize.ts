/**
 * A job configuration row as DHIS2's JSON: stored members, computed read-only members and the
 * generic identifiable members. Only the selected top-level members are computed (the schedule
 * computation is skipped unless `nextExecutionTime`/`maxDelayedExecutionTime` are asked for).
 */
import { applyFields, isEmptySelection, selectedNames, type FieldSelection } from "../http/fields";
import { formatDate, formatDuration } from "../http/dates";
import { getJobType } from "../jobs/registry";
import { apiScheduleTimesFromRow, configFromRow, deriveSchedulingType } from "../scheduling/schedule";
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

/** The members DHIS2 persists (its `:owner` and `:persisted` presets). */
const PERSISTED_FIELDS = [
  "id",
  "created",
  "lastUpdated",
  "createdBy",
  "lastUpdatedBy",
  "name",
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
  "executedBy",
  "queueName",
  "queuePosition",
  "errorCodes",
];

/** DHIS2 field presets, resolved against this object's members. */
export const FIELD_PRESETS: Record<string, string[]> = {
  all: [...ALL_MEMBERS],
  identifiable: ["id", "name", "code", "created", "lastUpdated", "lastUpdatedBy"],
  nameable: ["id", "name", "code", "created", "lastUpdated", "lastUpdatedBy", "displayName"],
  simple: [
    "id",
    "href",
    "created",
    "lastUpdated",
    "name",
    "displayName",
    "code",
    "jobType",
    "schedulingType",
    "cronExpression",
    "delay",
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
    "favorite",
  ],
  owner: PERSISTED_FIELDS,
  persisted: PERSISTED_FIELDS,
};

export interface SerializeContext {
  /** `<base>/api` for `href`. */
  apiBase: string;
  timeZone: string;
  now: number;
  /** The caller may write job configurations (drives `access`). */
  canWrite: boolean;
}

/** The status DHIS2 reports: a stored DISABLED on an enabled job reads as SCHEDULED. */
export function reportedJobStatus(row: Pick<JobRow, "job_status" | "enabled">): string {
  return row.job_status === "DISABLED" && row.enabled === 1 ? "SCHEDULED" : row.job_status;
}

export function isConfigurableRow(row: Pick<JobRow, "job_type" | "system">): boolean {
  return row.system === 0 && getJobType(row.job_type)?.configurable === true;
}

/** The stored `job_parameters` JSON; undefined when absent or unreadable. */
export function parseParameters(text: string | null): unknown {
  if (text === null || text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Builds the object with the members in `names` (null = all), in ALL_MEMBERS order, nulls omitted. */
export function jobJson(row: JobRow, names: Set<string> | null, ctx: SerializeContext): Record<string, unknown> {
  const want = (n: string) => names === null || names.has(n);
  const out: Record<string, unknown> = {};
  const tz = ctx.timeZone;
  let times: { nextExecutionTime: number | null; maxDelayedExecutionTime: number | null } | undefined;
  const scheduleTimes = () => (times ??= apiScheduleTimesFromRow(row, ctx.now, tz));
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
        set(m, deriveSchedulingType(configFromRow(row)));
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
        if (
          row.job_status !== "RUNNING" &&
          row.last_executed !== null &&
          row.last_finished !== null &&
          row.last_finished >= row.last_executed
        ) {
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
