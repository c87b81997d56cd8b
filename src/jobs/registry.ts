/**
 * The job type catalogue in DHIS2's enum order: the 2.42 user-configurable types, the programmatic
 * types, the system types (seeded jobs), then older names kept as valid task categories.
 *
 * Other modules use: `JOB_TYPES`, `ALL_JOB_TYPES`/`TASK_CATEGORIES` (names), `getJobType`,
 * `findJobType` (case-insensitive), `isJobType`, `jobTypeTraits` (configurable/system/independentRuns/
 * executedByCreator/notifies), `SYSTEM_JOBS` (seeded defaults) and `jobTypeInfo` (the `/jobTypes` entry).
 */
import type { JobProperty, JobTypeDef, SystemJobDefaults } from "./types";
import { DATA_INTEGRITY } from "./data-integrity";
import { DATA_INTEGRITY_DETAILS } from "./data-integrity-details";
import { RESOURCE_TABLE } from "./resource-table";
import { ANALYTICS_TABLE } from "./analytics-table";
import { CONTINUOUS_ANALYTICS_TABLE } from "./continuous-analytics-table";
import { DATA_SYNC } from "./data-sync";
import { SINGLE_EVENT_DATA_SYNC } from "./single-event-data-sync";
import { TRACKED_ENTITY_DATA_SYNC } from "./tracked-entity-data-sync";
import { META_DATA_SYNC } from "./meta-data-sync";
import { AGGREGATE_DATA_EXCHANGE } from "./aggregate-data-exchange";
import { SEND_SCHEDULED_MESSAGE } from "./send-scheduled-message";
import { PROGRAM_NOTIFICATIONS } from "./program-notifications";
import { MONITORING } from "./monitoring";
import { PUSH_ANALYSIS } from "./push-analysis";
import { HTML_PUSH_ANALYTICS } from "./html-push-analytics";
import { TRACKER_TRIGRAM_INDEX_MAINTENANCE } from "./tracker-trigram-index-maintenance";
import { PREDICTOR } from "./predictor";
import { MATERIALIZED_SQL_VIEW_UPDATE } from "./materialized-sql-view-update";
import { DISABLE_INACTIVE_USERS } from "./disable-inactive-users";
import { TEST } from "./test";
import { LOCK_EXCEPTION_CLEANUP } from "./lock-exception-cleanup";
import { MOCK } from "./mock";
import { SMS_SEND } from "./sms-send";
import { SMS_INBOUND_PROCESSING } from "./sms-inbound-processing";
import { TRACKER_IMPORT_JOB } from "./tracker-import-job";
import { TRACKER_IMPORT_NOTIFICATION_JOB } from "./tracker-import-notification-job";
import { TRACKER_IMPORT_RULE_ENGINE_JOB } from "./tracker-import-rule-engine-job";
import { IMAGE_PROCESSING } from "./image-processing";
import { COMPLETE_DATA_SET_REGISTRATION_IMPORT } from "./complete-data-set-registration-import";
import { DATAVALUE_IMPORT_INTERNAL } from "./datavalue-import-internal";
import { METADATA_IMPORT } from "./metadata-import";
import { DATAVALUE_IMPORT } from "./datavalue-import";
import { GEOJSON_IMPORT } from "./geojson-import";
import { GML_IMPORT } from "./gml-import";
import { HOUSEKEEPING } from "./housekeeping";
import { DATA_VALUE_TRIM } from "./data-value-trim";
import { DATA_SET_NOTIFICATION } from "./data-set-notification";
import { CREDENTIALS_EXPIRY_ALERT } from "./credentials-expiry-alert";
import { DATA_STATISTICS } from "./data-statistics";
import { FILE_RESOURCE_CLEANUP } from "./file-resource-cleanup";
import { ACCOUNT_EXPIRY_ALERT } from "./account-expiry-alert";
import { VALIDATION_RESULTS_NOTIFICATION } from "./validation-results-notification";
import { REMOVE_USED_OR_EXPIRED_RESERVED_VALUES } from "./remove-used-or-expired-reserved-values";
import { SYSTEM_VERSION_UPDATE_CHECK } from "./system-version-update-check";
import { EVENT_IMPORT } from "./event-import";
import { ENROLLMENT_IMPORT } from "./enrollment-import";
import { TEI_IMPORT } from "./tei-import";
import { ANALYTICSTABLE_UPDATE } from "./analyticstable-update";
import { REMOVE_EXPIRED_RESERVED_VALUES } from "./remove-expired-reserved-values";
import { PROGRAM_DATA_SYNC } from "./program-data-sync";
import { TRACKER_PROGRAMS_DATA_SYNC } from "./tracker-programs-data-sync";
import { EVENT_PROGRAMS_DATA_SYNC } from "./event-programs-data-sync";
import { TRACKER_SEARCH_OPTIMIZATION } from "./tracker-search-optimization";
import { LEADER_ELECTION } from "./leader-election";
import { LEADER_RENEWAL } from "./leader-renewal";
import { KAFKA_TRACKER } from "./kafka-tracker";

export type { JobProperty, JobTypeDef, SystemJobDefaults } from "./types";

export const JOB_TYPES: readonly JobTypeDef[] = Object.freeze([
  DATA_INTEGRITY,
  DATA_INTEGRITY_DETAILS,
  RESOURCE_TABLE,
  ANALYTICS_TABLE,
  CONTINUOUS_ANALYTICS_TABLE,
  DATA_SYNC,
  SINGLE_EVENT_DATA_SYNC,
  TRACKED_ENTITY_DATA_SYNC,
  META_DATA_SYNC,
  AGGREGATE_DATA_EXCHANGE,
  SEND_SCHEDULED_MESSAGE,
  PROGRAM_NOTIFICATIONS,
  MONITORING,
  PUSH_ANALYSIS,
  HTML_PUSH_ANALYTICS,
  TRACKER_TRIGRAM_INDEX_MAINTENANCE,
  PREDICTOR,
  MATERIALIZED_SQL_VIEW_UPDATE,
  DISABLE_INACTIVE_USERS,
  TEST,
  LOCK_EXCEPTION_CLEANUP,
  MOCK,
  SMS_SEND,
  SMS_INBOUND_PROCESSING,
  TRACKER_IMPORT_JOB,
  TRACKER_IMPORT_NOTIFICATION_JOB,
  TRACKER_IMPORT_RULE_ENGINE_JOB,
  IMAGE_PROCESSING,
  COMPLETE_DATA_SET_REGISTRATION_IMPORT,
  DATAVALUE_IMPORT_INTERNAL,
  METADATA_IMPORT,
  DATAVALUE_IMPORT,
  GEOJSON_IMPORT,
  GML_IMPORT,
  HOUSEKEEPING,
  DATA_VALUE_TRIM,
  DATA_SET_NOTIFICATION,
  CREDENTIALS_EXPIRY_ALERT,
  DATA_STATISTICS,
  FILE_RESOURCE_CLEANUP,
  ACCOUNT_EXPIRY_ALERT,
  VALIDATION_RESULTS_NOTIFICATION,
  REMOVE_USED_OR_EXPIRED_RESERVED_VALUES,
  SYSTEM_VERSION_UPDATE_CHECK,
  EVENT_IMPORT,
  ENROLLMENT_IMPORT,
  TEI_IMPORT,
  ANALYTICSTABLE_UPDATE,
  REMOVE_EXPIRED_RESERVED_VALUES,
  PROGRAM_DATA_SYNC,
  TRACKER_PROGRAMS_DATA_SYNC,
  EVENT_PROGRAMS_DATA_SYNC,
  TRACKER_SEARCH_OPTIMIZATION,
  LEADER_ELECTION,
  LEADER_RENEWAL,
  KAFKA_TRACKER,
]);

const BY_NAME = new Map(JOB_TYPES.map((t) => [t.jobType, t]));
const BY_UPPER = new Map(JOB_TYPES.map((t) => [t.jobType.toUpperCase(), t]));

/** Every job type name, in catalogue order: the valid notification (task) categories. */
export const ALL_JOB_TYPES: readonly string[] = Object.freeze(JOB_TYPES.map((t) => t.jobType));
export const TASK_CATEGORIES = ALL_JOB_TYPES;

/** Types users may create, in enum order (what `/jobTypes` lists). */
export const CONFIGURABLE_JOB_TYPES: readonly JobTypeDef[] = Object.freeze(JOB_TYPES.filter((t) => t.configurable));
export const CONFIGURABLE_JOB_TYPE_NAMES: readonly string[] = Object.freeze(CONFIGURABLE_JOB_TYPES.map((t) => t.jobType));

/** Types with a seeded system job. */
export const SYSTEM_JOB_TYPES: readonly JobTypeDef[] = Object.freeze(JOB_TYPES.filter((t) => t.system));

/** The seeded system jobs (DHIS2's fixed UIDs, names and schedules), with their type. */
export const SYSTEM_JOBS: readonly (SystemJobDefaults & { jobType: string })[] = Object.freeze(
  SYSTEM_JOB_TYPES.map((t) => ({ jobType: t.jobType, ...(t.defaults as SystemJobDefaults) })),
);

export const SYSTEM_JOB_UIDS: ReadonlySet<string> = new Set(SYSTEM_JOBS.map((j) => j.uid));

/** Exact (case-sensitive) lookup. */
export function getJobType(jobType: string): JobTypeDef | undefined {
  return BY_NAME.get(jobType);
}

/** Case-insensitive lookup (older clients send `dataintegrity`-style names in paths). */
export function findJobType(jobType: string): JobTypeDef | undefined {
  return BY_NAME.get(jobType) ?? BY_UPPER.get(jobType.trim().toUpperCase());
}

export function isJobType(jobType: string): boolean {
  return BY_NAME.has(jobType);
}

/** The scheduling traits of a job type, as its definition declares them. */
export type JobTypeTraits = Pick<
  JobTypeDef,
  "configurable" | "system" | "independentRuns" | "executedByCreator" | "notifies" | "errorNotification" | "continuousExecution"
>;

const NO_TRAITS: JobTypeTraits = {
  configurable: false,
  system: false,
  independentRuns: false,
  executedByCreator: false,
  notifies: false,
  errorNotification: false,
  continuousExecution: false,
};

/** Scheduling traits of a type; an unknown name gets all-false traits. */
export function jobTypeTraits(jobType: string): JobTypeTraits {
  const t = BY_NAME.get(jobType);
  if (!t) return NO_TRAITS;
  return {
    configurable: t.configurable,
    system: t.system,
    independentRuns: t.independentRuns,
    executedByCreator: t.executedByCreator,
    notifies: t.notifies,
    errorNotification: t.errorNotification,
    continuousExecution: t.continuousExecution,
  };
}

export const isConfigurableJobType = (jobType: string) => BY_NAME.get(jobType)?.configurable === true;
export const isSystemJobType = (jobType: string) => BY_NAME.get(jobType)?.system === true;
export const hasIndependentRuns = (jobType: string) => BY_NAME.get(jobType)?.independentRuns === true;
export const isExecutedByCreator = (jobType: string) => BY_NAME.get(jobType)?.executedByCreator === true;
export const usesNotifications = (jobType: string) => BY_NAME.get(jobType)?.notifies === true;

/** A `/api/jobConfigurations/jobTypes` entry: `{name, jobType, key, schedulingType, jobParameters}`. */
export interface JobTypeInfo {
  name: string;
  jobType: string;
  key: string;
  schedulingType: "CRON" | "FIXED_DELAY";
  jobParameters: JobProperty[];
}

export function jobTypeInfo(t: JobTypeDef): JobTypeInfo {
  return {
    name: t.name,
    jobType: t.jobType,
    key: t.key,
    schedulingType: t.schedulingType,
    jobParameters: t.parameters ? t.parameters.properties : [],
  };
}

/** Default parameters of a type (undefined when the type has no parameters class). */
export function defaultJobParameters(jobType: string): Record<string, unknown> | undefined {
  return BY_NAME.get(jobType)?.parameters?.defaults();
}
