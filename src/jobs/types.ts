/**
 * Shapes of the job type catalogue. Every job type is one module under `src/jobs/` that exports a
 * `JobTypeDef` built with `defineJobType`; `registry.ts` lists them in DHIS2's enum order.
 */
import type { z } from "zod";
import type { ErrorReport } from "../http/webmessage";

export type SchedulingType = "CRON" | "FIXED_DELAY" | "ONCE_ASAP";

/** Where a type comes from: user-configurable, used by the server itself, a seeded system job, or an older name kept as a category. */
export type JobTypeKind = "configurable" | "programmatic" | "system" | "legacy";

/** DHIS2's schema `Property`, as `/api/jobConfigurations/jobTypes` lists it for each parameter. */
export interface JobProperty {
  name: string;
  fieldName: string;
  klass: string;
  propertyType: string;
  itemKlass?: string;
  itemPropertyType?: string;
  collection: boolean;
  collectionName?: string;
  required: boolean;
  defaultValue?: unknown;
  constants?: string[];
  relativeApiEndpoint?: string;
  min?: number;
  max?: number;
  persisted: boolean;
  attribute: boolean;
  simple: boolean;
  ordered: boolean;
  owner: boolean;
  identifiableObject: boolean;
  nameableObject: boolean;
  embeddedObject: boolean;
  analyticalObject: boolean;
  readable: boolean;
  writable: boolean;
  unique: boolean;
  manyToMany: boolean;
  oneToOne: boolean;
  manyToOne: boolean;
  translatable: boolean;
}

/** Outcome of reading a `jobParameters` member: the normalised object (defaults filled in) or errors. */
export interface ParametersResult {
  value: Record<string, unknown>;
  errors: ErrorReport[];
}

/** The parameters of one job type: a lenient zod schema, DHIS2 Property metadata, defaults and rules. */
export interface JobParametersDef {
  /** Java class name of DHIS2's parameters class (used as `mainKlass` of parameter errors). */
  klass: string;
  /** Lenient (Jackson-like) input schema: numeric strings become numbers, `""` is absent, unknown members dropped. */
  schema: z.ZodType<Record<string, unknown>>;
  /** One Property per parameter, in DHIS2's declaration order. */
  properties: JobProperty[];
  /** A fresh default parameters object (what DHIS2's no-argument constructor gives). */
  defaults(): Record<string, unknown>;
  /** Reads raw JSON (`undefined`/`null` = none given → defaults) and validates it. */
  parse(raw: unknown): ParametersResult;
}

/** A default (system) job configuration DHIS2 creates automatically. */
export interface SystemJobDefaults {
  uid: string;
  name: string;
  cronExpression?: string;
  delay?: number;
}

export interface JobTypeDef {
  /** Enum name, e.g. `DATA_INTEGRITY`. */
  jobType: string;
  /** DHIS2's pretty name: `Data integrity`. */
  name: string;
  /** Bean-style key: `dataIntegrityJob`. */
  key: string;
  /** Scheduling type `/jobTypes` reports: FIXED_DELAY only for CONTINUOUS_ANALYTICS_TABLE. */
  schedulingType: "CRON" | "FIXED_DELAY";
  kind: JobTypeKind;
  /** Users may create jobs of this type (listed in `/jobTypes`). */
  configurable: boolean;
  /** A system job type: DHIS2 seeds one job of it with a fixed UID; it cannot be created, changed or deleted. */
  system: boolean;
  /** Runs of different jobs of this type may overlap (only the same job is exclusive). */
  independentRuns: boolean;
  /** `executedBy` is set to the creating user on create (DHIS2's isValidUserRequiredForJob and the sync types). */
  executedByCreator: boolean;
  /** DHIS2's isUsingNotifications: progress is forwarded to the notifier at INFO level. */
  notifies: boolean;
  /** DHIS2's isUsingErrorNotification: a failure is e-mailed to the system admins. */
  errorNotification: boolean;
  /** DHIS2's isUsingContinuousExecution: all due jobs of the type are drained, not only the oldest. */
  continuousExecution: boolean;
  /** Parameters, when the type has a parameters class. */
  parameters?: JobParametersDef;
  /** The seeded job of a system type. */
  defaults?: SystemJobDefaults;
  /** One line describing the type, for the OpenAPI document and the docs page. */
  description?: string;
}
