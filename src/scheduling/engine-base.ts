/**
 * The engine's foundation: the job object's own storage (its state, its copy of the row and settings,
 * the last progress tree, the outbox of run events), its alarm: what is due next (`nextOccurrence`),
 * arming it with the D1 bookkeeping (`arm`, `plan`, `writeMark`), an alarm early enough for the
 * events still to deliver (`settleEvents`), and a deleted job's end. The run lifecycle, lost-run
 * recovery and the entry points build on it (run-lifecycle.ts, lost-runs.ts, engine.ts).
 */
import { abandonExecutorRun } from "../executor/handler";
import { clock } from "../http/clock";
import { serverTimeZone } from "../http/dates";
import type { Settings } from "../settings/settings";
import type { NotificationSink } from "../tasks/types";
import {
  PREWARM_MIN_LEAD_MS,
  PREWARM_MS,
  newEngineState,
  readEngineState,
  safeSink,
  type Cached,
  type EngineState,
  type LiveRun,
} from "./engine-state";
import { occurrenceSkippedEvent, runEndedEvent } from "./engine-events";
import { runListeners } from "./hooks";
import type { ProcessNode } from "./progress";
import { RunEventOutbox } from "./run-outbox";
import { configFromRow, nextDue, type DueOccurrence } from "./schedule";
import { deleteScheduleMark, readJobAndSettings, recordSkipped, scheduleMarkStatement, type JobRow, type ScheduleMark } from "./store";

export abstract class EngineBase {
  protected state: EngineState;
  protected live: LiveRun | undefined;
  protected chain: Promise<unknown> = Promise.resolve();
  protected readonly sql: SqlStorage;
  /** The row and settings as last read (sync, run end); null after a delete. */
  protected cache: Cached | undefined;
  /** Run events on their way to the listeners registered at the entry (at least once). */
  protected readonly events: RunEventOutbox;

  constructor(
    protected readonly ctx: DurableObjectState,
    protected readonly env: Env,
    protected readonly sink: NotificationSink,
  ) {
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS sched_state (k TEXT PRIMARY KEY, v TEXT NOT NULL)`);
    this.sql.exec(`CREATE TABLE IF NOT EXISTS sched_claims (occurrence INTEGER PRIMARY KEY, claimed_at INTEGER NOT NULL)`);
    const row = this.sql.exec<{ v: string }>(`SELECT v FROM sched_state WHERE k = 'state'`).toArray()[0];
    this.state = readEngineState(row?.v);
    const copy = this.sql.exec<{ v: string }>(`SELECT v FROM sched_state WHERE k = 'copy'`).toArray()[0];
    if (copy) this.cache = JSON.parse(copy.v) as Cached;
    this.events = new RunEventOutbox({ sql: this.sql, env, now: () => clock.now(), listeners: runListeners });
  }

  /**
   * The end of every entry point: waits for the event delivery in progress, then makes sure the
   * object holds an alarm by the time undelivered events are due again (the alarm pass that follows
   * finds nothing else to do and re-arms the schedule's alarm exactly).
   */
  protected async settleEvents(): Promise<void> {
    await this.events.settled();
    const retryAt = this.events.nextRetryAt();
    if (retryAt === null) return;
    const alarm = await this.ctx.storage.getAlarm();
    if (alarm === null || alarm > retryAt) await this.ctx.storage.setAlarm(retryAt);
  }

  protected get timeZone(): string {
    return serverTimeZone(this.env);
  }

  protected save(): void {
    this.sql.exec(`INSERT OR REPLACE INTO sched_state (k, v) VALUES ('state', ?)`, JSON.stringify(this.state));
  }

  protected saveProgress(process: ProcessNode): void {
    this.sql.exec(`INSERT OR REPLACE INTO sched_state (k, v) VALUES ('progress', ?)`, JSON.stringify(process));
  }

  /** The object's copy of its row and the settings, kept in its storage (it survives eviction). */
  protected setCopy(copy: Cached | undefined): void {
    this.cache = copy;
    if (copy) this.sql.exec(`INSERT OR REPLACE INTO sched_state (k, v) VALUES ('copy', ?)`, JSON.stringify(copy));
    else this.sql.exec(`DELETE FROM sched_state WHERE k = 'copy'`);
  }

  protected async read(uid: string): Promise<Cached | null> {
    const { row, settings } = await readJobAndSettings(this.env.DB, uid);
    this.setCopy(row ? { row, settings } : undefined);
    return this.cache ?? null;
  }

  /** Serialises alarm passes (a test's manual alarm may overlap a real one). */
  protected serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => {});
    return next;
  }

  /** The progress tree of the current or last run. */
  progress(): ProcessNode | null {
    if (this.live) return this.live.tracker.process;
    const row = this.sql.exec<{ v: string }>(`SELECT v FROM sched_state WHERE k = 'progress'`).toArray()[0];
    return row ? (JSON.parse(row.v) as ProcessNode) : null;
  }

  protected bind(uid: string): void {
    if (this.state.uid !== uid) {
      this.state = newEngineState({ uid });
      this.save();
      this.setCopy(undefined);
    }
  }

  /** Tracks enable transitions: a (re-)enabled job's schedule starts at the enabling instant. */
  protected observe(row: JobRow): void {
    const enabled = row.enabled === 1;
    let changed = false;
    if (this.state.deleted) {
      delete this.state.deleted;
      changed = true;
    }
    if (this.state.anchor === undefined) {
      this.state.anchor = row.created;
      changed = true;
    } else if (enabled && this.state.enabled === false) {
      this.state.anchor = Math.max(row.created, clock.now());
      changed = true;
    }
    if (this.state.enabled !== enabled) {
      this.state.enabled = enabled;
      changed = true;
    }
    if (changed) this.save();
  }

  protected async onDeleted(): Promise<void> {
    this.setCopy(undefined);
    const live = this.live;
    if (live?.detached) {
      // Nothing of the job is left to record the run on: the executor is told to stop.
      const now = clock.now();
      const message = "Job cancelled: the job was deleted";
      live.abort.abort();
      live.tracker.finish("STOPPED", "Job deleted");
      safeSink(this.sink).runFinished({ outcome: "STOPPED", message, now });
      this.saveProgress(live.tracker.process);
      this.live = undefined;
      await abandonExecutorRun(live.ctx);
      this.events.emit(
        runEndedEvent("RUN_ENDED", live.row.uid, live.marker, { status: "STOPPED", finishedAt: now, errorCodes: null, message }, live.row),
      );
    } else if (live) live.abort.abort();
    await this.ctx.storage.deleteAlarm();
    if (!this.state.deleted || this.state.mark) {
      const uid = this.state.uid!;
      this.state = newEngineState({ uid, deleted: true });
      this.save();
      await deleteScheduleMark(this.env.DB, uid);
    }
  }

  /** What to run next: a pending execute first, else the schedule. */
  protected nextOccurrence(row: JobRow, settings: Settings, now: number): DueOccurrence | null {
    if (this.state.pendingExecute) {
      return { trigger: "ONCE_ASAP", scheduledAt: this.state.pendingExecute.at, runAt: now };
    }
    return nextDue(
      configFromRow(row),
      {
        jobStatus: row.job_status,
        lastExecuted: row.last_executed,
        lastFinished: row.last_finished,
        anchor: this.state.anchor ?? row.created,
        lastScheduled: this.state.lastScheduled ?? null,
      },
      now,
      this.timeZone,
      settings.jobsMaxCronDelayHours,
    );
  }

  /** Records skipped occurrences, then sets (or deletes) the alarm and the D1 bookkeeping. */
  protected async arm(row: JobRow, settings: Settings, extraStatements: D1PreparedStatement[] = []): Promise<void> {
    const now = clock.now();
    const due = this.nextOccurrence(row, settings, now);
    if (due?.skipped) {
      const message =
        `${due.skipped.count} missed occurrence(s) from ${new Date(due.skipped.first).toISOString()} to ${new Date(due.skipped.last).toISOString()} ` +
        `skipped: older than the ${settings.jobsMaxCronDelayHours} h window`;
      await recordSkipped(
        this.env.DB,
        {
          uid: row.uid,
          jobType: row.job_type,
          scheduledAt: due.skipped.last,
          count: due.skipped.count,
          first: due.skipped.first,
          now,
          keepRuns: settings.jobsRunHistoryPerJob,
          executedBy: row.executed_by,
          queue: row.queue_name,
        },
        message,
      );
      this.state.lastScheduled = Math.max(this.state.lastScheduled ?? 0, due.skipped.last);
      this.save();
      this.events.emit(occurrenceSkippedEvent(row, due.skipped, message, now));
    }
    const alarmAt = this.alarmFor(due);
    if (alarmAt !== null)
      await this.ctx.storage.setAlarm(PREWARM_MS > 0 && alarmAt - now > PREWARM_MIN_LEAD_MS ? alarmAt - PREWARM_MS : alarmAt);
    else await this.ctx.storage.deleteAlarm();
    await this.writeMark(row, alarmAt, now, extraStatements);
  }

  protected alarmFor(due: DueOccurrence | null): number | null {
    if (!due) return null;
    return this.state.blockedUntil !== undefined ? Math.max(due.runAt, this.state.blockedUntil) : due.runAt;
  }

  /** The bookkeeping row `arm` would write for this (predicted) row, if it differs from the last. */
  protected plan(row: JobRow, settings: Settings, now: number): { mark: ScheduleMark; markStatement: D1PreparedStatement | null } {
    const due = this.nextOccurrence(row, settings, now);
    const mark: ScheduleMark = { version: row.version, lastUpdated: row.last_updated, alarmAt: due?.skipped ? null : this.alarmFor(due) };
    const prev = this.state.mark;
    const same = prev && prev.version === mark.version && prev.lastUpdated === mark.lastUpdated && prev.alarmAt === mark.alarmAt;
    return { mark, markStatement: same ? null : scheduleMarkStatement(this.env.DB, row.uid, mark, now) };
  }

  protected async writeMark(row: JobRow, alarmAt: number | null, now: number, extra: D1PreparedStatement[]): Promise<void> {
    const mark: ScheduleMark = { version: row.version, lastUpdated: row.last_updated, alarmAt };
    const prev = this.state.mark;
    const same = prev && prev.version === mark.version && prev.lastUpdated === mark.lastUpdated && prev.alarmAt === mark.alarmAt;
    const statements = [...extra];
    if (!same) statements.push(scheduleMarkStatement(this.env.DB, row.uid, mark, now));
    if (statements.length) await this.env.DB.batch(statements);
    if (!same) {
      this.state.mark = mark;
      this.save();
    }
  }
}
