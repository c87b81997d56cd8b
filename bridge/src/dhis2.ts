/**
 * The DHIS2 side of the bridge: how each job type is started on a DHIS2-compatible server, and the
 * task endpoints it is followed through (docs/EXECUTOR.md "DHIS2 bridge").
 *
 * Three ways to start a run:
 * - `task`: a maintenance endpoint that starts the job and answers DHIS2's
 *   `{"response":{"responseType":"JobConfigurationWebMessageResponse","id",…,"jobType","relativeNotifierEndpoint"}}`
 *   (analytics and resource tables, monitoring, data integrity, predictors);
 * - `job`: any other type (metadata/data sync, push analytics, continuous analytics, …) or parameters
 *   a maintenance endpoint cannot express: a one-off `ONCE_ASAP` job configuration is created
 *   through `POST /api/jobConfigurations` (DHIS2 2.41+ runs it at once) and deleted afterwards;
 * then `GET /api/system/tasks/{jobType}/{id}` is polled, and at the end `GET /api/system/taskSummaries/{jobType}/{id}`
 * and the run's item errors (`GET /api/jobConfigurations/{id}/errors`, DHIS2 2.41+) are read.
 */
import type { FetchLike, ItemErrorReport } from "../../src/executor/protocol";

/** Item errors relayed per run (the scheduler keeps at most 200). */
export const MAX_RELAYED_ERRORS = 200;

export interface Dhis2Config {
  baseUrl: string;
  username?: string;
  password?: string;
  token?: string;
}

export type Dhis2Start =
  | { mode: "task"; method: "POST"; path: string; query: [string, string][]; body?: unknown; taskType: string }
  | { mode: "job"; jobType: string; parameters: Record<string, unknown> };

/** DHIS2's Notification (newest first in task lists). */
export interface Dhis2Notification {
  uid?: string;
  id?: string;
  level?: string;
  category?: string;
  time?: string;
  message?: string;
  completed?: boolean;
  dataType?: string;
}

export class Dhis2Error extends Error {
  constructor(
    message: string,
    /** True when DHIS2 could not be reached or answered 5xx (worth retrying). */
    readonly transient: boolean,
    readonly status?: number,
  ) {
    super(message);
  }
}

const AGGREGATE = ["DATA_VALUE", "COMPLETENESS", "COMPLETENESS_TARGET"];
const TRACKED = ["TRACKED_ENTITY_INSTANCE", "TRACKED_ENTITY_INSTANCE_EVENTS", "TRACKED_ENTITY_INSTANCE_ENROLLMENTS"];
/** `skipTableTypes` entries the analytics endpoint can express, with the flag that skips them. */
const SKIP_FLAGS: Record<string, string> = {
  VALIDATION_RESULT: "skipValidationResult",
  EVENT: "skipEvents",
  ENROLLMENT: "skipEnrollment",
  OWNERSHIP: "skipOrgUnitOwnership",
};

function list(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
}

function isoDay(t: number): string {
  return new Date(t).toISOString().slice(0, 10);
}

/** Maps a job type and its parameters onto the DHIS2 call that starts it. */
export function startFor(jobType: string, parameters: Record<string, unknown>, now: number): Dhis2Start {
  const p = parameters ?? {};
  const job: Dhis2Start = { mode: "job", jobType, parameters: p };
  switch (jobType) {
    case "ANALYTICS_TABLE": {
      const skip = new Set(list(p.skipTableTypes));
      const q: [string, string][] = [];
      if (typeof p.lastYears === "number") q.push(["lastYears", String(p.lastYears)]);
      if (p.skipResourceTables === true) q.push(["skipResourceTables", "true"]);
      if (p.skipOutliers === true) q.push(["skipOutliers", "true"]);
      // The endpoint skips aggregate and tracked-entity tables only as groups.
      const agg = AGGREGATE.filter((t) => skip.has(t)).length;
      const trk = TRACKED.filter((t) => skip.has(t)).length;
      if ((agg && agg < AGGREGATE.length) || (trk && trk < TRACKED.length) || skip.has("ORG_UNIT_TARGET") || list(p.skipPrograms).length)
        return job;
      if (agg) q.push(["skipAggregate", "true"]);
      if (trk) q.push(["skipTrackedEntities", "true"]);
      for (const [type, flag] of Object.entries(SKIP_FLAGS)) if (skip.has(type)) q.push([flag, "true"]);
      return { mode: "task", method: "POST", path: "/api/resourceTables/analytics", query: q, taskType: "ANALYTICS_TABLE" };
    }
    case "RESOURCE_TABLE":
      return { mode: "task", method: "POST", path: "/api/resourceTables", query: [], taskType: "RESOURCE_TABLE" };
    case "MONITORING": {
      const defaults =
        !p.relativeStart &&
        !p.relativeEnd &&
        !list(p.validationRuleGroups).length &&
        p.sendNotifications !== true &&
        p.persistResults !== true;
      return defaults ? { mode: "task", method: "POST", path: "/api/resourceTables/monitoring", query: [], taskType: "MONITORING" } : job;
    }
    case "DATA_INTEGRITY": {
      const checks = list(p.checks);
      const q: [string, string][] = checks.length ? [["checks", checks.join(",")]] : [];
      if (p.type === "DETAILS")
        return { mode: "task", method: "POST", path: "/api/dataIntegrity/details", query: q, taskType: "DATA_INTEGRITY_DETAILS" };
      if (p.type === "SUMMARY")
        return { mode: "task", method: "POST", path: "/api/dataIntegrity/summary", query: q, taskType: "DATA_INTEGRITY" };
      return { mode: "task", method: "POST", path: "/api/dataIntegrity", query: q, taskType: "DATA_INTEGRITY" };
    }
    case "DATA_INTEGRITY_DETAILS": {
      const checks = list(p.checks);
      return {
        mode: "task",
        method: "POST",
        path: "/api/dataIntegrity/details",
        query: checks.length ? [["checks", checks.join(",")]] : [],
        taskType: "DATA_INTEGRITY_DETAILS",
      };
    }
    case "PREDICTOR": {
      const day = 24 * 3600 * 1000;
      const start = typeof p.relativeStart === "number" ? p.relativeStart : 0;
      const end = typeof p.relativeEnd === "number" ? p.relativeEnd : 0;
      const q: [string, string][] = [
        ["startDate", isoDay(now + start * day)],
        ["endDate", isoDay(now + end * day)],
        ["async", "true"],
      ];
      for (const id of list(p.predictors)) q.push(["predictor", id]);
      for (const id of list(p.predictorGroups)) q.push(["predictorGroup", id]);
      return { mode: "task", method: "POST", path: "/api/predictions", query: q, taskType: "PREDICTOR" };
    }
    default:
      return job;
  }
}

export class Dhis2Client {
  private readonly base: string;
  constructor(
    private readonly cfg: Dhis2Config,
    private readonly http: FetchLike,
  ) {
    this.base = cfg.baseUrl.replace(/\/+$/, "").replace(/\/api$/, "");
  }

  private authHeader(): string | undefined {
    if (this.cfg.token) return `ApiToken ${this.cfg.token}`;
    if (this.cfg.username) return `Basic ${btoa(`${this.cfg.username}:${this.cfg.password ?? ""}`)}`;
    return undefined;
  }

  async request(method: string, path: string, query: [string, string][] = [], body?: unknown): Promise<{ status: number; text: string }> {
    const url = new URL(this.base + path);
    for (const [k, v] of query) url.searchParams.append(k, v);
    const headers: Record<string, string> = { Accept: "application/json" };
    const auth = this.authHeader();
    if (auth) headers.Authorization = auth;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let res: Response;
    try {
      res = await this.http.fetch(url.toString(), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        redirect: "manual",
      });
    } catch (err) {
      throw new Dhis2Error(`DHIS2 server unreachable: ${err instanceof Error ? err.message : String(err)}`, true);
    }
    const text = await res.text();
    if (res.status >= 500) throw new Dhis2Error(`DHIS2 server error: HTTP ${res.status} on ${method} ${path}`, true, res.status);
    if (res.status >= 300 && res.status < 400)
      throw new Dhis2Error(`DHIS2 redirected ${method} ${path} (authentication failed?)`, false, res.status);
    if (res.status >= 400) {
      let message = `HTTP ${res.status}`;
      try {
        const msg = JSON.parse(text) as { message?: string };
        if (msg?.message) message = msg.message;
      } catch {
        // keep the status
      }
      throw new Dhis2Error(`DHIS2 refused ${method} ${path}: ${message}`, false, res.status);
    }
    return { status: res.status, text };
  }

  /** Starts the run; returns the DHIS2 task (job type and id) to follow. */
  async start(plan: Dhis2Start, runId: string): Promise<{ taskType: string; taskId: string; createdJob: boolean }> {
    if (plan.mode === "task") {
      const { text } = await this.request(plan.method, plan.path, plan.query, plan.body);
      const msg = safeJson(text) as { response?: { id?: string; jobType?: string } } | null;
      const id = msg?.response?.id;
      if (!id) throw new Dhis2Error(`DHIS2 did not return a task id for ${plan.path}`, false);
      return { taskType: msg?.response?.jobType || plan.taskType, taskId: id, createdJob: false };
    }
    const { text } = await this.request("POST", "/api/jobConfigurations", [], {
      name: `HRHIS4 ${plan.jobType} ${runId}`.slice(0, 230),
      jobType: plan.jobType,
      schedulingType: "ONCE_ASAP",
      jobParameters: plan.parameters,
    });
    const msg = safeJson(text) as { response?: { uid?: string; id?: string } } | null;
    const id = msg?.response?.uid ?? msg?.response?.id;
    if (!id) throw new Dhis2Error("DHIS2 did not return the id of the created job configuration", false);
    return { taskType: plan.jobType, taskId: id, createdJob: true };
  }

  async tasks(taskType: string, taskId: string): Promise<Dhis2Notification[]> {
    const { text } = await this.request("GET", `/api/system/tasks/${encodeURIComponent(taskType)}/${encodeURIComponent(taskId)}`);
    const v = safeJson(text);
    return Array.isArray(v) ? (v as Dhis2Notification[]) : [];
  }

  /** The task summary, or undefined when DHIS2 has none (an empty body). */
  async summary(taskType: string, taskId: string): Promise<unknown> {
    const { text } = await this.request("GET", `/api/system/taskSummaries/${encodeURIComponent(taskType)}/${encodeURIComponent(taskId)}`);
    if (!text.trim()) return undefined;
    const v = safeJson(text);
    return v === null ? undefined : v;
  }

  /**
   * The item errors DHIS2 (2.41+) kept of the job's run: `GET /api/jobConfigurations/{id}/errors`
   * (`{}` when none). Older servers, and a job whose errors cannot be read, give none.
   */
  async runErrors(taskId: string): Promise<ItemErrorReport[]> {
    let text: string;
    try {
      ({ text } = await this.request("GET", `/api/jobConfigurations/${encodeURIComponent(taskId)}/errors`));
    } catch {
      return [];
    }
    const body = safeJson(text) as { errors?: unknown } | null;
    if (!body || !Array.isArray(body.errors)) return [];
    const out: ItemErrorReport[] = [];
    for (const e of body.errors as Record<string, unknown>[]) {
      if (!e || typeof e !== "object" || typeof e.code !== "string" || !/^[A-Za-z0-9_.-]{1,64}$/.test(e.code)) continue;
      const error: ItemErrorReport = {
        code: e.code,
        type: typeof e.type === "string" && e.type ? e.type.slice(0, 128) : "Object",
        args: Array.isArray(e.args) ? e.args.slice(0, 16).map((a) => String(a).slice(0, 1000)) : [],
      };
      if (typeof e.id === "string") error.id = e.id.slice(0, 128);
      if (typeof e.message === "string" && e.message) error.message = e.message.slice(0, 2000);
      out.push(error);
      if (out.length >= MAX_RELAYED_ERRORS) break;
    }
    return out;
  }

  async cancel(taskId: string): Promise<void> {
    await this.request("POST", `/api/jobConfigurations/${encodeURIComponent(taskId)}/cancel`);
  }

  async deleteJob(taskId: string): Promise<void> {
    await this.request("DELETE", `/api/jobConfigurations/${encodeURIComponent(taskId)}`);
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
