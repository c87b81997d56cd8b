/**
 * The runs behind `/api/scheduling` (DHIS2's SchedulingController with JobSchedulerService, 2.41+):
 * per job type, the run in progress and the most recent completed run, with their progress trees.
 *
 * Which job: D1, as DHIS2's store picks it. Running: the RUNNING job of the type that started last
 * (`getLastRunningId`); a type may have several (independent runs), DHIS2 shows that one. Completed:
 * among the type's jobs not running now, the one whose run finished last (`getLastCompletedId`,
 * `getCompletedTypes`: finished after it last started). The tree: the job's Durable Object keeps the
 * tree of its current or last run (progress.ts); a type whose job has no tree is left out.
 *
 * Access (issue 13; DHIS2 itself checks nothing here): the types that run are public to every user;
 * a run's tree is shown to superusers, F_JOB_LOG_READ, the user the job runs as and the run's
 * starter (access.ts), errors only to the first two, as `GET /api/jobConfigurations/{id}/progress`.
 */
import { formatDate } from "../http/dates";
import { ALL_JOB_TYPES } from "../jobs/registry";
import type { AuthUser } from "../users/store";
import { mayReadRun, readsAllRunLogs, type RunOwner } from "./access";
import type { ProcessNode, ProgressStatus } from "./progress";
import { jobObject } from "./sync";

/** The job columns the overview reads. */
export interface OverviewJob extends RunOwner {
  job_type: string;
  last_executed: number | null;
  last_finished: number | null;
}

/** A job's run with its progress tree. */
export interface RunView {
  job: OverviewJob;
  process: ProcessNode;
}

/** DHIS2's `SchedulingController.ProcessInfo`: one process of a run, its stages as one line each. */
export interface ProcessInfo {
  jobId: string;
  status: ProgressStatus;
  description: string;
  startedTime?: string;
  completedTime?: string;
  cancelledTime?: string;
  summary?: string;
  error?: string;
  stages: string[];
}

const CATALOGUE_ORDER = new Map(ALL_JOB_TYPES.map((t, i) => [t, i]));
const rank = (t: string) => CATALOGUE_ORDER.get(t) ?? Number.MAX_SAFE_INTEGER;

/** Orders job types as DHIS2's enum (the catalogue) does; unknown names last, by name. */
export function compareJobTypes(a: string, b: string): number {
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

const COLUMNS = "uid, job_type, executed_by, last_executed, last_finished";

/** `GET /api/scheduling/running/types`: the types with a RUNNING job. */
export async function runningTypes(db: D1Database): Promise<string[]> {
  const { results } = await db
    .prepare(`SELECT DISTINCT job_type FROM job_configurations WHERE job_status = 'RUNNING'`)
    .all<{ job_type: string }>();
  return results.map((r) => r.job_type).sort(compareJobTypes);
}

/** Per type (or for one type), the first row of the ordering among the rows matching `where`. */
async function latestPerType(db: D1Database, where: string, order: string, type?: string): Promise<OverviewJob[]> {
  const typeFilter = type === undefined ? "" : " AND job_type = ?";
  const stmt = db.prepare(
    `SELECT ${COLUMNS} FROM (
       SELECT ${COLUMNS}, ROW_NUMBER() OVER (PARTITION BY job_type ORDER BY ${order}, uid) AS n
       FROM job_configurations WHERE ${where}${typeFilter})
     WHERE n = 1`,
  );
  const { results } = await (type === undefined ? stmt : stmt.bind(type)).all<OverviewJob>();
  return results;
}

/** Per type, the RUNNING job that started last. */
export function lastRunningJobs(db: D1Database, type?: string): Promise<OverviewJob[]> {
  return latestPerType(db, "job_status = 'RUNNING'", "last_executed DESC", type);
}

/** Per type, the job (not running now) whose run finished last. */
export function lastCompletedJobs(db: D1Database, type?: string): Promise<OverviewJob[]> {
  return latestPerType(
    db,
    "job_status <> 'RUNNING' AND last_finished IS NOT NULL AND (last_executed IS NULL OR last_finished >= last_executed)",
    "last_finished DESC",
    type,
  );
}

/** The jobs with the progress tree their objects keep (jobs without one are left out), in type order. */
export async function withProgress(env: Env, jobs: OverviewJob[]): Promise<RunView[]> {
  const trees = await Promise.all(jobs.map((job) => jobObject(env, job.uid).getProgress()));
  const views: RunView[] = [];
  jobs.forEach((job, i) => {
    const process = trees[i];
    if (process) views.push({ job, process });
  });
  return views.sort((a, b) => compareJobTypes(a.job.job_type, b.job.job_type));
}

/** Whether the user may read this run's tree (see the module comment). */
export function mayRead(user: AuthUser, view: RunView): boolean {
  return mayReadRun(user, view.job, view.process.userId);
}

/** DHIS2's stage line: the description, plus `[done/total]` when the stage has more than one item. */
function stageLine(stage: ProcessNode["stages"][number]): string {
  return stage.totalItems > 1 ? `${stage.description} [${stage.items.length}/${stage.totalItems}]` : stage.description;
}

/** DHIS2's ProcessInfo of a tree (dates in the server zone; `error` only with `includeErrors`). */
export function processInfo(process: ProcessNode, timeZone: string, includeErrors: boolean): ProcessInfo {
  const out: ProcessInfo = { jobId: process.jobId, status: process.status, description: process.description, stages: [] };
  out.startedTime = formatDate(process.startedTime, timeZone);
  if (process.completedTime != null) out.completedTime = formatDate(process.completedTime, timeZone);
  if (process.cancelledTime != null) out.cancelledTime = formatDate(process.cancelledTime, timeZone);
  if (process.summary != null) out.summary = process.summary;
  if (process.error != null && includeErrors) out.error = process.error;
  out.stages = process.stages.map(stageLine);
  return out;
}

/**
 * `GET /api/scheduling/running` and `/completed`: `{TYPE: [ProcessInfo]}` of the runs the user may
 * read; a type with none is left out.
 */
export function processInfoByType(user: AuthUser, views: RunView[], timeZone: string): Record<string, ProcessInfo[]> {
  const out: Record<string, ProcessInfo[]> = {};
  const errors = readsAllRunLogs(user);
  for (const view of views) {
    if (!mayRead(user, view)) continue;
    const list = out[view.job.job_type] ?? [];
    list.push(processInfo(view.process, timeZone, errors));
    out[view.job.job_type] = list;
  }
  return out;
}
