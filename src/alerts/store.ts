/**
 * D1 access for alerts (migration 0064): rules with their targets, the per-(rule, job) episodes and
 * the deliveries. Bound parameters only; multi-statement writes through `db.batch`.
 */
import type { Episode } from "./decide";
import type { AlertKind, Conditions, DeliveryState, Scope } from "./model";

export interface RuleRow {
  uid: string;
  name: string;
  enabled: number;
  scope: Scope;
  conditions: string;
  channel_type: "WEBHOOK" | "EMAIL";
  webhook_url: string | null;
  webhook_secret: string | null;
  email_address: string | null;
  created: number;
  last_updated: number;
  created_by: string | null;
  last_updated_by: string | null;
}

/** A rule as the listener uses it. */
export interface ActiveRule {
  uid: string;
  name: string;
  conditions: Conditions;
  channel: "WEBHOOK" | "EMAIL";
}

export interface RuleWrite {
  uid: string;
  name: string;
  enabled: boolean;
  scope: Scope;
  jobTypes: string[];
  jobs: string[];
  conditions: Conditions;
  channel: { type: "WEBHOOK"; url: string; secret: string } | { type: "EMAIL"; address: string };
}

export interface DeliveryRow {
  uid: string;
  rule_uid: string;
  job_uid: string;
  event_id: string;
  alert: AlertKind;
  channel_type: "WEBHOOK" | "EMAIL";
  payload: string;
  state: DeliveryState;
  attempts: number;
  created: number;
  updated: number;
  last_attempt: number | null;
  next_attempt: number | null;
  delivered: number | null;
  lease_until: number | null;
  last_status: number | null;
  last_error: string | null;
}

/** States a delivery never leaves. */
export const FINAL_STATES: readonly DeliveryState[] = ["DELIVERED", "FAILED", "DEAD_LETTER", "DISCARDED"];

export function parseConditions(text: string): Conditions {
  try {
    const v = JSON.parse(text) as unknown;
    return v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Conditions) : {};
  } catch {
    return {};
  }
}

// -- rules -------------------------------------------------------------------------------------

export async function loadRule(db: D1Database, uid: string): Promise<RuleRow | null> {
  return db.prepare(`SELECT * FROM alert_rules WHERE uid = ?`).bind(uid).first<RuleRow>();
}

export async function loadRules(db: D1Database): Promise<RuleRow[]> {
  return (await db.prepare(`SELECT * FROM alert_rules ORDER BY name, uid`).all<RuleRow>()).results;
}

/** Targets per rule: `type:<T>` and `job:<uid>` split into job types and jobs. */
export async function loadTargets(db: D1Database, uids: string[]): Promise<Map<string, { jobTypes: string[]; jobs: string[] }>> {
  const out = new Map<string, { jobTypes: string[]; jobs: string[] }>();
  if (uids.length === 0) return out;
  const { results } = await db
    .prepare(`SELECT rule_uid, target FROM alert_rule_targets WHERE rule_uid IN (SELECT value FROM json_each(?)) ORDER BY rule_uid, target`)
    .bind(JSON.stringify(uids))
    .all<{ rule_uid: string; target: string }>();
  for (const r of results) {
    const t = out.get(r.rule_uid) ?? { jobTypes: [], jobs: [] };
    out.set(r.rule_uid, t);
    if (r.target.startsWith("type:")) t.jobTypes.push(r.target.slice(5));
    else if (r.target.startsWith("job:")) t.jobs.push(r.target.slice(4));
  }
  return out;
}

export async function countRules(db: D1Database): Promise<number> {
  return (await db.prepare(`SELECT COUNT(*) AS n FROM alert_rules`).first<number>("n")) ?? 0;
}

export async function ruleNameTaken(db: D1Database, name: string, except: string): Promise<string | null> {
  return db.prepare(`SELECT uid FROM alert_rules WHERE name = ? AND uid <> ?`).bind(name, except).first<string>("uid");
}

/** The UIDs among `uids` that are job configurations. */
export async function existingJobs(db: D1Database, uids: string[]): Promise<Set<string>> {
  if (uids.length === 0) return new Set();
  const { results } = await db
    .prepare(`SELECT uid FROM job_configurations WHERE uid IN (SELECT value FROM json_each(?))`)
    .bind(JSON.stringify(uids))
    .all<{ uid: string }>();
  return new Set(results.map((r) => r.uid));
}

function targetStatements(db: D1Database, w: RuleWrite): D1PreparedStatement[] {
  const targets = w.scope === "JOB_TYPES" ? w.jobTypes.map((t) => `type:${t}`) : w.scope === "JOBS" ? w.jobs.map((j) => `job:${j}`) : [];
  return [
    db.prepare(`DELETE FROM alert_rule_targets WHERE rule_uid = ?`).bind(w.uid),
    ...[...new Set(targets)].map((t) => db.prepare(`INSERT INTO alert_rule_targets (rule_uid, target) VALUES (?, ?)`).bind(w.uid, t)),
  ];
}

function channelColumns(w: RuleWrite): [string, string | null, string | null, string | null] {
  return w.channel.type === "WEBHOOK" ? ["WEBHOOK", w.channel.url, w.channel.secret, null] : ["EMAIL", null, null, w.channel.address];
}

export async function insertRule(db: D1Database, w: RuleWrite, now: number, userUid: string): Promise<void> {
  const [type, url, secret, address] = channelColumns(w);
  await db.batch([
    db
      .prepare(
        `INSERT INTO alert_rules (uid, name, enabled, scope, conditions, channel_type, webhook_url, webhook_secret, email_address,
           created, last_updated, created_by, last_updated_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .bind(
        w.uid,
        w.name,
        w.enabled ? 1 : 0,
        w.scope,
        JSON.stringify(w.conditions),
        type,
        url,
        secret,
        address,
        now,
        now,
        userUid,
        userUid,
      ),
    ...targetStatements(db, w),
  ]);
}

/**
 * Replaces a rule. Deliveries not yet made to a channel that changed are discarded (they would go to
 * an address the rule no longer names).
 */
export async function updateRule(db: D1Database, w: RuleWrite, channelChanged: boolean, now: number, userUid: string): Promise<void> {
  const [type, url, secret, address] = channelColumns(w);
  const discard = channelChanged
    ? [
        db
          .prepare(
            `UPDATE alert_deliveries SET state = 'DISCARDED', last_error = 'The rule''s channel changed before delivery', updated = ?
             WHERE rule_uid = ? AND state IN ('PENDING', 'QUEUED', 'RETRYING')`,
          )
          .bind(now, w.uid),
      ]
    : [];
  await db.batch([
    db
      .prepare(
        `UPDATE alert_rules SET name = ?, enabled = ?, scope = ?, conditions = ?, channel_type = ?, webhook_url = ?, webhook_secret = ?,
           email_address = ?, last_updated = ?, last_updated_by = ? WHERE uid = ?`,
      )
      .bind(w.name, w.enabled ? 1 : 0, w.scope, JSON.stringify(w.conditions), type, url, secret, address, now, userUid, w.uid),
    ...targetStatements(db, w),
    ...discard,
  ]);
}

/** Deletes a rule with its targets, episodes and deliveries. */
export async function deleteRule(db: D1Database, uid: string): Promise<void> {
  await db.batch([
    db.prepare(`DELETE FROM alert_rules WHERE uid = ?`).bind(uid),
    db.prepare(`DELETE FROM alert_rule_targets WHERE rule_uid = ?`).bind(uid),
    db.prepare(`DELETE FROM alert_episodes WHERE rule_uid = ?`).bind(uid),
    db.prepare(`DELETE FROM alert_deliveries WHERE rule_uid = ?`).bind(uid),
  ]);
}

/** Enabled rules whose scope covers the job (all jobs, its type, or the job itself). */
export async function activeRulesFor(db: D1Database, jobUid: string, jobType: string): Promise<ActiveRule[]> {
  const { results } = await db
    .prepare(
      `SELECT uid, name, conditions, channel_type FROM alert_rules
       WHERE enabled = 1 AND (scope = 'ALL_JOBS' OR uid IN (SELECT rule_uid FROM alert_rule_targets WHERE target IN (?, ?)))
       ORDER BY uid`,
    )
    .bind(`type:${jobType}`, `job:${jobUid}`)
    .all<{ uid: string; name: string; conditions: string; channel_type: "WEBHOOK" | "EMAIL" }>();
  return results.map((r) => ({ uid: r.uid, name: r.name, conditions: parseConditions(r.conditions), channel: r.channel_type }));
}

// -- episodes ----------------------------------------------------------------------------------

export interface StoredEpisode extends Episode {
  lastEvent: string;
}

export async function loadEpisodes(db: D1Database, ruleUids: string[], jobUid: string): Promise<Map<string, StoredEpisode>> {
  const { results } = await db
    .prepare(
      `SELECT rule_uid, failures, open, opened_at, opened_by, last_event FROM alert_episodes
       WHERE job_uid = ? AND rule_uid IN (SELECT value FROM json_each(?))`,
    )
    .bind(jobUid, JSON.stringify(ruleUids))
    .all<{ rule_uid: string; failures: number; open: number; opened_at: number | null; opened_by: AlertKind | null; last_event: string }>();
  return new Map(
    results.map((r) => [
      r.rule_uid,
      { failures: r.failures, open: r.open === 1, openedAt: r.opened_at, openedBy: r.opened_by, lastEvent: r.last_event },
    ]),
  );
}

export function saveEpisode(
  db: D1Database,
  ruleUid: string,
  jobUid: string,
  e: Episode,
  eventId: string,
  now: number,
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO alert_episodes (rule_uid, job_uid, failures, open, opened_at, opened_by, last_event, updated)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (rule_uid, job_uid) DO UPDATE SET failures = excluded.failures, open = excluded.open, opened_at = excluded.opened_at,
         opened_by = excluded.opened_by, last_event = excluded.last_event, updated = excluded.updated`,
    )
    .bind(ruleUid, jobUid, e.failures, e.open ? 1 : 0, e.openedAt, e.openedBy, eventId, now);
}

// -- deliveries --------------------------------------------------------------------------------

export interface NewDelivery {
  uid: string;
  ruleUid: string;
  jobUid: string;
  eventId: string;
  alert: AlertKind;
  channel: "WEBHOOK" | "EMAIL";
  payload: string;
}

/** A new PENDING delivery; a second one for the same (rule, event) is ignored. */
export function insertDelivery(db: D1Database, d: NewDelivery, now: number): D1PreparedStatement {
  return db
    .prepare(
      `INSERT OR IGNORE INTO alert_deliveries (uid, rule_uid, job_uid, event_id, alert, channel_type, payload, state, attempts, created, updated)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'PENDING', 0, ?, ?)`,
    )
    .bind(d.uid, d.ruleUid, d.jobUid, d.eventId, d.alert, d.channel, d.payload, now, now);
}

/** Deliveries of one event that are stored but not yet on the queue. */
export async function pendingOfEvent(db: D1Database, eventId: string): Promise<string[]> {
  const { results } = await db
    .prepare(`SELECT uid FROM alert_deliveries WHERE event_id = ? AND state = 'PENDING' ORDER BY uid`)
    .bind(eventId)
    .all<{ uid: string }>();
  return results.map((r) => r.uid);
}

/** Deliveries PENDING since before `before` (their enqueue was interrupted), oldest first. */
export async function stalePending(db: D1Database, before: number, limit: number): Promise<string[]> {
  const { results } = await db
    .prepare(`SELECT uid FROM alert_deliveries WHERE state = 'PENDING' AND updated < ? ORDER BY updated LIMIT ?`)
    .bind(before, limit)
    .all<{ uid: string }>();
  return results.map((r) => r.uid);
}

export async function markQueued(db: D1Database, uids: string[], now: number): Promise<void> {
  if (uids.length === 0) return;
  await db
    .prepare(
      `UPDATE alert_deliveries SET state = 'QUEUED', updated = ? WHERE state = 'PENDING' AND uid IN (SELECT value FROM json_each(?))`,
    )
    .bind(now, JSON.stringify(uids))
    .run();
}

export interface DeliveryWithChannel extends DeliveryRow {
  rule_exists: number;
  rule_channel: "WEBHOOK" | "EMAIL" | null;
  webhook_url: string | null;
  webhook_secret: string | null;
  email_address: string | null;
}

/** The deliveries of one queue batch with their rule's channel (one query). */
export async function loadDeliveriesForSend(db: D1Database, uids: string[]): Promise<Map<string, DeliveryWithChannel>> {
  if (uids.length === 0) return new Map();
  const { results } = await db
    .prepare(
      `SELECT d.*, r.uid IS NOT NULL AS rule_exists, r.channel_type AS rule_channel, r.webhook_url, r.webhook_secret, r.email_address
       FROM alert_deliveries d LEFT JOIN alert_rules r ON r.uid = d.rule_uid WHERE d.uid IN (SELECT value FROM json_each(?))`,
    )
    .bind(JSON.stringify(uids))
    .all<DeliveryWithChannel>();
  return new Map(results.map((r) => [r.uid, r]));
}

/** Takes the delivery for one attempt, unless someone else changed it since it was read (`meta.changes` 0). */
export function claimStatement(db: D1Database, row: DeliveryRow, now: number, leaseMs: number): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE alert_deliveries SET state = 'SENDING', attempts = attempts + 1, last_attempt = ?, lease_until = ?, next_attempt = NULL, updated = ?
       WHERE uid = ? AND state = ? AND attempts = ?`,
    )
    .bind(now, now + leaseMs, now, row.uid, row.state, row.attempts);
}

export interface DeliveryOutcome {
  state: DeliveryState;
  status: number | null;
  error: string | null;
  nextAttempt: number | null;
}

/** Records the end of an attempt taken with `claimStatement`. */
export function finishStatement(db: D1Database, uid: string, o: DeliveryOutcome, now: number): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE alert_deliveries SET state = ?, last_status = ?, last_error = ?, next_attempt = ?, lease_until = NULL, updated = ?,
         delivered = CASE WHEN ? = 'DELIVERED' THEN ? ELSE delivered END
       WHERE uid = ? AND state = 'SENDING'`,
    )
    .bind(o.state, o.status, o.error, o.nextAttempt, now, o.state, now, uid);
}

/** A final state reached without an attempt (the rule was deleted, its channel changed). */
export function closeStatement(db: D1Database, uid: string, state: DeliveryState, error: string, now: number): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE alert_deliveries SET state = ?, last_error = ?, lease_until = NULL, next_attempt = NULL, updated = ?
       WHERE uid = ? AND state NOT IN ('DELIVERED', 'FAILED', 'DEAD_LETTER', 'DISCARDED')`,
    )
    .bind(state, error, now, uid);
}

/** The platform gave up on these deliveries' messages (dead-letter queue); their last error stays. */
export async function markDeadLetters(db: D1Database, uids: string[], now: number): Promise<void> {
  if (uids.length === 0) return;
  await db
    .prepare(
      `UPDATE alert_deliveries SET state = 'DEAD_LETTER', lease_until = NULL, next_attempt = NULL, updated = ?
       WHERE uid IN (SELECT value FROM json_each(?)) AND state NOT IN ('DELIVERED', 'FAILED', 'DEAD_LETTER', 'DISCARDED')`,
    )
    .bind(now, JSON.stringify(uids))
    .run();
}

export interface DeliveryPage {
  total: number;
  rows: DeliveryRow[];
}

export async function listDeliveries(
  db: D1Database,
  ruleUid: string,
  state: DeliveryState | undefined,
  offset: number,
  limit: number,
): Promise<DeliveryPage> {
  const filter = state ?? null;
  const [total, rows] = await Promise.all([
    db
      .prepare(`SELECT COUNT(*) AS n FROM alert_deliveries WHERE rule_uid = ? AND (? IS NULL OR state = ?)`)
      .bind(ruleUid, filter, filter)
      .first<number>("n"),
    db
      .prepare(`SELECT * FROM alert_deliveries WHERE rule_uid = ? AND (? IS NULL OR state = ?) ORDER BY created DESC, uid LIMIT ? OFFSET ?`)
      .bind(ruleUid, filter, filter, limit, offset)
      .all<DeliveryRow>(),
  ]);
  return { total: total ?? 0, rows: rows.results };
}

/** Deletes finished deliveries older than `before` (retention), at most `limit` of them. */
export async function purgeDeliveries(db: D1Database, before: number, limit: number): Promise<number> {
  const res = await db
    .prepare(
      `DELETE FROM alert_deliveries WHERE uid IN (SELECT uid FROM alert_deliveries
         WHERE state IN ('DELIVERED', 'FAILED', 'DEAD_LETTER', 'DISCARDED') AND updated < ? LIMIT ?)`,
    )
    .bind(before, limit)
    .run();
  return res.meta.changes;
}
