/**
 * Real objects for route parameters: a job configuration, a job type, a user, a token, a queue, a
 * setting key and an alert rule (disabled: the suite's runs never send an alert). Created through the
 * API when the route exists, else straight in D1, so the suite works whatever has landed.
 */
import { env, listDurableObjectIds, runInDurableObject } from "cloudflare:test";
import { generateUid } from "../../src/http/uid";
import { createToken } from "../../src/users/tokens";
import { BOOTSTRAP_ADMIN_UID, ensureBootstrapAdmin } from "../../src/users/bootstrap";
import { admin, call, createRoleUser, hasRoute, type RouteDef } from "./support";

/** A configurable job type without required parameters. */
export const JOB_TYPE = "DATA_INTEGRITY";
/** A cron expression far from any test's "now" (03:00 daily). */
export const CRON = "0 0 3 * * ?";

let cronCounter = Math.floor(Math.random() * 3000);
/**
 * A daily cron expression no other fixture uses: DHIS2 refuses two jobs of one type with the same
 * cron expression (E7000). Seconds and minutes vary, hours stay in the small hours.
 */
export function uniqueCron(): string {
  const n = cronCounter++;
  return `${n % 60} ${Math.floor(n / 60) % 60} ${1 + (Math.floor(n / 3600) % 4)} * * ?`;
}

export interface Fixtures {
  jobUid: string;
  jobType: string;
  userUid: string;
  tokenUid: string;
  queueName: string;
  settingKey: string;
  alertId: string;
}

export async function jobExists(uid: string): Promise<boolean> {
  return (await env.DB.prepare(`SELECT 1 AS x FROM job_configurations WHERE uid = ?`).bind(uid).first()) !== null;
}

/** Creates a CRON job as admin (through the API when it exists) and returns its UID. */
export async function createJob(name: string, extra: Record<string, unknown> = {}): Promise<string> {
  if (hasRoute("POST", "/api/jobConfigurations")) {
    const res = await call("POST", "/api/jobConfigurations", admin(), { name, jobType: JOB_TYPE, cronExpression: uniqueCron(), ...extra });
    const body: any = await res.json().catch(() => ({}));
    if (res.status !== 201) throw new Error(`fixture job '${name}' not created: ${res.status} ${JSON.stringify(body)}`);
    return body.response?.uid ?? body.uid;
  }
  const uid = generateUid();
  const now = Date.now();
  await env.DB.prepare(
    `INSERT INTO job_configurations (uid, name, job_type, scheduling_type, cron_expression, enabled, job_status, created, last_updated)
     VALUES (?, ?, ?, 'CRON', ?, 1, 'SCHEDULED', ?, ?)`,
  )
    .bind(uid, name, JOB_TYPE, uniqueCron(), now, now)
    .run();
  return uid;
}

/** The webhook secret of the suite's alert rules: no answer may ever show it. */
export const ALERT_SECRET = "matrix-alert-secret-0001";

/** An alert rule body as admin would post it: disabled, webhook with ALERT_SECRET. */
export function alertRuleBody(name: string): Record<string, unknown> {
  return {
    name,
    enabled: false,
    scope: "ALL_JOBS",
    conditions: { failed: true, recovered: true },
    channel: { type: "WEBHOOK", url: "https://alerts.example.org/hooks/matrix-path", secret: ALERT_SECRET },
  };
}

export async function alertExists(uid: string): Promise<boolean> {
  return (await env.DB.prepare(`SELECT 1 AS x FROM alert_rules WHERE uid = ?`).bind(uid).first()) !== null;
}

/** Creates a disabled alert rule as admin (through the API when it exists) and returns its UID. */
export async function createAlertRule(name: string): Promise<string> {
  if (hasRoute("POST", "/api/scheduler/alerts")) {
    const res = await call("POST", "/api/scheduler/alerts", admin(), alertRuleBody(name));
    const body: any = await res.json().catch(() => ({}));
    if (res.status !== 201) throw new Error(`fixture alert rule '${name}' not created: ${res.status} ${JSON.stringify(body)}`);
    return body.response.uid;
  }
  return generateUid();
}

let cached: Fixtures | undefined;
let counter = 0;

/** The fixtures, re-creating the job when an earlier request deleted it. */
export async function fixtures(): Promise<Fixtures> {
  if (!cached) {
    await ensureBootstrapAdmin(env, Date.now());
    const token = await createToken(env.DB, BOOTSTRAP_ADMIN_UID, null, "reliability", Date.now());
    cached = {
      jobUid: await createJob(`Reliability fixture ${counter++}`),
      jobType: JOB_TYPE,
      // An expendable user, never the admin the suites authenticate as: a hostile case may delete
      // or rename the user it names (`DELETE /api/users/{id}` as admin answers 200).
      userUid: (await createRoleUser("RelUserFixt", "rel_fixture", [])).uid,
      tokenUid: token.uid,
      queueName: "relQueue",
      settingKey: "applicationTitle",
      alertId: await createAlertRule(`Reliability alert ${counter++}`),
    };
  } else {
    if (!(await jobExists(cached.jobUid))) cached.jobUid = await createJob(`Reliability fixture ${counter++}-${Date.now()}`);
    if (hasRoute("POST", "/api/scheduler/alerts") && !(await alertExists(cached.alertId))) {
      cached.alertId = await createAlertRule(`Reliability alert ${counter++}-${Date.now()}`);
    }
  }
  return cached;
}

export function forgetFixtures(): void {
  cached = undefined;
}

/** The value for one path parameter, chosen from the literal segment before it and its name. */
export function paramValue(fx: Fixtures, previous: string, name: string, _index: number): string {
  const n = name.toLowerCase();
  if (previous === "jobConfigurations" || previous === "jobConfiguration") return fx.jobUid;
  if (previous === "authorization") return "F_SCHEDULING_ADMIN";
  if (previous === "staticContent") return "logo_banner";
  if (n === "app") return "dhis-web-scheduler";
  if (previous === "runs") return "r8Jq2mP0aZk";
  if (previous === "tasks" || previous === "taskSummaries") return fx.jobType;
  if (previous === "users" || previous === "me") return fx.userUid;
  if (previous === "apiToken" || previous === "apiTokens") return fx.tokenUid;
  if (previous === "queues") return fx.queueName;
  if (previous === "systemSettings") return fx.settingKey;
  if (previous === "alerts") return fx.alertId;
  if (n.includes("type")) return fx.jobType;
  if (n.includes("job") || n === "uid" || n === "id") return fx.jobUid;
  if (n.includes("name")) return fx.queueName;
  if (n.includes("key")) return fx.settingKey;
  return "x";
}

/**
 * The concrete path of a route with real ids. `override(i, name)` may replace the i-th parameter
 * (a hostile value); it returns undefined to keep the real one.
 */
export function fillPath(route: RouteDef, fx: Fixtures, override?: (i: number, name: string) => string | undefined): string {
  const segs = route.path.split("/");
  let previous = "";
  let i = 0;
  const out: string[] = [];
  for (const seg of segs) {
    const m = /^:([A-Za-z0-9_]+)/.exec(seg);
    if (m) {
      const real = paramValue(fx, previous, m[1], i);
      out.push(override?.(i, m[1]) ?? real);
      i++;
      previous = m[1];
    } else if (seg === "*") {
      out.push(override?.(i++, "*") ?? "index.html");
    } else {
      out.push(seg);
      previous = seg;
    }
  }
  return out.join("/");
}

/** Deletes every alarm armed in this file's job objects (tests must not leave alarms behind). */
export async function clearAllAlarms(): Promise<void> {
  const ids = await listDurableObjectIds(env.JOBS);
  for (const id of ids) {
    await runInDurableObject(env.JOBS.get(id), async (_instance: unknown, state: DurableObjectState) => {
      await state.storage.deleteAlarm();
    });
  }
}
