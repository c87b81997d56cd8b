/**
 * The progress tree of one run (DHIS2's `Progress`: a process of stages of items), kept by the job's
 * Durable Object for `GET /api/jobConfigurations/{id}/progress`, with every step forwarded to the
 * job's task notifications (the NotificationSink).
 */
import { formatDate } from "../http/dates";
import type { NotificationSink } from "../tasks/types";
import { type FailurePolicy, type JobItemError, type JobProgress, MAX_ITEM_ERRORS } from "../jobs/contract";
import { ERROR_TEMPLATES, formatTemplate } from "../jobs/errors";
import type { ProgressJson, ProgressNodeJson } from "./progress-schema";

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
  /** Item errors (`addError`), each once, in the order reported; at most MAX_ITEM_ERRORS. */
  errors?: JobItemError[];
  /** Item errors reported: the kept ones, plus every report past the cap. */
  errorCount?: number;
}

/** Items kept per stage in the tree (the newest); the notifications see all of them. */
export const MAX_ITEMS_PER_STAGE = 200;

/** Bounds of one item error's fields (a handler's or an executor's input). */
const ERROR_FIELD_MAX = { code: 64, id: 128, type: 128, arg: 1000, args: 16, message: 2000 };

/** `text` cut to `max` UTF-16 units. */
function clip(text: unknown, max: number): string {
  const s = typeof text === "string" ? text : String(text ?? "");
  return s.length > max ? s.slice(0, max) : s;
}

/** DHIS2's message for an error code (its template with the arguments), else the code and the arguments. */
export function itemErrorMessage(code: string, args: readonly string[]): string {
  const template = (ERROR_TEMPLATES as Record<string, string>)[code];
  if (template) return formatTemplate(template, [...args]);
  return args.length ? `${code}: ${args.join(", ")}` : code;
}

export class ProgressTracker implements JobProgress {
  readonly process: ProcessNode;
  private stage: StageNode | undefined;
  private item: ItemNode | undefined;
  /** `id code args` of the errors kept (DHIS2 keeps an error once per object, code and arguments). */
  private readonly errorKeys = new Set<string>();
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
      for (const e of this.process.errors ?? []) this.errorKeys.add(errorKey(e));
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

  addError(code: string, uid: string | null | undefined, type: string, args: readonly string[] = [], message?: string): void {
    const p = this.process;
    const error: JobItemError = {
      // A code is one word (the run's codes are stored space-separated).
      code: clip(String(code ?? "").replace(/\s+/g, ""), ERROR_FIELD_MAX.code),
      id: clip(uid ?? "", ERROR_FIELD_MAX.id),
      type: clip(type, ERROR_FIELD_MAX.type),
      args: args.slice(0, ERROR_FIELD_MAX.args).map((a) => clip(a, ERROR_FIELD_MAX.arg)),
      message: "",
    };
    const key = errorKey(error);
    if (this.errorKeys.has(key)) return;
    p.errorCount = (p.errorCount ?? 0) + 1;
    if ((p.errors?.length ?? 0) >= MAX_ITEM_ERRORS) return;
    error.message = clip(message?.trim() ? message : itemErrorMessage(error.code, error.args), ERROR_FIELD_MAX.message);
    this.errorKeys.add(key);
    p.errors ??= [];
    p.errors.push(error);
    this.onChange?.();
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

function errorKey(e: Pick<JobItemError, "id" | "code" | "args">): string {
  return JSON.stringify([e.id, e.code, e.args]);
}

/** An item error as DHIS2's `/progress/errors` and progress tree show it: `{code, id, type, args}`. */
export function plainItemError(e: JobItemError): Omit<JobItemError, "message"> {
  return { code: e.code, id: e.id, type: e.type, args: e.args };
}

/** DHIS2's `Progress.errors`: object id → code → errors. */
export function errorsByObject(
  errors: readonly JobItemError[] | undefined,
): Record<string, Record<string, Omit<JobItemError, "message">[]>> {
  // Null prototypes: an object id or a code such as `__proto__` is a member like any other.
  const out: Record<string, Record<string, Omit<JobItemError, "message">[]>> = Object.create(null);
  for (const e of errors ?? []) {
    out[e.id] ??= Object.create(null);
    const byCode = out[e.id];
    byCode[e.code] ??= [];
    byCode[e.code].push(plainItemError(e));
  }
  return out;
}

/** What a run's end records of its item errors (job_runs): the distinct codes, the errors, how many were reported. */
export interface RunItemErrors {
  /** Sorted distinct codes, space-separated (DHIS2's `errorCodes` of the run). */
  codes: string;
  /** The kept errors as JSON. */
  json: string;
  count: number;
}

export function runItemErrors(process: ProcessNode | null | undefined): RunItemErrors | null {
  const errors = process?.errors;
  if (!process || !errors?.length) return null;
  return {
    codes: [...new Set(errors.map((e) => e.code))].sort().join(" "),
    json: JSON.stringify(errors),
    count: Math.max(process.errorCount ?? 0, errors.length),
  };
}

/**
 * DHIS2's JSON for a progress tree: `{sequence:[process], errors}`, dates in the server zone; the
 * item errors (object id → code → errors) only with `includeErrors` (DHIS2's `withoutErrors`).
 */
export function progressJson(process: ProcessNode | null, timeZone: string, includeErrors = true): ProgressJson {
  if (!process) return { sequence: [], errors: {} };
  const base = (n: NodeBase): ProgressNodeJson => {
    const out: ProgressNodeJson = { description: n.description, status: n.status, startedTime: formatDate(n.startedTime, timeZone) };
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
  return { sequence: [proc], errors: includeErrors ? errorsByObject(process.errors) : {} };
}
