/**
 * One SQLite-backed Durable Object per job configuration, addressed by the job's UID
 * (`env.JOBS.idFromName(uid)`). It holds the job's alarm, run state and progress; the logic is in
 * engine.ts. Task notifications live here too (`JobNotifications`, the tasks module).
 */
import { DurableObject } from "cloudflare:workers";
import { JobNotifications } from "../tasks/job-notifications";
import type { TaskSnapshot } from "../tasks/types";
import { type EngineSnapshot, JobEngine, type ExecuteResult, type SyncOptions } from "./engine";
import type { ProcessNode } from "./progress";

export class JobObject extends DurableObject<Env> {
  private readonly notifications: JobNotifications;
  private readonly engine: JobEngine;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.notifications = new JobNotifications(ctx, env);
    this.engine = new JobEngine(ctx, env, this.notifications);
  }

  override async alarm(): Promise<void> {
    await this.engine.alarm();
  }

  /** Re-read the job's D1 row; arm or disarm the alarm. */
  async sync(uid: string, opts: SyncOptions = {}): Promise<void> {
    await this.engine.sync(uid, opts);
  }

  /** Run now: `execute` (by a user), or `via` QUEUE (the previous member of the job's queue). */
  async executeNow(uid: string, by: string | null, via?: "QUEUE"): Promise<ExecuteResult> {
    return this.engine.executeNow(uid, by, via);
  }

  async cancel(uid: string, by: string | null): Promise<{ cancelled: boolean; executingUser: string | null }> {
    return this.engine.cancel(uid, by);
  }

  runningAs(): { running: boolean; executedBy: string | null } {
    return this.engine.runningAs();
  }

  getProgress(): ProcessNode | null {
    return this.engine.progress();
  }

  /** Waits until no alarm pass is working (an executor run may still wait for its next step). */
  async idle(): Promise<void> {
    await this.engine.idle();
  }

  /** Test and debug view of the engine's state. */
  schedulerState(): EngineSnapshot {
    return this.engine.snapshot();
  }

  getTaskSnapshot(): TaskSnapshot | null {
    return this.notifications.snapshot();
  }

  async clearTasks(): Promise<void> {
    await this.notifications.clear();
  }

  /** The executor callback route: a callback for `runId` arrived; the run takes its next step now. */
  async executorEvent(runId: string): Promise<boolean> {
    return this.engine.executorEvent(runId);
  }
}
