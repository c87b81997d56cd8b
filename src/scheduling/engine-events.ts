/**
 * The run events the engine emits, built from its run marker (run-events.ts defines them). Event ids
 * are derived from the run or the occurrence only, so the same event built again (a retry, another
 * instance of the object) has the same id; a run's terminal event has one id whatever its kind.
 */
import type { RunningMarker, RunStatus } from "./engine-state";
import type { OccurrenceSkippedEvent, RunEndedEvent, RunInfo, RunStartedEvent } from "./run-events";
import type { JobRow } from "./store";

/** `"E7010 E7012"` (as D1 stores them) → `["E7010", "E7012"]`. */
export function errorCodeList(codes: string | null | undefined): string[] {
  return codes ? codes.split(/\s+/).filter((c) => c !== "") : [];
}

/**
 * The run's identity and start. The marker names the job (since version 1); an older marker takes the
 * job's type and name from the object's copy of the row, if any.
 */
function runInfo(jobId: string, marker: RunningMarker, row: JobRow | null | undefined, id: string, at: number): RunInfo {
  const queue = marker.queue ?? row?.queue_name ?? undefined;
  return {
    id,
    at,
    jobId,
    jobType: marker.jobType ?? row?.job_type ?? "",
    jobName: marker.jobName ?? row?.name ?? "",
    ...(queue != null ? { queue } : {}),
    scheduledAt: marker.scheduledAt,
    executedBy: marker.executedBy,
    runId: marker.runId,
    trigger: marker.trigger,
    ...(marker.trigger === "MANUAL" && marker.userUid ? { triggeredBy: marker.userUid } : {}),
    startedAt: marker.startedAt,
    latenessMs: marker.startedAt - marker.scheduledAt,
  };
}

export function runStartedEvent(jobId: string, marker: RunningMarker, row?: JobRow | null): RunStartedEvent {
  return { kind: "RUN_STARTED", ...runInfo(jobId, marker, row, `${marker.runId}:started`, marker.startedAt) };
}

export interface RunEndFields {
  status: RunStatus;
  finishedAt: number;
  errorCodes: string | null;
  message: string;
}

export function runEndedEvent(
  kind: RunEndedEvent["kind"],
  jobId: string,
  marker: RunningMarker,
  end: RunEndFields,
  row?: JobRow | null,
): RunEndedEvent {
  return {
    kind,
    ...runInfo(jobId, marker, row, `${marker.runId}:ended`, end.finishedAt),
    status: end.status,
    finishedAt: end.finishedAt,
    durationMs: end.finishedAt - marker.startedAt,
    errorCodes: errorCodeList(end.errorCodes),
    message: end.message,
  };
}

export function occurrenceSkippedEvent(
  row: JobRow,
  skipped: { count: number; first: number; last: number },
  message: string,
  now: number,
): OccurrenceSkippedEvent {
  return {
    kind: "OCCURRENCE_SKIPPED",
    id: `${row.uid}-${skipped.last}:skipped`,
    at: now,
    jobId: row.uid,
    jobType: row.job_type,
    jobName: row.name,
    ...(row.queue_name != null ? { queue: row.queue_name } : {}),
    scheduledAt: skipped.last,
    executedBy: row.executed_by ?? null,
    trigger: "CRON",
    skipped: { count: skipped.count, first: skipped.first, last: skipped.last },
    message,
  };
}
