/**
 * Alert rules as a resource: create, replace, delete, read (secrets never leave: a webhook shows its
 * origin and `secretSet`), and the deliveries of a rule. Validation in validate.ts, D1 in store.ts.
 */
import { formatDate } from "../http/dates";
import { generateUid } from "../http/uid";
import { ApiError, conflict, importReportConflict, notFoundObject } from "../http/webmessage";
import { ALERT_RULE_KLASS, type DeliveryState, type MailEnv, MAX_RULES, maskUrl } from "./model";
import type { AlertDeliveryView, AlertRuleInput, AlertRuleView } from "./schemas";
import {
  countRules,
  deleteRule,
  type DeliveryRow,
  existingJobs,
  insertRule,
  listDeliveries,
  loadRule,
  loadRules,
  loadTargets,
  parseConditions,
  type RuleRow,
  ruleNameTaken,
  updateRule,
} from "./store";
import { checkRule, type RuleContext } from "./validate";
import { errorReport } from "../jobs/errors";

type AlertEnv = Pick<Env, "DB"> & MailEnv;

const notFound = (uid: string) => notFoundObject("AlertRule", uid);

function context(env: AlertEnv, localDevelopment: boolean): RuleContext {
  return { env, localDevelopment, existingJobs: (uids) => existingJobs(env.DB, uids) };
}

function ruleView(row: RuleRow, targets: { jobTypes: string[]; jobs: string[] } | undefined, tz: string): AlertRuleView {
  const view: AlertRuleView = {
    id: row.uid,
    name: row.name,
    enabled: row.enabled === 1,
    scope: row.scope,
    conditions: parseConditions(row.conditions),
    channel:
      row.channel_type === "WEBHOOK"
        ? { type: "WEBHOOK", url: maskUrl(row.webhook_url ?? ""), secretSet: (row.webhook_secret ?? "") !== "" }
        : { type: "EMAIL", address: row.email_address ?? "" },
    created: formatDate(row.created, tz) ?? "",
    lastUpdated: formatDate(row.last_updated, tz) ?? "",
  };
  if (row.scope === "JOB_TYPES") view.jobTypes = targets?.jobTypes ?? [];
  if (row.scope === "JOBS") view.jobs = targets?.jobs ?? [];
  if (row.created_by) view.createdBy = row.created_by;
  if (row.last_updated_by) view.lastUpdatedBy = row.last_updated_by;
  return view;
}

export async function listRuleViews(db: D1Database, tz: string): Promise<AlertRuleView[]> {
  const rows = await loadRules(db);
  const targets = await loadTargets(
    db,
    rows.filter((r) => r.scope !== "ALL_JOBS").map((r) => r.uid),
  );
  return rows.map((r) => ruleView(r, targets.get(r.uid), tz));
}

export async function getRuleView(db: D1Database, uid: string, tz: string): Promise<AlertRuleView> {
  const row = await loadRule(db, uid);
  if (!row) throw notFound(uid);
  return ruleView(row, (await loadTargets(db, [uid])).get(uid), tz);
}

function nameTakenReport(name: string, uid: string, owner: string) {
  return errorReport(ALERT_RULE_KLASS, "E5003", ["name", name, uid, owner], {
    errorProperty: "name",
    message: `Property \`name\` with value \`${name}\` on object ${uid} already exists on object ${owner}`,
  });
}

/** `POST /api/scheduler/alerts`: returns the new rule's UID (`localDevelopment`: `isLocalDevelopment` of the request). */
export async function createRule(
  env: AlertEnv,
  input: AlertRuleInput,
  now: number,
  userUid: string,
  localDevelopment: boolean,
): Promise<string> {
  const db = env.DB;
  const uid = input.id !== undefined && input.id !== "" ? input.id : generateUid();
  const { write, errors } = await checkRule(input, uid, null, context(env, localDevelopment));
  if (write && (await loadRule(db, uid))) {
    errors.push(errorReport(ALERT_RULE_KLASS, "E5003", ["id", uid, uid, uid], { errorProperty: "id" }));
  }
  const owner = await ruleNameTaken(db, input.name, uid);
  if (owner) errors.push(nameTakenReport(input.name, uid, owner));
  if (errors.length > 0 || !write) throw importReportConflict(ALERT_RULE_KLASS, undefined, errors);
  if ((await countRules(db)) >= MAX_RULES) throw conflict(`At most ${MAX_RULES} alert rules can exist; delete one first.`);
  try {
    await insertRule(db, write, now, userUid);
  } catch (e) {
    throw await raced(db, e, input.name, uid);
  }
  return uid;
}

/** `PUT /api/scheduler/alerts/{id}`: replaces the rule; an absent webhook URL or secret keeps the stored one. */
export async function replaceRule(
  env: AlertEnv,
  uid: string,
  input: AlertRuleInput,
  now: number,
  userUid: string,
  localDevelopment: boolean,
): Promise<void> {
  const db = env.DB;
  const existing = await loadRule(db, uid);
  if (!existing) throw notFound(uid);
  const { write, errors } = await checkRule(input, uid, existing, context(env, localDevelopment));
  const owner = await ruleNameTaken(db, input.name, uid);
  if (owner) errors.push(nameTakenReport(input.name, uid, owner));
  if (errors.length > 0 || !write) throw importReportConflict(ALERT_RULE_KLASS, uid, errors);
  const ch = write.channel;
  const changed =
    ch.type !== existing.channel_type ||
    (ch.type === "WEBHOOK"
      ? ch.url !== existing.webhook_url || ch.secret !== existing.webhook_secret
      : ch.address !== existing.email_address);
  try {
    await updateRule(db, write, changed, now, userUid);
  } catch (e) {
    throw await raced(db, e, input.name, uid);
  }
}

/** A UNIQUE violation from a concurrent write, as the 409 it would have been. */
async function raced(db: D1Database, e: unknown, name: string, uid: string): Promise<unknown> {
  if (!(e instanceof Error) || !/UNIQUE/i.test(e.message)) return e;
  const owner = await ruleNameTaken(db, name, uid);
  return importReportConflict(ALERT_RULE_KLASS, uid, [
    owner ? nameTakenReport(name, uid, owner) : errorReport(ALERT_RULE_KLASS, "E5003", ["id", uid, uid, uid], { errorProperty: "id" }),
  ]);
}

export async function removeRule(db: D1Database, uid: string): Promise<void> {
  if (!(await loadRule(db, uid))) throw notFound(uid);
  await deleteRule(db, uid);
}

function deliveryView(row: DeliveryRow, tz: string): AlertDeliveryView {
  let job: { name?: string; type?: string } = {};
  try {
    const payload = JSON.parse(row.payload) as { job?: { name?: unknown; type?: unknown } };
    job = {
      ...(typeof payload.job?.name === "string" ? { name: payload.job.name } : {}),
      ...(typeof payload.job?.type === "string" ? { type: payload.job.type } : {}),
    };
  } catch {
    // a payload that does not parse shows no job name
  }
  const view: AlertDeliveryView = {
    id: row.uid,
    alert: row.alert,
    state: row.state,
    channel: row.channel_type,
    jobId: row.job_uid,
    ...(job.name !== undefined ? { jobName: job.name } : {}),
    ...(job.type !== undefined ? { jobType: job.type } : {}),
    eventId: row.event_id,
    attempts: row.attempts,
    created: formatDate(row.created, tz) ?? "",
  };
  if (row.last_attempt !== null) view.lastAttempt = formatDate(row.last_attempt, tz);
  if (row.next_attempt !== null) view.nextAttempt = formatDate(row.next_attempt, tz);
  if (row.delivered !== null) view.delivered = formatDate(row.delivered, tz);
  if (row.last_status !== null) view.lastStatus = row.last_status;
  if (row.last_error !== null) view.lastError = row.last_error;
  return view;
}

export interface DeliveryQuery {
  state?: DeliveryState;
  page: number;
  pageSize: number;
}

/** A page of the rule's deliveries, newest first. */
export async function ruleDeliveries(
  db: D1Database,
  uid: string,
  q: DeliveryQuery,
  tz: string,
): Promise<{ total: number; deliveries: AlertDeliveryView[] }> {
  if (!(await loadRule(db, uid))) throw notFound(uid);
  if (q.page < 1 || q.pageSize < 1 || q.pageSize > 1000) {
    throw new ApiError(400, "`page` must be at least 1 and `pageSize` between 1 and 1000.", { errorCode: "E1003" });
  }
  const page = await listDeliveries(db, uid, q.state, (q.page - 1) * q.pageSize, q.pageSize);
  return { total: page.total, deliveries: page.rows.map((r) => deliveryView(r, tz)) };
}
