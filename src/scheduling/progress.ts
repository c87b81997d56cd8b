/**
 * The progress tree of one run (DHIS2's `Progress`: a process of stages of items), kept by the job's
 * Durable Object for `GET /api/jobConfigurations/{id}/progress`, with every step forwarded to the
 * job's task notifications (the NotificationSink).
 */
import { formatDate } from "../http/dates";
import type { NotificationSink } from "../tasks/types";
import type { FailurePolicy, JobProgress } from "../jobs/contract";

export type ProgressStatus = "RUNNING" | "SUCCESS" | "WARNING" | "ERROR" | "CANCELLED";

interface NodeBase {
  description: string;
  status: ProgressStatus;
  startedTime: number;
  completedTime?: number;
  cancelledTime?: number;
  summary?: string;
  error?: string;
}
export interface ItemNode extends NodeBase {}
export interface StageNode extends NodeBase {
  totalItems: number;
  onFailure: FailurePolicy;
  items: ItemNode[];
}
export interface ProcessNode extends NodeBase {
  jobId: string;
  jobType: string;
  userId?: string;
  stages: StageNode[];
}

/** Items kept per stage in the tree (the newest); the notifications see all of them. */
export const MAX_ITEMS_PER_STAGE = 200;

export class ProgressTracker implements JobProgress {
  readonly process: ProcessNode;
  private stage: StageNode | undefined;
  private item: ItemNode | undefined;
  /** Called after every structural change (a new stage, a finished stage) so the owner can persist. */
  onChange: (() => void) | undefined;

  /** A new process, or (`resume`) the stored tree of a run that goes on in a new object instance. */
  constructor(
    private readonly sink: NotificationSink,
    private readonly now: () => number,
    init: { jobId: string; jobType: string; description: string; userId?: string } | { resume: ProcessNode },
  ) {
    if ("resume" in init) {
      this.process = init.resume;
      const stage = this.process.stages.at(-1);
      if (stage?.status === "RUNNING") {
        this.stage = stage;
        const item = stage.items.at(-1);
        if (item?.status === "RUNNING") this.item = item;
      }
      return;
    }
    this.process = {
      jobId: init.jobId,
      jobType: init.jobType,
      description: init.description,
      status: "RUNNING",
      startedTime: now(),
      stages: [],
      ...(init.userId ? { userId: init.userId } : {}),
    };
  }

  startingStage(description: string, totalItems = 0, onFailure: FailurePolicy = "PARENT"): void {
    this.closeOpenStage("SUCCESS");
    this.stage = { description, totalItems, onFailure, status: "RUNNING", startedTime: this.now(), items: [] };
    this.process.stages.push(this.stage);
    this.sink.notify("INFO", description, this.now());
    this.onChange?.();
  }

  completedStage(summary?: string): void {
    const s = this.stage;
    if (!s) return;
    this.closeOpenItem("SUCCESS");
    s.status = "SUCCESS";
    s.completedTime = this.now();
    if (summary) s.summary = summary;
    this.stage = undefined;
    if (summary) this.sink.notify("INFO", summary, this.now());
    this.onChange?.();
  }

  failedStage(error: string): void {
    const s = this.stage;
    if (!s) return;
    this.closeOpenItem("ERROR");
    s.status = "ERROR";
    s.completedTime = this.now();
    s.error = error;
    this.stage = undefined;
    this.sink.notify("ERROR", error, this.now());
    this.onChange?.();
  }

  startingItem(description: string): void {
    if (!this.stage) this.startingStage("");
    this.closeOpenItem("SUCCESS");
    const items = this.stage!.items;
    this.item = { description, status: "RUNNING", startedTime: this.now() };
    items.push(this.item);
    if (items.length > MAX_ITEMS_PER_STAGE) items.splice(0, items.length - MAX_ITEMS_PER_STAGE);
    this.sink.notify("LOOP", description, this.now());
  }

  completedItem(summary?: string): void {
    const i = this.item;
    if (!i) return;
    i.status = "SUCCESS";
    i.completedTime = this.now();
    if (summary) {
      i.summary = summary;
      this.sink.notify("LOOP", summary, this.now());
    }
    this.item = undefined;
  }

  failedItem(error: string): void {
    const i = this.item;
    if (!i) return;
    i.status = "ERROR";
    i.completedTime = this.now();
    i.error = error;
    this.item = undefined;
    this.sink.notify("ERROR", error, this.now());
  }

  info(message: string): void {
    this.sink.notify("INFO", message, this.now());
  }
  warn(message: string): void {
    this.sink.notify("WARN", message, this.now());
  }
  error(message: string): void {
    this.sink.notify("ERROR", message, this.now());
  }

  /** Ends the process: open stages and items take the outcome. */
  finish(outcome: "COMPLETED" | "FAILED" | "STOPPED", message?: string): void {
    const status: ProgressStatus = outcome === "COMPLETED" ? "SUCCESS" : outcome === "FAILED" ? "ERROR" : "CANCELLED";
    this.closeOpenStage(status);
    const now = this.now();
    this.process.status = status;
    this.process.completedTime = now;
    if (outcome === "STOPPED") this.process.cancelledTime = now;
    if (outcome === "FAILED" && message) this.process.error = message;
    if (outcome === "COMPLETED" && message) this.process.summary = message;
    this.onChange?.();
  }

  private closeOpenItem(status: ProgressStatus): void {
    if (!this.item) return;
    this.item.status = status;
    this.item.completedTime = this.now();
    if (status === "CANCELLED") this.item.cancelledTime = this.item.completedTime;
    this.item = undefined;
  }

  private closeOpenStage(status: ProgressStatus): void {
    this.closeOpenItem(status);
    if (!this.stage) return;
    this.stage.status = status;
    this.stage.completedTime = this.now();
    if (status === "CANCELLED") this.stage.cancelledTime = this.stage.completedTime;
    this.stage = undefined;
  }
}

/** DHIS2's JSON for a progress tree: `{sequence:[process], errors:{}}`, dates in the server zone. */
export function progressJson(process: ProcessNode | null, timeZone: string, includeErrors = true): Record<string, unknown> {
  if (!process) return { sequence: [], errors: {} };
  const base = (n: NodeBase) => {
    const out: Record<string, unknown> = {
      description: n.description,
      status: n.status,
      startedTime: formatDate(n.startedTime, timeZone),
    };
    if (n.completedTime != null) out.completedTime = formatDate(n.completedTime, timeZone);
    if (n.cancelledTime != null) out.cancelledTime = formatDate(n.cancelledTime, timeZone);
    if (n.summary != null) out.summary = n.summary;
    if (n.error != null && includeErrors) out.error = n.error;
    return out;
  };
  const proc = {
    jobId: process.jobId,
    ...(process.userId ? { userId: process.userId } : {}),
    ...base(process),
    stages: process.stages.map((s) => ({
      ...base(s),
      totalItems: s.totalItems,
      onFailure: s.onFailure,
      items: s.items.map(base),
    })),
  };
  return { sequence: [proc], errors: {} };
}
