/**
 * Run listeners for observability (registered at the Worker's entry, src/index.ts), on the run
 * lifecycle events of src/scheduling/run-events.ts:
 * - `runLog`: one JSON log line per run end (Workers Logs): `run_end` (RUN_ENDED), `run_lost` (the run
 *   died with its object or its heartbeat went stale) and `run_recovered` (an end recorded late), with
 *   jobId, jobType, runId, trigger, status, errorCodes, durationMs, latenessMs and the event id;
 * - `runAnalytics`: one Workers Analytics Engine data point per run end (src/metrics/analytics.ts).
 * Delivery is at least once (an event retried after a failed delivery may be logged or written twice:
 * the event `id` in the line tells a repeat apart); neither listener does I/O that can fail a delivery.
 */
import { type LogLevel, logEvent } from "../http/log";
import { isRunEnd, type RunEndedEvent, type RunListener } from "../scheduling/run-events";
import { writeRunDataPoint } from "./analytics";

const LOG_EVENTS: Record<RunEndedEvent["kind"], string> = { RUN_ENDED: "run_end", RUN_LOST: "run_lost", RUN_RECOVERED: "run_recovered" };

function levelOf(event: RunEndedEvent): LogLevel {
  if (event.kind === "RUN_LOST" || event.status === "FAILED") return "error";
  return event.kind === "RUN_RECOVERED" || event.status === "STOPPED" ? "warn" : "info";
}

/** The fields of a run end's log line (and of its data point). */
export function runEndFields(event: RunEndedEvent) {
  return {
    jobId: event.jobId,
    jobType: event.jobType,
    runId: event.runId,
    trigger: event.trigger,
    status: event.status,
    errorCodes: event.errorCodes.join(","),
    durationMs: event.durationMs,
    latenessMs: event.latenessMs,
  };
}

export const runLog: RunListener = {
  name: "run-log",
  accepts: isRunEnd,
  handle(event) {
    if (!isRunEnd(event)) return;
    logEvent(levelOf(event), LOG_EVENTS[event.kind], { ...runEndFields(event), eventId: event.id });
  },
};

export const runAnalytics: RunListener = {
  name: "run-analytics",
  accepts: isRunEnd,
  handle(event, { env }) {
    if (!isRunEnd(event)) return;
    writeRunDataPoint(env.RUN_ANALYTICS, runEndFields(event));
  },
};
