/**
 * Alerts without zod: the limits, names and channel checks that the run listener and the queue
 * consumer need at the Worker's entry (src/index.ts), so loading them costs no schema building at
 * startup. The zod schemas (schemas.ts) build on these.
 */

export const ALERT_RULE_KLASS = "org.hisp.hrhis4.alerts.AlertRule";

export const NAME_MAX_LENGTH = 230;
export const MAX_TARGETS = 100;
export const URL_MAX_LENGTH = 2048;
export const SECRET_MIN_LENGTH = 16;
export const SECRET_MAX_LENGTH = 256;
export const EMAIL_MAX_LENGTH = 254;
export const LATE_SECONDS_MIN = 5;
export const LATE_SECONDS_MAX = 86_400;
export const FAILURES_MIN = 2;
export const FAILURES_MAX = 100;
/** Rules per server: every run end is matched against them. */
export const MAX_RULES = 100;

export const SCOPES = ["ALL_JOBS", "JOB_TYPES", "JOBS"] as const;
export type Scope = (typeof SCOPES)[number];

export const ALERT_KINDS = ["FAILED", "LOST", "LATE", "FAILURES_IN_A_ROW", "RECOVERED"] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];

export const DELIVERY_STATES = ["PENDING", "QUEUED", "SENDING", "RETRYING", "DELIVERED", "FAILED", "DEAD_LETTER", "DISCARDED"] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/** What a rule reacts to (schemas.ts validates it). */
export interface Conditions {
  failed?: boolean;
  lost?: boolean;
  lateSeconds?: number;
  failuresInARow?: number;
  recovered?: boolean;
}

/** A plain e-mail address (local part @ domain with a dot), no display name. */
export const EMAIL_PATTERN =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

/** The e-mail side of the environment: a deployment may lack the binding. */
export interface MailEnv {
  ALERT_EMAIL?: Pick<SendEmail, "send">;
  ALERT_EMAIL_FROM?: string;
}

/** Whether e-mail alerts can be sent here. */
export function emailConfigured(env: MailEnv): boolean {
  return typeof env.ALERT_EMAIL?.send === "function" && EMAIL_PATTERN.test(env.ALERT_EMAIL_FROM ?? "");
}

const LOCALHOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** The problem with a webhook URL, or null. `localDevelopment` also takes http to a loopback host. */
export function webhookUrlProblem(text: string, localDevelopment: boolean): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "not an absolute URL";
  }
  if (url.username || url.password) return "must not carry credentials (user:password@)";
  if (url.hash) return "must not have a fragment";
  if (url.protocol === "https:") return url.hostname ? null : "needs a host";
  if (url.protocol === "http:" && localDevelopment && LOCALHOSTS.has(url.hostname)) return null;
  return localDevelopment ? "must use https (http only for localhost in local development)" : "must use https";
}

/** A webhook URL as reads show it: its origin, the rest hidden (Slack, Teams and Mattermost put a credential there). */
export function maskUrl(text: string): string {
  try {
    const url = new URL(text);
    return url.pathname === "/" && !url.search ? `${url.origin}/` : `${url.origin}/…`;
  } catch {
    return "…";
  }
}
