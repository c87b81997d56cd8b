/**
 * Zod schemas of the job configuration API, for validation of query/path input and for the
 * OpenAPI document. Request bodies are documented with a registered component but read by the
 * handlers themselves, so that every problem of a body lands in one 409 ObjectReport.
 */
import { z } from "@hono/zod-openapi";
import { PagerSchema } from "../http/openapi";
import { UID_PATTERN } from "../http/uid";
import { FILTER_OPERATORS_DOC, queryBool, queryInt, repeatableQuery, rootJunctionQuery } from "../http/params";
import { CONFIGURABLE_JOB_TYPE_NAMES } from "../jobs/registry";

const repeatable = repeatableQuery;

export const ListQuerySchema = z.object({
  fields: repeatable(
    "Field filter: `id,name`, presets `*` `:all` `:identifiable` `:simple` `:owner`, nesting `a[b,c]`, exclusion `!x`. Default `id,displayName`.",
  ),
  filter: repeatable(FILTER_OPERATORS_DOC),
  rootJunction: rootJunctionQuery(),
  order: repeatable("`property[:asc|desc|iasc|idesc]`, repeatable or comma-separated. Default `name:iasc`."),
  query: z.string().optional().openapi({ description: "Matches `id` or `code` exactly, or `name` (contains, case-insensitive)." }),
  paging: queryBool(true),
  page: queryInt(1),
  pageSize: queryInt(50),
});

export const ObjectQuerySchema = z.object({
  fields: repeatable("Field filter (default `*`)."),
});

/** The path UID. Checked by the handler (so that other modules' static sub-paths still route). */
export const UidPathSchema = z.object({
  id: z.string().openapi({ param: { name: "id", in: "path" }, pattern: UID_PATTERN.source, example: "KBcP6Qw37gT" }),
});

const Ref = z.object({ id: z.string() });

export const PropertySchema = z
  .object({
    name: z.string(),
    fieldName: z.string(),
    klass: z.string(),
    propertyType: z.string(),
    itemKlass: z.string().optional(),
    itemPropertyType: z.string().optional(),
    collection: z.boolean(),
    collectionName: z.string().optional(),
    required: z.boolean(),
    defaultValue: z.unknown().optional(),
    constants: z.array(z.string()).optional(),
    relativeApiEndpoint: z.string().optional(),
    min: z.number().optional(),
    max: z.number().optional(),
  })
  .passthrough()
  .openapi("Property");

export const JobTypeInfoSchema = z
  .object({
    name: z.string().openapi({ example: "Data integrity" }),
    jobType: z.string().openapi({ example: "DATA_INTEGRITY" }),
    key: z.string().openapi({ example: "dataIntegrityJob" }),
    schedulingType: z.enum(["CRON", "FIXED_DELAY"]),
    jobParameters: z.array(PropertySchema),
  })
  .openapi("JobTypeInfo");

export const JobTypesSchema = z.object({ jobTypes: z.array(JobTypeInfoSchema) }).openapi("JobTypes");

export const JobTypesExtendedSchema = z
  .record(z.string(), z.record(z.string(), PropertySchema))
  .openapi("JobTypesExtended", { description: "Configurable job types mapped to their parameters by name." });

export const SchedulingTypeSchema = z.enum(["CRON", "FIXED_DELAY", "ONCE_ASAP"]);
export const JobStatusSchema = z.enum(["RUNNING", "SCHEDULED", "DISABLED", "COMPLETED", "STOPPED", "FAILED", "NOT_STARTED"]);
export type JobStatus = z.infer<typeof JobStatusSchema>;

export const JobConfigurationSchema = z
  .object({
    id: z.string(),
    href: z.string().optional(),
    created: z.string().optional(),
    lastUpdated: z.string().optional(),
    createdBy: Ref.optional(),
    lastUpdatedBy: Ref.optional(),
    name: z.string().optional(),
    displayName: z.string().optional(),
    code: z.string().optional(),
    jobType: z.string().optional(),
    schedulingType: SchedulingTypeSchema.optional(),
    cronExpression: z.string().optional(),
    delay: z.number().int().optional(),
    jobParameters: z.record(z.string(), z.unknown()).optional(),
    enabled: z.boolean().optional(),
    jobStatus: JobStatusSchema.optional(),
    lastExecutedStatus: JobStatusSchema.optional(),
    lastExecuted: z.string().optional(),
    lastFinished: z.string().optional(),
    lastAlive: z.string().optional(),
    lastRuntimeExecution: z.string().optional(),
    nextExecutionTime: z.string().optional(),
    maxDelayedExecutionTime: z.string().optional(),
    executedBy: z.string().optional(),
    userUid: z.string().optional(),
    queueName: z.string().optional(),
    queuePosition: z.number().int().optional(),
    errorCodes: z.string().optional(),
    configurable: z.boolean().optional(),
    leaderOnlyJob: z.boolean().optional(),
    access: z.record(z.string(), z.boolean()).optional(),
  })
  .passthrough()
  .openapi("JobConfiguration", { description: "Members depend on `fields`; null members are omitted." });

export const JobConfigurationListSchema = z
  .object({ pager: PagerSchema.optional(), jobConfigurations: z.array(JobConfigurationSchema) })
  .openapi("JobConfigurationList");

/** What clients send (documentation; the handler reads it leniently and validates it as DHIS2 does). */
export const JobConfigurationInputSchema = z
  .object({
    id: z.string().optional().openapi({ description: "Client-supplied UID (create only)." }),
    name: z.string().max(230),
    code: z.string().max(50).optional(),
    jobType: z.enum(CONFIGURABLE_JOB_TYPE_NAMES as [string, ...string[]]).openapi({ description: "Create only; ignored on update." }),
    schedulingType: SchedulingTypeSchema.optional(),
    cronExpression: z.string().optional().openapi({ description: "Spring 6-field cron (seconds first).", example: "0 0 3 ? * *" }),
    delay: z
      .union([z.number().int().min(1), z.string()])
      .optional()
      .openapi({ description: "Seconds (FIXED_DELAY); numeric strings accepted." }),
    jobParameters: z.record(z.string(), z.unknown()).optional(),
    enabled: z.boolean().optional().openapi({ description: "Create only; PUT keeps the stored value (use PATCH, /enable, /disable)." }),
    executedBy: z.string().optional(),
  })
  .passthrough()
  .openapi("JobConfigurationInput");

export const PatchInputSchema = z.object({ enabled: z.boolean().optional() }).passthrough().openapi("JobConfigurationPatch", {
  description:
    "Partial update (members merged over the stored job); `enabled` switches the job on or off. A JSON Patch array (`application/json-patch+json`) of add/replace/remove on top-level members is accepted too.",
});
