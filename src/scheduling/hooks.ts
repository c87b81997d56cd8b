/**
 * What the Worker's entry (src/index.ts) plugs into the scheduler, so the engine knows interfaces
 * only, never the modules behind them:
 * - run listeners: receive the run lifecycle events (src/scheduling/run-events.ts), e.g. queue
 *   continuation, run history, alerts, logs, metrics;
 * - start guards: may hold a due start back (e.g. a queue's head while its previous queue run goes on).
 *
 * Registration is per isolate, at module load of the entry, before any job object exists; a name
 * registered again replaces the earlier entry (tests add and remove their own listeners by name).
 */
import type { RunTrigger } from "../jobs/contract";
import type { RunListener } from "./run-events";

/** The job a start guard is asked about. */
export interface StartCandidate {
  jobId: string;
  jobType: string;
  queueName: string | null;
  queuePosition: number | null;
  trigger: RunTrigger;
}

export interface StartGuard {
  readonly name: string;
  /**
   * Whether the job may start a run now. False: the start waits as for a busy job type (retried
   * shortly, within the CRON window). Called before every start: answer synchronously for the jobs
   * it does not concern. A throw fails the alarm pass, which is retried.
   */
  mayStart(job: StartCandidate, env: Env): boolean | Promise<boolean>;
}

const listeners = new Map<string, RunListener>();
const guards = new Map<string, StartGuard>();
let listenerList: readonly RunListener[] = [];
let guardList: readonly StartGuard[] = [];

/** Adds run listeners (a listener with the name of a registered one replaces it). */
export function registerRunListeners(list: readonly RunListener[]): void {
  for (const l of list) listeners.set(l.name, l);
  listenerList = [...listeners.values()];
}

export function unregisterRunListener(name: string): void {
  listeners.delete(name);
  listenerList = [...listeners.values()];
}

export function runListeners(): readonly RunListener[] {
  return listenerList;
}

export function runListener(name: string): RunListener | undefined {
  return listeners.get(name);
}

/** Adds start guards (a guard with the name of a registered one replaces it). */
export function registerStartGuards(list: readonly StartGuard[]): void {
  for (const g of list) guards.set(g.name, g);
  guardList = [...guards.values()];
}

export function startGuards(): readonly StartGuard[] {
  return guardList;
}
