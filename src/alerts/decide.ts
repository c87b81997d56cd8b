/**
 * The alert decision, pure: one rule's conditions, the (rule, job) episode so far and one run event
 * give the next episode and at most one alert. No I/O, no clock (the event carries its instants).
 *
 * One alert per episode. An episode opens with the first alert:
 * - LATE: a run started more than `lateSeconds` after its occurrence (at RUN_STARTED);
 * - LOST: a run was lost (RUN_LOST) and `lost` is set;
 * - FAILED: a run ended FAILED and `failed` is set (a lost run too when `lost` is not set);
 * - FAILURES_IN_A_ROW: the K-th failed run in a row (`failuresInARow`).
 * While it is open nothing else alerts. It closes at the next healthy run: COMPLETED and, with
 * `lateSeconds`, not late; then RECOVERED alerts when `recovered` is set. A job that fails every night
 * therefore alerts once, and again when it recovers. A STOPPED run (cancelled) changes nothing.
 */
import type { RunEvent } from "../scheduling/run-events";
import { isRunEnd } from "../scheduling/run-events";
import type { AlertKind, Conditions } from "./model";

export interface Episode {
  /** Failed runs in a row. */
  failures: number;
  open: boolean;
  openedAt: number | null;
  openedBy: AlertKind | null;
}

export const NO_EPISODE: Episode = { failures: 0, open: false, openedAt: null, openedBy: null };

export interface Decision {
  next: Episode;
  /** The alert to send, if any. */
  alert: AlertKind | null;
  /** For RECOVERED: how many failed runs in a row the episode had (the payload says it). */
  failuresBefore: number;
}

/** Whether the event's run started later than the rule allows. */
export function isLate(conditions: Conditions, latenessMs: number): boolean {
  return conditions.lateSeconds !== undefined && latenessMs > conditions.lateSeconds * 1000;
}

/** Whether any rule could react to a RUN_STARTED this late (the smallest threshold is LATE_SECONDS_MIN). */
export function mayBeLate(latenessMs: number, minSeconds: number): boolean {
  return latenessMs > minSeconds * 1000;
}

function opened(episode: Episode, alert: AlertKind, at: number, failures: number): Decision {
  return { next: { failures, open: true, openedAt: at, openedBy: alert }, alert, failuresBefore: episode.failures };
}

export function decide(conditions: Conditions, episode: Episode, event: RunEvent): Decision {
  const same: Decision = { next: episode, alert: null, failuresBefore: episode.failures };
  if (event.kind === "RUN_STARTED") {
    if (!episode.open && isLate(conditions, event.latenessMs)) return opened(episode, "LATE", event.at, episode.failures);
    return same;
  }
  if (!isRunEnd(event)) return same;
  if (event.status === "FAILED") {
    const failures = episode.failures + 1;
    if (episode.open) return { next: { ...episode, failures }, alert: null, failuresBefore: episode.failures };
    if (event.kind === "RUN_LOST" && conditions.lost) return opened(episode, "LOST", event.at, failures);
    if (conditions.failed) return opened(episode, "FAILED", event.at, failures);
    if (conditions.failuresInARow !== undefined && failures >= conditions.failuresInARow) {
      return opened(episode, "FAILURES_IN_A_ROW", event.at, failures);
    }
    return { next: { ...episode, failures }, alert: null, failuresBefore: episode.failures };
  }
  if (event.status === "COMPLETED") {
    if (episode.open && isLate(conditions, event.latenessMs))
      return { next: { ...episode, failures: 0 }, alert: null, failuresBefore: episode.failures };
    if (episode.open) {
      return { next: NO_EPISODE, alert: conditions.recovered ? "RECOVERED" : null, failuresBefore: episode.failures };
    }
    return { next: { ...episode, failures: 0 }, alert: null, failuresBefore: episode.failures };
  }
  return same;
}

/** Whether two episodes are the same (nothing to write). */
export function sameEpisode(a: Episode, b: Episode): boolean {
  return a.failures === b.failures && a.open === b.open && a.openedAt === b.openedAt && a.openedBy === b.openedBy;
}
