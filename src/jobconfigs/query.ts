/**
 * DHIS2's list query language for `/api/jobConfigurations`: the properties a filter or order may name
 * (src/http/query.ts compiles them to SQL) and `query=` (id, code or name).
 */
import { compileOrder as compileListOrder, compileWhere as compileListWhere, type PropertyDef, type QueryProperties } from "../http/query";
import { type SqlFragment, textMatch } from "../http/sql-text";
import { CONFIGURABLE_JOB_TYPE_NAMES } from "../jobs/registry";

// Catalogue constants (never request input), checked to be plain enum names before they enter SQL.
const configurableList = CONFIGURABLE_JOB_TYPE_NAMES.map((t) => {
  if (!/^[A-Z0-9_]+$/.test(t)) throw new Error(`Bad job type name in catalogue: ${t}`);
  return `'${t}'`;
}).join(", ");

/** The persisted (SQL-backed) properties a filter or order may name. */
export const QUERY_PROPERTIES: Record<string, PropertyDef> = {
  id: { sql: "uid", type: "text", javaType: "java.lang.String" },
  code: { sql: "code", type: "text", javaType: "java.lang.String" },
  name: { sql: "name", type: "text", javaType: "java.lang.String" },
  displayName: { sql: "name", type: "text", javaType: "java.lang.String" },
  jobType: { sql: "job_type", type: "text", javaType: "org.hisp.dhis.scheduling.JobType" },
  schedulingType: {
    sql: "COALESCE(scheduling_type, CASE WHEN cron_expression IS NOT NULL THEN 'CRON' WHEN delay IS NOT NULL THEN 'FIXED_DELAY' ELSE 'ONCE_ASAP' END)",
    type: "text",
    javaType: "org.hisp.dhis.scheduling.SchedulingType",
  },
  cronExpression: { sql: "cron_expression", type: "text", javaType: "java.lang.String" },
  delay: { sql: "delay", type: "int", javaType: "java.lang.Integer" },
  enabled: { sql: "enabled", type: "bool", javaType: "boolean" },
  jobStatus: {
    sql: "(CASE WHEN job_status = 'DISABLED' AND enabled = 1 THEN 'SCHEDULED' ELSE job_status END)",
    type: "text",
    javaType: "org.hisp.dhis.scheduling.JobStatus",
  },
  lastExecutedStatus: { sql: "last_executed_status", type: "text", javaType: "org.hisp.dhis.scheduling.JobStatus" },
  lastExecuted: { sql: "last_executed", type: "date", javaType: "java.util.Date" },
  lastFinished: { sql: "last_finished", type: "date", javaType: "java.util.Date" },
  lastAlive: { sql: "last_alive", type: "date", javaType: "java.util.Date" },
  created: { sql: "created", type: "date", javaType: "java.util.Date" },
  lastUpdated: { sql: "last_updated", type: "date", javaType: "java.util.Date" },
  executedBy: { sql: "executed_by", type: "text", javaType: "java.lang.String" },
  userUid: { sql: "executed_by", type: "text", javaType: "java.lang.String" },
  queueName: { sql: "queue_name", type: "text", javaType: "java.lang.String" },
  queuePosition: { sql: "queue_position", type: "int", javaType: "java.lang.Integer" },
  errorCodes: { sql: "error_codes", type: "text", javaType: "java.lang.String" },
  createdBy: { sql: "created_by", type: "text", javaType: "java.lang.String" },
  "createdBy.id": { sql: "created_by", type: "text", javaType: "java.lang.String" },
  lastUpdatedBy: { sql: "last_updated_by", type: "text", javaType: "java.lang.String" },
  "lastUpdatedBy.id": { sql: "last_updated_by", type: "text", javaType: "java.lang.String" },
  configurable: {
    sql: `(CASE WHEN system = 0 AND job_type IN (${configurableList}) THEN 1 ELSE 0 END)`,
    type: "bool",
    javaType: "boolean",
  },
  leaderOnlyJob: { sql: "1", type: "bool", javaType: "boolean" },
};

/** Properties that exist but are computed on read, so SQL cannot filter on them. */
const COMPUTED_PROPERTIES = new Set([
  "href",
  "access",
  "sharing",
  "nextExecutionTime",
  "maxDelayedExecutionTime",
  "lastRuntimeExecution",
  "jobParameters",
  "favorite",
  "favorites",
  "translations",
  "attributeValues",
  "externalAccess",
  "userAccesses",
  "userGroupAccesses",
]);

const JOB_QUERY: QueryProperties = { properties: QUERY_PROPERTIES, computed: COMPUTED_PROPERTIES };

/** All filters plus `query=` (uid, code or a name containing it), joined by the root junction. */
export function compileWhere(filters: string[], rootJunction: "AND" | "OR", query: string | undefined, timeZone: string): SqlFragment {
  let extra: SqlFragment | undefined;
  if (query !== undefined && query.trim() !== "") {
    const q = query.trim();
    const byName = textMatch("name", "contains", q, true);
    extra = { sql: `uid = ? OR code = ? OR ${byName.sql}`, binds: [q, q, ...byName.binds] };
  }
  return compileListWhere(JOB_QUERY, filters, rootJunction, timeZone, extra);
}

/** `order=…` over the job properties; default name (case-insensitive), then uid. */
export function compileOrder(orders: string[]): SqlFragment {
  return compileListOrder(JOB_QUERY, orders, "name COLLATE NOCASE ASC, uid ASC", "uid");
}
