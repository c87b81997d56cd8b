/**
 * Validation of an alert rule body beyond its zod shape, with DHIS2's ErrorReports: every problem
 * of one request in one 409 ObjectReport (as job configurations report theirs).
 *
 * - zod issues become E4000 (missing), E4001/E4002 (length), E4008 (numeric range), E1003 (other);
 * - scope and its list: JOB_TYPES needs known job types, JOBS needs existing job configurations
 *   (E5002), ALL_JOBS takes neither;
 * - conditions: at least one that opens an episode; `failed` and `failuresInARow` exclude each other;
 * - webhook: an absolute https URL without credentials (plain http only to a loopback host in local
 *   development, `isLocalDevelopment` of src/users/bootstrap.ts); a new URL needs its secret;
 * - e-mail: only where the send_email binding ALERT_EMAIL and ALERT_EMAIL_FROM are configured.
 */
import type { z } from "@hono/zod-openapi";
import { isValidUid } from "../http/uid";
import type { ErrorReport } from "../http/webmessage";
import { errorReport } from "../jobs/errors";
import { findJobType } from "../jobs/registry";
import { ALERT_RULE_KLASS as K, emailConfigured, type MailEnv, maskUrl, webhookUrlProblem } from "./model";
import type { AlertRuleInput } from "./schemas";
import type { RuleRow, RuleWrite } from "./store";

const report = (code: string, args: unknown[], property: string, message?: string) =>
  errorReport(K, code, args, { errorProperty: property, ...(message ? { message } : {}) });

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v = raw;
  for (const key of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

const propertyName = (path: readonly PropertyKey[]) => path.map(String).join(".") || "body";

/** ErrorReports for the zod issues of a body (`raw` is the body as received). */
export function issueReports(issues: readonly z.core.$ZodIssue[], raw: unknown): ErrorReport[] {
  const out: ErrorReport[] = [];
  for (const issue of issues) {
    const property = propertyName(issue.path);
    const value = valueAt(raw, issue.path);
    if (value === undefined && issue.code !== "unrecognized_keys" && issue.code !== "custom") {
      out.push(report("E4000", [property], property));
    } else if ((issue.code === "too_big" || issue.code === "too_small") && issue.origin === "string" && typeof value === "string") {
      out.push(
        issue.code === "too_big"
          ? report("E4001", [property, issue.maximum, value.length], property)
          : report(
              "E4002",
              [property, issue.minimum, "max", value.length],
              property,
              minLengthMessage(property, issue.minimum, value.length),
            ),
      );
    } else if ((issue.code === "too_big" || issue.code === "too_small") && issue.origin === "number" && typeof value === "number") {
      const [min, max] = issue.code === "too_big" ? ["min", issue.maximum] : [issue.minimum, "max"];
      out.push(report("E4008", [property, min, max, value], property, rangeMessage(property, issue, value)));
    } else if (issue.code === "too_big" && issue.origin === "array") {
      out.push(report("E1003", [property, `at most ${issue.maximum} entries`], property));
    } else if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        const name = property === "body" ? key : `${property}.${key}`;
        out.push(report("E1003", [name, "unknown property"], name, unknownKeyMessage(property, key)));
      }
    } else if (issue.code === "invalid_value") {
      out.push(report("E1003", [property, `valid values are ${JSON.stringify(issue.values)}`], property));
    } else if (issue.code === "invalid_union" && property === "channel.type") {
      out.push(report("E1003", [property, 'valid values are ["WEBHOOK","EMAIL"]'], property));
    } else {
      out.push(report("E1003", [property, issue.message], property));
    }
  }
  return out;
}

function minLengthMessage(property: string, min: number | bigint, given: number): string {
  return `Property \`${property}\` needs at least ${min} characters, but given length was ${given}`;
}

function rangeMessage(property: string, issue: z.core.$ZodIssueTooBig | z.core.$ZodIssueTooSmall, value: number): string {
  return issue.code === "too_big"
    ? `Property \`${property}\` is at most ${issue.maximum}, but number given was ${value}`
    : `Property \`${property}\` is at least ${issue.minimum}, but number given was ${value}`;
}

function unknownKeyMessage(property: string, key: string): string {
  return property === "conditions"
    ? `Unknown condition \`${key}\`: valid conditions are [failed, lost, lateSeconds, failuresInARow, recovered]`
    : `Unknown property \`${property}.${key}\``;
}

/** What validating a rule needs from the server. */
export interface RuleContext {
  env: MailEnv;
  /** Local development (`isLocalDevelopment`): webhooks may then be plain http to a loopback host. */
  localDevelopment: boolean;
  /** Job configuration UIDs among the given ones that exist (D1). */
  existingJobs(uids: string[]): Promise<Set<string>>;
}

/**
 * Checks a zod-valid body against the server and the stored rule (`existing`, on update) and returns
 * what to write with every problem found. `uid` is the rule's id (the client's on create, else generated).
 */
export async function checkRule(
  input: AlertRuleInput,
  uid: string,
  existing: RuleRow | null,
  ctx: RuleContext,
): Promise<{ write: RuleWrite | null; errors: ErrorReport[] }> {
  const errors: ErrorReport[] = [];
  if (!existing && input.id !== undefined && input.id !== "" && !isValidUid(input.id)) errors.push(report("E4014", [input.id, "id"], "id"));

  const jobTypes = [...new Set(input.jobTypes ?? [])];
  const jobs = [...new Set(input.jobs ?? [])];
  if (input.scope === "JOB_TYPES") {
    if (jobTypes.length === 0)
      errors.push(report("E4000", ["jobTypes"], "jobTypes", "Missing required property `jobTypes` for scope JOB_TYPES"));
    for (const t of jobTypes) if (!findJobType(t)) errors.push(report("E1003", ["jobTypes", `unknown job type \`${t}\``], "jobTypes"));
  } else if (jobTypes.length > 0) {
    errors.push(report("E1003", ["jobTypes", "only scope JOB_TYPES takes job types"], "jobTypes"));
  }
  if (input.scope === "JOBS") {
    if (jobs.length === 0) errors.push(report("E4000", ["jobs"], "jobs", "Missing required property `jobs` for scope JOBS"));
    const bad = jobs.filter((j) => !isValidUid(j));
    for (const j of bad) errors.push(report("E4014", [j, "jobs"], "jobs"));
    const valid = jobs.filter((j) => isValidUid(j));
    const found = await ctx.existingJobs(valid);
    for (const j of valid) {
      if (!found.has(j)) {
        errors.push(
          report("E5002", [j, "AlertRule", "jobs"], "jobs", `Invalid reference \`${j}\` on object AlertRule for association \`jobs\``),
        );
      }
    }
  } else if (jobs.length > 0) {
    errors.push(report("E1003", ["jobs", "only scope JOBS takes jobs"], "jobs"));
  }

  const c = input.conditions;
  if (!c.failed && !c.lost && c.lateSeconds === undefined && c.failuresInARow === undefined) {
    errors.push(
      report(
        "E4000",
        ["conditions"],
        "conditions",
        "An alert rule needs a condition that opens an episode: failed, lost, lateSeconds or failuresInARow",
      ),
    );
  }
  if (c.failed && c.failuresInARow !== undefined) {
    errors.push(
      report(
        "E1003",
        ["conditions.failuresInARow", "has no effect with `failed`, which alerts at the first failure"],
        "conditions.failuresInARow",
      ),
    );
  }

  const channel = channelToWrite(input, existing, ctx, errors);
  if (errors.length > 0 || !channel) return { write: null, errors };
  return {
    write: { uid, name: input.name, enabled: input.enabled ?? true, scope: input.scope, jobTypes, jobs, conditions: c, channel },
    errors,
  };
}

function channelToWrite(
  input: AlertRuleInput,
  existing: RuleRow | null,
  ctx: RuleContext,
  errors: ErrorReport[],
): RuleWrite["channel"] | null {
  const ch = input.channel;
  if (ch.type === "EMAIL") {
    if (!emailConfigured(ctx.env)) {
      errors.push(
        report(
          "E1003",
          ["channel.type", "e-mail alerts are not configured on this server (send_email binding ALERT_EMAIL and ALERT_EMAIL_FROM)"],
          "channel.type",
        ),
      );
      return null;
    }
    return { type: "EMAIL", address: ch.address };
  }
  const stored = existing?.channel_type === "WEBHOOK" && existing.webhook_url && existing.webhook_secret ? existing : null;
  const keepUrl =
    stored !== null && (ch.url === undefined || ch.url === stored.webhook_url || ch.url === maskUrl(stored.webhook_url ?? ""));
  const url = keepUrl ? (stored?.webhook_url ?? null) : (ch.url ?? null);
  if (url === null) {
    errors.push(report("E4000", ["channel.url"], "channel.url"));
    return null;
  }
  if (!keepUrl) {
    const problem = webhookUrlProblem(url, ctx.localDevelopment);
    if (problem) errors.push(report("E1003", ["channel.url", `webhook URL ${problem}`], "channel.url"));
  }
  const secret = ch.secret ?? (keepUrl ? (stored?.webhook_secret ?? null) : null);
  if (secret === null) {
    errors.push(
      report(
        "E4000",
        ["channel.secret"],
        "channel.secret",
        stored ? "Missing required property `channel.secret`: a new webhook URL needs its secret" : undefined,
      ),
    );
    return null;
  }
  return { type: "WEBHOOK", url, secret };
}
