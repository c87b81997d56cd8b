/**
 * Who may do what with jobs and their runs:
 * - change schedules (job actions, queues): superusers or holders of F_SCHEDULING_ADMIN;
 * - read a run's progress: superusers, F_JOB_LOG_READ, the user the job runs as, or the run's starter;
 * - cancel a run: superusers, F_PERFORM_MAINTENANCE, the user the job runs as, or the run's starter.
 */
import { requireAuthority } from "../users/auth";
import { type AuthUser, hasAuthority } from "../users/store";

export const SCHEDULING_ADMIN_AUTHORITIES = ["F_SCHEDULING_ADMIN"];
export const MAINTENANCE = "F_PERFORM_MAINTENANCE";
export const JOB_LOG_READ = "F_JOB_LOG_READ";

/** 403 with DHIS2's "Access is denied" message unless the user may change schedules. */
export function requireSchedulingAdmin(user: AuthUser): void {
  requireAuthority(
    user,
    SCHEDULING_ADMIN_AUTHORITIES,
    `Access is denied, requires one Authority from [${SCHEDULING_ADMIN_AUTHORITIES.join(", ")}]`,
  );
}

/** Superusers and holders of F_JOB_LOG_READ read every run's progress, errors included. */
export function readsAllRunLogs(user: AuthUser): boolean {
  return hasAuthority(user, JOB_LOG_READ);
}

/** The job columns the run access rules read. */
export interface RunOwner {
  uid: string;
  executed_by: string | null;
}

/**
 * Whether the user may read a run's progress tree: F_JOB_LOG_READ (or ALL), the user the job runs
 * as, or the user who started the run (`starter`, as the tree records it).
 */
export function mayReadRun(user: AuthUser, job: RunOwner, starter: string | undefined): boolean {
  return readsAllRunLogs(user) || job.executed_by === user.uid || (starter !== undefined && starter === user.uid);
}

/** The user the job runs as, or the user who started its current run with `execute`. */
export async function isExecutingUser(db: D1Database, job: RunOwner, userUid: string): Promise<boolean> {
  if (job.executed_by === userUid) return true;
  const run = await db
    .prepare(`SELECT triggered_by FROM job_runs WHERE job_uid = ? AND status = 'RUNNING' ORDER BY id DESC LIMIT 1`)
    .bind(job.uid)
    .first<{ triggered_by: string | null }>();
  return run?.triggered_by === userUid;
}

/** Whether the user may cancel the job's current run: F_PERFORM_MAINTENANCE (or ALL), or its executing user. */
export async function mayCancelRun(db: D1Database, user: AuthUser, job: RunOwner): Promise<boolean> {
  return hasAuthority(user, MAINTENANCE) || (await isExecutingUser(db, job, user.uid));
}
