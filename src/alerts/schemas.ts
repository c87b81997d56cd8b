/**
 * Alert rules and deliveries as zod schemas: the one source of the body validation, of the types and of
 * the OpenAPI document of `/api/scheduler/alerts` (src/alerts/routes.ts). Limits and names: model.ts.
 *
 * - scope: ALL_JOBS, JOB_TYPES (`jobTypes`) or JOBS (`jobs`);
 * - conditions: `failed`, `lost`, `lateSeconds` (start later than N seconds), `failuresInARow` (K),
 *   `recovered`; unknown condition names are refused (a typo would silently disable an alert);
 * - channel: a webhook (`url` + `secret`, both write-only: reads show the URL's origin and
 *   `secretSet`) or an e-mail `address`.
 * Other unknown members of a rule are ignored, so a client may send back what it read.
 */
import { z } from "@hono/zod-openapi";
import { PagerSchema } from "../http/openapi";

import {
  ALERT_KINDS,
  type Conditions,
  DELIVERY_STATES,
  EMAIL_MAX_LENGTH,
  EMAIL_PATTERN,
  FAILURES_MAX,
  FAILURES_MIN,
  LATE_SECONDS_MAX,
  LATE_SECONDS_MIN,
  MAX_TARGETS,
  NAME_MAX_LENGTH,
  SCOPES,
  SECRET_MAX_LENGTH,
  SECRET_MIN_LENGTH,
  URL_MAX_LENGTH,
} from "./model";

export type { AlertKind, Conditions, DeliveryState, Scope } from "./model";

export const ConditionsSchema = z
  .strictObject({
    failed: z.boolean().optional().openapi({ description: "A run ended FAILED (a lost run too, unless `lost` reports it)" }),
    lost: z.boolean().optional().openapi({ description: "A run was lost (its object died; FAILED with E7012)" }),
    lateSeconds: z
      .number()
      .int()
      .min(LATE_SECONDS_MIN)
      .max(LATE_SECONDS_MAX)
      .optional()
      .openapi({ description: "A run started more than this many seconds after its occurrence" }),
    failuresInARow: z
      .number()
      .int()
      .min(FAILURES_MIN)
      .max(FAILURES_MAX)
      .optional()
      .openapi({ description: "This many failed runs in a row (not with `failed`, which alerts at the first)" }),
    recovered: z.boolean().optional().openapi({ description: "Alert again when a job with an open episode runs healthy again" }),
  })
  .openapi("AlertConditions") satisfies z.ZodType<Conditions>;

const WebhookChannelInput = z.object({
  type: z.literal("WEBHOOK"),
  url: z.string().max(URL_MAX_LENGTH).optional().openapi({
    description: "https URL (required on create; on update absent = keep the stored one)",
    example: "https://hooks.example.org/T0/B0/x",
  }),
  secret: z
    .string()
    .min(SECRET_MIN_LENGTH)
    .max(SECRET_MAX_LENGTH)
    .optional()
    .openapi({ description: "HMAC-SHA-256 key (write-only; required with a new URL)" }),
});
const EmailChannelInput = z.object({
  type: z.literal("EMAIL"),
  address: z.string().max(EMAIL_MAX_LENGTH).regex(EMAIL_PATTERN, "not an e-mail address").openapi({ example: "ops@example.org" }),
});
export const ChannelInputSchema = z.discriminatedUnion("type", [WebhookChannelInput, EmailChannelInput]).openapi("AlertChannelInput");
export type ChannelInput = z.infer<typeof ChannelInputSchema>;

export const AlertRuleInputSchema = z
  .object({
    id: z.string().optional().openapi({ description: "Create only: a UID of your choice (else generated)" }),
    name: z.string().trim().min(1).max(NAME_MAX_LENGTH),
    enabled: z.boolean().optional().openapi({ description: "Default true" }),
    scope: z.enum(SCOPES),
    jobTypes: z.array(z.string().max(100)).max(MAX_TARGETS).optional().openapi({ description: "Scope JOB_TYPES: the job types" }),
    jobs: z.array(z.string().max(100)).max(MAX_TARGETS).optional().openapi({ description: "Scope JOBS: job configuration UIDs" }),
    conditions: ConditionsSchema,
    channel: ChannelInputSchema,
  })
  .openapi("AlertRuleInput");
export type AlertRuleInput = z.infer<typeof AlertRuleInputSchema>;

const WebhookChannelView = z.object({
  type: z.literal("WEBHOOK"),
  url: z.string().openapi({ description: "Origin only: the path and query may carry a credential (write-only)" }),
  secretSet: z.boolean(),
});
const EmailChannelView = z.object({ type: z.literal("EMAIL"), address: z.string() });

export const AlertRuleSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    enabled: z.boolean(),
    scope: z.enum(SCOPES),
    jobTypes: z.array(z.string()).optional(),
    jobs: z.array(z.string()).optional(),
    conditions: ConditionsSchema,
    channel: z.discriminatedUnion("type", [WebhookChannelView, EmailChannelView]),
    created: z.string(),
    lastUpdated: z.string(),
    createdBy: z.string().optional(),
    lastUpdatedBy: z.string().optional(),
  })
  .openapi("AlertRule");
export type AlertRuleView = z.infer<typeof AlertRuleSchema>;

export const AlertRuleListSchema = z.object({ alertRules: z.array(AlertRuleSchema) }).openapi("AlertRuleList");

export const AlertDeliverySchema = z
  .object({
    id: z.string().openapi({ description: "Also the payload's `id` and the request's `Idempotency-Key`" }),
    alert: z.enum(ALERT_KINDS),
    state: z.enum(DELIVERY_STATES),
    channel: z.enum(["WEBHOOK", "EMAIL"]),
    jobId: z.string(),
    jobName: z.string().optional(),
    jobType: z.string().optional(),
    eventId: z.string(),
    attempts: z.number().int(),
    created: z.string(),
    lastAttempt: z.string().optional(),
    nextAttempt: z.string().optional(),
    delivered: z.string().optional(),
    lastStatus: z.number().int().optional().openapi({ description: "HTTP status of the last answer" }),
    lastError: z.string().optional(),
  })
  .openapi("AlertDelivery");
export type AlertDeliveryView = z.infer<typeof AlertDeliverySchema>;

export const AlertDeliveryListSchema = z
  .object({ pager: PagerSchema, deliveries: z.array(AlertDeliverySchema) })
  .openapi("AlertDeliveryList");
