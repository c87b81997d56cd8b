/**
 * Zod schemas of the run history and job error routes: their path and query parameters (validation,
 * types and OpenAPI in one place) and their answers; the headers of their answers.
 */
import { z } from "@hono/zod-openapi";
import { parseDate } from "../http/dates";
import { PagerSchema } from "../http/openapi";
import { queryBool, queryDate, queryIntRange, queryValueList, uidParam } from "../http/params";
import { NO_STORE } from "../http/respond";
import { UID_PATTERN } from "../http/uid";
import { findJobType } from "../jobs/registry";

export const RUN_STATUSES = ["RUNNING", "COMPLETED", "FAILED", "STOPPED", "SKIPPED"] as const;
export const RUN_TRIGGERS = ["CRON", "FIXED_DELAY", "ONCE_ASAP", "MANUAL", "QUEUE", "RECOVERY"] as const;

/** Case-insensitive member of `values`, as its canonical name. */
function member(values: readonly string[]) {
  return (v: string) => values.find((x) => x === v.toUpperCase()) ?? null;
}

const jobTypeList = () =>
  queryValueList(
    (v) => findJobType(v)?.jobType ?? null,
    (v) => `No enum constant org.hisp.dhis.scheduling.JobType.${v.toUpperCase()}`,
  );

export const JSON_HEADERS = { "Content-Type": "application/json;charset=UTF-8", "Cache-Control": NO_STORE };

export const JobIdParam = z.object({ id: uidParam().openapi({ param: { name: "id", in: "path" } }) });

/** A date query value (checked by `queryDate`) as an instant, read in the server zone `tz`. */
export function queryInstant(text: string | undefined, tz: string): number | undefined {
  return text === undefined ? undefined : (parseDate(text, tz) ?? undefined);
}

const date = z.string().openapi({ example: "2026-01-01T03:00:00.000", description: "Server time zone, no offset" });

// ---------------------------------------------------------------------------------------------
// Run history

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 1000;

const runQueryShape = {
  status: queryValueList(member(RUN_STATUSES), () => `Valid values are: [${RUN_STATUSES.join(", ")}]`).openapi({
    items: { type: "string", enum: [...RUN_STATUSES] },
    description: "Run statuses (case-insensitive); repeat or separate with commas",
  }),
  trigger: queryValueList(member(RUN_TRIGGERS), () => `Valid values are: [${RUN_TRIGGERS.join(", ")}]`).openapi({
    items: { type: "string", enum: [...RUN_TRIGGERS] },
    description: "What started the run (case-insensitive); repeat or separate with commas",
  }),
  since: queryDate().openapi({ description: "Runs scheduled at or after this instant (server zone unless an offset is given)" }),
  until: queryDate().openapi({ description: "Runs scheduled at or before this instant" }),
  page: queryIntRange(1, 1, 1_000_000),
  pageSize: queryIntRange(DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE),
};

/** `GET /jobConfigurations/{id}/runs`. */
export const JobRunsQuery = z.object(runQueryShape);
/** `GET /scheduler/runs`: the same, plus the job types. */
export const RunsQuery = z.object({
  ...runQueryShape,
  type: jobTypeList().openapi({ description: "Job types; repeat or separate with commas" }),
});

export const RunSchema = z
  .object({
    id: z.string().openapi({ description: "`<jobId>-<scheduled epoch ms>`: the run id of its run events and executor requests" }),
    jobId: z.string(),
    jobType: z.string(),
    jobName: z.string().optional().openapi({ description: "Absent once the job is deleted" }),
    scheduled: date.openapi({ description: "The occurrence: the schedule's instant, the `execute` call, or the queue's request" }),
    trigger: z.enum(RUN_TRIGGERS),
    triggeredBy: z.string().optional().openapi({ description: "MANUAL: the UID of the user who called `execute`" }),
    queue: z.string().optional().openapi({ description: "The queue the job was in when the run started" }),
    executedBy: z.string().optional().openapi({ description: "The UID of the user the run executed as (absent: the system)" }),
    status: z.enum(RUN_STATUSES),
    started: date.optional(),
    finished: date.optional(),
    durationMs: z.number().int().optional(),
    latenessMs: z.number().int().optional().openapi({ description: "Start lateness: started − scheduled" }),
    errorCodes: z.array(z.string()).openapi({ description: "The run's error codes (E7010 no executor, E7012 lost run, …)" }),
    message: z.string().optional(),
    itemErrors: z
      .number()
      .int()
      .optional()
      .openapi({ description: "Item errors the run reported (`GET /jobConfigurations/{id}/errors` lists those of the last run)" }),
  })
  .openapi("JobRun");

export const RunPageSchema = z.object({ pager: PagerSchema, runs: z.array(RunSchema) }).openapi("JobRunPage");

// ---------------------------------------------------------------------------------------------
// Job errors (DHIS2 2.41+)

export const ErrorsQuery = z.object({
  user: uidParam().optional().openapi({ description: "The UID of the user the run executed as" }),
  from: queryDate().openapi({ description: "The earliest start of the run to include" }),
  to: queryDate().openapi({ description: "The latest start of the run to include" }),
  code: queryValueList(
    (v) => (/^[A-Za-z0-9_.-]{1,64}$/.test(v) ? v : null),
    (v) => `Invalid error code \`${v}\`: 1 to 64 characters of [A-Za-z0-9_.-]`,
  ).openapi({ description: "Error codes, any of them (e.g. E4000)" }),
  object: queryValueList(
    (v) => (UID_PATTERN.test(v) ? v : null),
    (v) => `Invalid UID \`${v}\`: UID must be an alphanumeric string of 11 characters`,
  ).openapi({ description: "UIDs of objects with errors, any of them" }),
  type: jobTypeList().openapi({ description: "Job types, any of them" }),
  includeInput: queryBool(false).openapi({ description: "Add the job's input (its parameters) as `input`" }),
});

/** One item error, as DHIS2's `JobProgress.Error`. */
export const ItemErrorSchema = z
  .object({
    code: z.string().openapi({ example: "E4000" }),
    id: z.string().openapi({ description: "UID of the object that has the error (empty when unknown)" }),
    type: z.string().openapi({ example: "OrganisationUnit" }),
    args: z.array(z.string()),
  })
  .openapi("JobProgressError");

export const JobRunErrorsSchema = z
  .object({
    id: z.string().openapi({ description: "The job's UID" }),
    type: z.string(),
    user: z.string().nullable().openapi({ description: "The UID of the user the run executed as (null: the system)" }),
    created: date.openapi({ description: "When the job was created" }),
    executed: date.openapi({ description: "When the run started" }),
    finished: date.nullable(),
    file: z.null().openapi({ description: "DHIS2's input file resource: none here (always null)" }),
    filesize: z.null(),
    filetype: z.null(),
    codes: z.enum(["ErrorCode", "ValidationCode"]).openapi({ description: "The code namespace (ValidationCode for TRACKER_IMPORT_JOB)" }),
    errors: z.array(ItemErrorSchema.extend({ message: z.string() })),
    input: z.unknown().openapi({ description: "With `includeInput=true` the job's parameters (null when it has none); else null" }),
  })
  .openapi("JobRunErrors", { description: "DHIS2's JobRunErrors: the item errors of a job's last finished run" });
