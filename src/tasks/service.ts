/**
 * Reading, filtering and pruning task notifications and summaries for the HTTP layer and the cleanup.
 *
 * Consistency per endpoint:
 * - `GET /system/tasks/{type}/{id}` and `GET /system/taskSummaries/{type}/{id}` read the job's Durable
 *   Object (`getTaskSnapshot()`): strongly consistent, read-your-writes. Every message the object has
 *   recorded is visible to the next poll, from any location; so once a run's start is recorded (by the
 *   scheduler, before `execute` answers) the first poll shows its PARAMETERS message.
 * - `GET /system/tasks`, `/system/tasks/{type}` and `/system/taskSummaries/{type}` list the KV copy:
 *   eventually consistent. Each job's copy trails its object by about a second for a run's start and
 *   end and by up to 5 s for progress in between (paced write-through, see job-notifications.ts), plus
 *   KV's own propagation (immediate in the writing location in practice, up to ~60 s elsewhere).
 *   The stale-completion rule reads D1 (primary), so a finished job never shows as running for long.
 * - `DELETE …` clear the objects (consistent) and their KV keys; listings reflect it after KV
 *   propagation.
 */
import { TASK_CATEGORIES } from "../jobs/registry";
import { SETTINGS, settingsFromRows } from "../settings/settings";
import type { AuthUser } from "../users/store";
import { hasAuthority } from "../users/store";
import {
  SUMMARY_PREFIX,
  TASK_PREFIX,
  getJsonMany,
  gistOf,
  listAll,
  parseKey,
  summaryKey,
  taskKey,
  type SummaryKeyMetadata,
  type TaskKeyMetadata,
} from "./kv";
import type { Notification, TaskSnapshot } from "./types";

/** Every notification category, in catalogue (enum) order. */
export const TASK_TYPES: readonly string[] = TASK_CATEGORIES;

const DAY_MS = 86_400_000;

/**
 * A run the object still reports as in progress is trusted for this long after its last message even
 * when D1 does not (yet) say RUNNING, so a poll racing the scheduler's status write is not "completed".
 */
export const STALE_GRACE_MS = 10_000;

/** The RPC surface of the job object used here (implemented by src/scheduling/job-object.ts). */
/** The job's object, which keeps its live task notifications. */
export function taskObject(env: Env, jobId: string) {
  return env.JOBS.get(env.JOBS.idFromName(jobId));
}

/** Superusers and holders of F_PERFORM_MAINTENANCE or F_JOB_LOG_READ read every task. */
export function readsAllTasks(user: AuthUser): boolean {
  return hasAuthority(user, "F_PERFORM_MAINTENANCE", "F_JOB_LOG_READ");
}

/** Superusers and holders of F_PERFORM_MAINTENANCE may delete any task. */
export function deletesAllTasks(user: AuthUser): boolean {
  return hasAuthority(user, "F_PERFORM_MAINTENANCE");
}

/** The job's D1 row as far as tasks care. */
export interface JobRow {
  job_status: string;
  executed_by: string | null;
  created_by: string | null;
}

/** Who started the run: the recorded user, else the job's executedBy, else its creator. */
export function runOwner(snapshotUser: string | undefined, job: JobRow | null): string | undefined {
  return snapshotUser ?? job?.executed_by ?? job?.created_by ?? undefined;
}

export function mayRead(user: AuthUser, owner: string | undefined): boolean {
  return readsAllTasks(user) || (owner !== undefined && owner === user.uid);
}

/**
 * Whether a newest message that is not completed must be shown completed: the job is not RUNNING in
 * D1 (or has no row), unless the object's run is live and reported within {@link STALE_GRACE_MS}.
 */
export function isStale(newest: Notification | undefined, jobRunning: boolean, live: boolean, lastActivity: number, now: number): boolean {
  if (!newest || newest.completed || jobRunning) return false;
  return !(live && now - lastActivity < STALE_GRACE_MS);
}

export function withCompletedNewest(list: Notification[]): Notification[] {
  return list.length ? [{ ...list[0], completed: true }, ...list.slice(1)] : list;
}

export interface TaskSettings {
  maxAgeDays: number;
  gist: boolean;
  maxJobsPerType: number;
}

const SETTINGS_SQL = `SELECT key, value FROM system_settings WHERE key IN ('notifierMaxAgeDays', 'notifierGistOverview', 'notifierMaxJobsPerType')`;

function toTaskSettings(rows: Array<{ key: string; value: string }>): TaskSettings {
  const s = settingsFromRows(rows);
  return { maxAgeDays: s.notifierMaxAgeDays, gist: s.notifierGistOverview, maxJobsPerType: s.notifierMaxJobsPerType };
}

export async function loadTaskSettings(db: D1Database): Promise<TaskSettings> {
  const { results } = await db.prepare(SETTINGS_SQL).all<{ key: string; value: string }>();
  return toTaskSettings(results);
}

// -------------------------------------------------------------------------------------------------
// One job (served from its Durable Object)
// -------------------------------------------------------------------------------------------------

export interface JobTaskView {
  /** The run, when the object has one of this type within the retention period. */
  snapshot: TaskSnapshot | null;
  job: JobRow | null;
  owner: string | undefined;
}

/**
 * The object's snapshot (type-matched, retention applied) and, only when it matters, the job's D1 row:
 * to decide the stale rule (the newest message is not completed and the run is not visibly live) or
 * to find the owner when the run did not record who started it. A poll of a live or finished run
 * costs one Durable Object call and no D1 query.
 */
export async function readJobTask(env: Env, jobType: string, jobId: string, now: number): Promise<JobTaskView> {
  const raw = await taskObject(env, jobId).getTaskSnapshot();
  const maxAgeDays = raw?.maxAgeDays ?? SETTINGS.notifierMaxAgeDays.default;
  const snap = raw && raw.jobType === jobType && now - raw.lastActivity <= maxAgeDays * DAY_MS ? raw : null;
  if (!snap) return { snapshot: null, job: null, owner: undefined };
  const mayBeStale = isStale(snap.notifications[0], false, snap.running, snap.lastActivity, now);
  let job: JobRow | null = null;
  if (mayBeStale || !snap.userUid) {
    job = await env.DB.prepare(`SELECT job_status, executed_by, created_by FROM job_configurations WHERE uid = ?`)
      .bind(jobId)
      .first<JobRow>();
  }
  return { snapshot: snap, job, owner: runOwner(snap.userUid, job) };
}

/**
 * The notifications `/tasks/{type}/{id}` returns: newest first; when the newest is stale (not completed
 * while the job no longer runs) only that message, flipped to completed — DHIS2's rule, without DHIS2's
 * side effect of deleting the list (reads stay side-effect free; every poll gets the same answer).
 */
export function jobTaskList(view: JobTaskView, now: number): Notification[] {
  const snap = view.snapshot;
  if (!snap) return [];
  const list = snap.notifications;
  if (isStale(list[0], view.job?.job_status === "RUNNING", snap.running, snap.lastActivity, now)) return [{ ...list[0], completed: true }];
  return list;
}

// -------------------------------------------------------------------------------------------------
// Listings (served from KV)
// -------------------------------------------------------------------------------------------------

interface Listed<M> {
  jobType: string;
  jobId: string;
  name: string;
  meta: M;
}

async function listKeys<M extends { t: number }>(kv: KVNamespace, prefix: string, kind: "task" | "summary"): Promise<Listed<M>[]> {
  const out: Listed<M>[] = [];
  for (const k of await listAll<M>(kv, prefix)) {
    const parsed = parseKey(k.name);
    if (!parsed || parsed.kind !== kind) continue;
    const meta = (k.metadata ?? { t: 0 }) as M;
    out.push({ jobType: parsed.jobType, jobId: parsed.jobId, name: k.name, meta });
  }
  return out;
}

/** D1 facts for a listing: RUNNING jobs, and (for a non-privileged caller) the jobs it owns. */
async function listingFacts(db: D1Database, user: AuthUser): Promise<{ running: Set<string>; owned: Set<string>; settings: TaskSettings }> {
  const stmts = [db.prepare(SETTINGS_SQL), db.prepare(`SELECT uid FROM job_configurations WHERE job_status = 'RUNNING'`)];
  const all = readsAllTasks(user);
  if (!all) stmts.push(db.prepare(`SELECT uid FROM job_configurations WHERE COALESCE(executed_by, created_by) = ?`).bind(user.uid));
  const res = await db.batch(stmts);
  const uids = (i: number) => new Set(((res[i]?.results ?? []) as Array<{ uid: string }>).map((r) => r.uid));
  return {
    settings: toTaskSettings((res[0].results ?? []) as Array<{ key: string; value: string }>),
    running: uids(1),
    owned: all ? new Set() : uids(2),
  };
}

function visible(user: AuthUser, metaUser: string | undefined, jobId: string, owned: Set<string>): boolean {
  if (readsAllTasks(user)) return true;
  return metaUser !== undefined ? metaUser === user.uid : owned.has(jobId);
}

/**
 * `{jobType: {jobId: [notifications]}}` for the given types, jobs most recently active first, only
 * those the caller may read, `gist` keeping newest and oldest. Every requested type is present.
 */
export async function listTasks(env: Env, user: AuthUser, types: readonly string[], gist: boolean | undefined, now: number) {
  const prefix = types.length === 1 ? `${TASK_PREFIX}${types[0]}:` : TASK_PREFIX;
  const [keys, facts] = await Promise.all([listKeys<TaskKeyMetadata>(env.TASKS, prefix, "task"), listingFacts(env.DB, user)]);
  const useGist = gist ?? facts.settings.gist;
  const wanted = new Set(types);
  const maxAgeMs = facts.settings.maxAgeDays * DAY_MS;
  const shown = keys
    .filter((k) => wanted.has(k.jobType) && now - k.meta.t <= maxAgeMs && visible(user, k.meta.u, k.jobId, facts.owned))
    .sort((a, b) => b.meta.t - a.meta.t);
  const needValues = shown.filter((k) => !(useGist && Array.isArray(k.meta.g))).map((k) => k.name);
  const values = await getJsonMany(env.TASKS, needValues);
  const out: Record<string, Record<string, Notification[]>> = {};
  for (const t of types) out[t] = {};
  for (const k of shown) {
    let list = useGist && Array.isArray(k.meta.g) ? k.meta.g : (values.get(k.name) as Notification[] | undefined);
    if (!Array.isArray(list)) continue;
    if (useGist) list = gistOf(list);
    if (isStale(list[0], facts.running.has(k.jobId), k.meta.c === 0, k.meta.t, now)) list = withCompletedNewest(list);
    out[k.jobType][k.jobId] = list;
  }
  return out;
}

/** `{jobId: summary}` of one type, most recently set first, only what the caller may read. */
export async function listSummaries(env: Env, user: AuthUser, jobType: string, now: number): Promise<Record<string, unknown>> {
  const [keys, facts] = await Promise.all([
    listKeys<SummaryKeyMetadata>(env.TASKS, `${SUMMARY_PREFIX}${jobType}:`, "summary"),
    listingFacts(env.DB, user),
  ]);
  const maxAgeMs = facts.settings.maxAgeDays * DAY_MS;
  const shown = keys
    .filter((k) => k.jobType === jobType && now - k.meta.t <= maxAgeMs && visible(user, k.meta.u, k.jobId, facts.owned))
    .sort((a, b) => b.meta.t - a.meta.t);
  const values = await getJsonMany(
    env.TASKS,
    shown.map((k) => k.name),
  );
  const out: Record<string, unknown> = {};
  for (const k of shown) if (values.has(k.name)) out[k.jobId] = values.get(k.name);
  return out;
}

// -------------------------------------------------------------------------------------------------
// Deleting and pruning
// -------------------------------------------------------------------------------------------------

/** At most this many jobs are cleared per call (each is a Durable Object call); the rest next time. */
export const MAX_CLEARED_PER_CALL = 400;
const CLEAR_CONCURRENCY = 20;

/**
 * Clears one job's notifications and summary: through its object when the object's run has this type
 * (the object deletes its own KV keys, paced), else by deleting the KV keys directly.
 */
export async function clearJobTask(env: Env, jobType: string, jobId: string, knownSnapshot?: TaskSnapshot | null): Promise<void> {
  const stub = taskObject(env, jobId);
  const snap = knownSnapshot === undefined ? await stub.getTaskSnapshot() : knownSnapshot;
  if (snap && snap.jobType === jobType) {
    await stub.clearTasks();
    return;
  }
  await Promise.all([env.TASKS.delete(taskKey(jobType, jobId)), env.TASKS.delete(summaryKey(jobType, jobId))]).catch(() => {});
}

export interface PruneOptions {
  /** Limit to one type; all types otherwise. */
  jobType?: string;
  /** Drop jobs whose last activity is older than this many days. */
  maxAgeDays?: number;
  /** Keep this many most recently active jobs per type (<= 0 keeps none). */
  maxCount?: number;
  now: number;
}

/** Which jobs a prune removes: with neither limit, all of them (DHIS2's DELETE semantics). */
export function selectForPrune(jobs: Array<{ jobType: string; jobId: string; t: number }>, opts: PruneOptions) {
  const { maxAgeDays, maxCount, now } = opts;
  const remove = new Map<string, { jobType: string; jobId: string }>();
  const keyOf = (j: { jobType: string; jobId: string }) => `${j.jobType}:${j.jobId}`;
  if (maxAgeDays === undefined && maxCount === undefined) {
    for (const j of jobs) remove.set(keyOf(j), j);
    return [...remove.values()];
  }
  if (maxAgeDays !== undefined) {
    for (const j of jobs) if (j.t < now - maxAgeDays * DAY_MS) remove.set(keyOf(j), j);
  }
  if (maxCount !== undefined) {
    const byType = new Map<string, typeof jobs>();
    for (const j of jobs) {
      const list = byType.get(j.jobType) ?? [];
      list.push(j);
      byType.set(j.jobType, list);
    }
    for (const list of byType.values()) {
      list.sort((a, b) => b.t - a.t);
      for (const j of list.slice(Math.max(0, maxCount))) remove.set(keyOf(j), j);
    }
  }
  return [...remove.values()];
}

/** Applies DELETE /tasks[/{type}] (or the retention cleanup); returns how many jobs were cleared. */
export async function pruneTasks(env: Env, opts: PruneOptions): Promise<number> {
  const suffix = opts.jobType ? `${opts.jobType}:` : "";
  const [tasks, summaries] = await Promise.all([
    listKeys<TaskKeyMetadata>(env.TASKS, TASK_PREFIX + suffix, "task"),
    listKeys<SummaryKeyMetadata>(env.TASKS, SUMMARY_PREFIX + suffix, "summary"),
  ]);
  // A job is known by either key; its activity is the later of the two.
  const jobs = new Map<string, { jobType: string; jobId: string; t: number }>();
  for (const k of [...tasks, ...summaries]) {
    if (opts.jobType && k.jobType !== opts.jobType) continue;
    const id = `${k.jobType}:${k.jobId}`;
    const prev = jobs.get(id);
    jobs.set(id, { jobType: k.jobType, jobId: k.jobId, t: Math.max(prev?.t ?? 0, Number(k.meta.t) || 0) });
  }
  const doomed = selectForPrune([...jobs.values()], opts).slice(0, MAX_CLEARED_PER_CALL);
  for (let i = 0; i < doomed.length; i += CLEAR_CONCURRENCY) {
    await Promise.all(doomed.slice(i, i + CLEAR_CONCURRENCY).map((j) => clearJobTask(env, j.jobType, j.jobId)));
  }
  return doomed.length;
}
