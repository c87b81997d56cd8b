/**
 * Quotas for users who are not superusers (system settings, checked on every job write):
 * - `jobsMaxPerUser` job configurations created by one user (409 on the next create);
 * - `jobsMinIntervalSeconds`: a schedule may not fire more often than that, whether a cron (its
 *   shortest gap between two occurrences) or a fixed delay (409 ObjectReport, E7010).
 * Superusers are not limited. The count is read before the write, so two concurrent creates may
 * each pass at the limit: the quota bounds abuse, it is not an exact budget.
 */
import { ApiError, type ErrorReport } from "../http/webmessage";
import { errorReport, JOB_CONFIGURATION_KLASS } from "../jobs/errors";
import { shortestCronInterval } from "../scheduling/cron";
import type { JobWrite } from "./store";

/** Job configurations (not system jobs) the user created. */
export async function jobsCreatedBy(db: D1Database, userUid: string): Promise<number> {
  const row = await db
    .prepare(`SELECT COUNT(*) AS n FROM job_configurations WHERE created_by = ? AND system = 0`)
    .bind(userUid)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

export function tooManyJobs(count: number, max: number): ApiError {
  return new ApiError(
    409,
    `You have created ${count} job configurations, the most a user who is not a superuser may have (system setting jobsMaxPerUser = ${max}). Delete one, or ask a superuser.`,
    { errorCode: "E1004" },
  );
}

/** The E7010 report for a schedule that fires more often than every `minSeconds`, or null. */
export function intervalReport(w: JobWrite, minSeconds: number, now: number, timeZone: string): ErrorReport | null {
  let property: "cronExpression" | "delay";
  let seconds: number | null;
  if (w.schedulingType === "CRON" && w.cronExpression !== null) {
    property = "cronExpression";
    const gap = shortestCronInterval(w.cronExpression, now, timeZone);
    seconds = gap === null ? null : gap / 1000;
  } else if (w.schedulingType === "FIXED_DELAY" && w.delay !== null) {
    property = "delay";
    seconds = w.delay;
  } else return null;
  if (seconds === null || seconds >= minSeconds) return null;
  return errorReport(JOB_CONFIGURATION_KLASS, "E7010", [`runs every ${seconds} seconds`], {
    errorProperty: property,
    message: tooFrequentMessage(seconds, minSeconds),
  });
}

export function tooFrequentMessage(seconds: number, minSeconds: number): string {
  return (
    `The schedule runs every ${seconds} seconds, more often than a user who is not a superuser may schedule ` +
    `(system setting jobsMinIntervalSeconds = ${minSeconds}).`
  );
}
