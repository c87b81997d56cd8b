/**
 * DHIS2 ErrorReports for job configurations and job parameters. Message templates follow DHIS2's
 * `ErrorCode` wording (`{0}`… placeholders filled with the arguments).
 */
import type { ErrorReport } from "../http/webmessage";

export const JOB_CONFIGURATION_KLASS = "org.hisp.dhis.scheduling.JobConfiguration";

export const ERROR_TEMPLATES = {
  E1003: "Invalid value for property `{0}`: {1}",
  E1004: "{0}",
  E4000: "Missing required property `{0}`",
  E4001: "Maximum length of property `{0}`is {1}, but given length was {2}",
  E4002: "Allowed length range for property `{0}` is [{1} to {2}], but given length was {3}",
  E4008: "Allowed range for numeric property `{0}` is [{1} to {2}], but number given was {3}",
  E4014: "Invalid UID `{0}` for property `{1}`",
  E4027: "Value `{0}` is not a valid for property `{1}`",
  E4029: "Job parameters cannot be null for job type: {0}",
  E5003: "Property `{0}` with value `{1}` on object {2} already exists on object {3}",
  E7000: "Job of same type already scheduled with cron expression: `{0}`",
  E7003: "Only interval property can be configured for non configurable job type: `{0}`",
  E7004: "Cron expression must be not null for job with scheduling type CRON: `{0}`",
  E7005: "Cron expression is invalid: `{0}`",
  E7007: "Delay must be not null for job with scheduling type FIXED_DELAY: `{0}`",
  E7010: "Failed to validate job runtime: `{0}`",
} as const;

export type JobErrorCode = keyof typeof ERROR_TEMPLATES;

/**
 * Fills `{n}` placeholders as Java's MessageFormat does: numbers with the English grouping
 * separator (`30,000`), everything else as text.
 */
export function formatTemplate(template: string, args: unknown[]): string {
  return template.replace(/\{(\d+)\}/g, (whole, i: string) => {
    const n = Number(i);
    if (n >= args.length) return whole;
    const v = args[n];
    return typeof v === "number" && Number.isFinite(v) ? v.toLocaleString("en-US", { maximumFractionDigits: 3 }) : argText(v);
  });
}

function argText(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (Array.isArray(v)) return `[${v.map(argText).join(", ")}]`;
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

export interface ErrorReportOptions {
  errorProperty?: string;
  mainId?: string;
  errorKlass?: string;
  value?: unknown;
  /** Replaces the formatted template (for messages DHIS2 builds elsewhere). */
  message?: string;
}

/** One ErrorReport with DHIS2's member order; `errorProperties` carries the raw arguments. */
export function errorReport(
  mainKlass: string,
  errorCode: JobErrorCode | string,
  args: unknown[],
  opts: ErrorReportOptions = {},
): ErrorReport {
  const template = (ERROR_TEMPLATES as Record<string, string>)[errorCode] ?? "{0}";
  const report: ErrorReport = {
    message: opts.message ?? formatTemplate(template, args),
    mainKlass,
    errorProperties: [],
    errorCode,
    args: args.map(argText),
  };
  // Rebuild in DHIS2's order: message, mainKlass, mainId?, errorKlass?, errorProperty?, errorProperties, errorCode, args, value?
  const ordered: ErrorReport = { message: report.message, mainKlass } as ErrorReport;
  if (opts.mainId !== undefined) ordered.mainId = opts.mainId;
  if (opts.errorKlass !== undefined) ordered.errorKlass = opts.errorKlass;
  if (opts.errorProperty !== undefined) ordered.errorProperty = opts.errorProperty;
  ordered.errorProperties = args.map((a) => (a === undefined ? null : a)) as string[];
  ordered.errorCode = errorCode;
  ordered.args = report.args;
  if (opts.value !== undefined) ordered.value = opts.value;
  return ordered;
}
