/** Builds a `JobTypeDef` from the few facts a job type module declares; the rest takes DHIS2's defaults. */
import type { JobParametersDef, JobTypeDef, JobTypeKind, SystemJobDefaults } from "./types";

/** `DATA_INTEGRITY` → `Data integrity` (DHIS2's JobTypeInfo name). */
export function prettyJobTypeName(jobType: string): string {
  const words = jobType.replace(/_/g, " ").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** `DATA_INTEGRITY` → `dataIntegrityJob` (the bean-style key older servers reported). */
export function beanKey(jobType: string): string {
  const camel = jobType.toLowerCase().replace(/_([a-z0-9])/g, (_m, ch: string) => ch.toUpperCase());
  return `${camel}Job`;
}

export interface JobTypeInit {
  jobType: string;
  kind: JobTypeKind;
  /** Overrides the derived bean key (DHIS2's historical keys such as `metadataSyncJob`). */
  key?: string;
  schedulingType?: "CRON" | "FIXED_DELAY";
  independentRuns?: boolean;
  executedByCreator?: boolean;
  notifies?: boolean;
  errorNotification?: boolean;
  continuousExecution?: boolean;
  parameters?: JobParametersDef;
  defaults?: SystemJobDefaults;
  description?: string;
}

export function defineJobType(init: JobTypeInit): JobTypeDef {
  const def: JobTypeDef = {
    jobType: init.jobType,
    name: prettyJobTypeName(init.jobType),
    key: init.key ?? beanKey(init.jobType),
    schedulingType: init.schedulingType ?? "CRON",
    kind: init.kind,
    configurable: init.kind === "configurable",
    system: init.kind === "system",
    independentRuns: init.independentRuns ?? false,
    executedByCreator: init.executedByCreator ?? false,
    notifies: init.notifies ?? false,
    errorNotification: init.errorNotification ?? false,
    continuousExecution: init.continuousExecution ?? false,
  };
  if (init.parameters) def.parameters = init.parameters;
  if (init.defaults) def.defaults = init.defaults;
  if (init.description) def.description = init.description;
  return Object.freeze(def);
}
