/**
 * The JSON of a run's progress tree (DHIS2's `JobProgress.Progress`), as `/jobConfigurations/{id}/progress`
 * and `/scheduling/{running,completed}/{type}` answer it: the OpenAPI schema, and through it the type
 * `progressJson` (progress.ts) builds. Only the routes load this module; the job objects import the
 * type alone (no zod in them).
 */
import { z } from "@hono/zod-openapi";

export const ProgressStatusSchema = z.enum(["RUNNING", "SUCCESS", "WARNING", "ERROR", "CANCELLED"]);
export const ProgressDateSchema = z.string().openapi({ example: "2026-01-01T03:00:00.000" });

const node = {
  description: z.string(),
  status: ProgressStatusSchema,
  startedTime: ProgressDateSchema.optional(),
  completedTime: ProgressDateSchema.optional(),
  cancelledTime: ProgressDateSchema.optional(),
  summary: z.string().optional(),
  error: z.string().optional().openapi({ description: "Only for superusers and F_JOB_LOG_READ" }),
};

const ItemErrorJsonSchema = z.object({ code: z.string(), id: z.string(), type: z.string(), args: z.array(z.string()) });

export const ProgressSchema = z
  .object({
    sequence: z.array(
      z.object({
        jobId: z.string(),
        userId: z.string().optional(),
        ...node,
        stages: z.array(
          z.object({
            ...node,
            totalItems: z.number().int(),
            onFailure: z.string(),
            items: z.array(z.object(node)),
          }),
        ),
      }),
    ),
    errors: z.record(z.string(), z.record(z.string(), z.array(ItemErrorJsonSchema))).openapi({
      description: "Item errors by object id, then by error code (empty for callers without F_JOB_LOG_READ)",
    }),
  })
  .openapi("SchedulingProgress", { description: "DHIS2's JobProgress.Progress: processes of stages of items (dates in the server zone)" });

export type ProgressJson = z.infer<typeof ProgressSchema>;
/** One node of the tree (a process, stage or item) without its children. */
export type ProgressNodeJson = ProgressJson["sequence"][number]["stages"][number]["items"][number];
