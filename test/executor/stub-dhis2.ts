/**
 * A stub DHIS2 server answering with DHIS2's recorded shapes: the async maintenance endpoints
 * (`JobConfigurationWebMessageResponse`), `POST /api/jobConfigurations` (ObjectReport),
 * `/api/system/tasks/{type}/{id}` (notifications, newest first) and `/api/system/taskSummaries/{type}/{id}`
 * (JSON, or an empty body when there is none) and `/api/jobConfigurations/{id}/errors` (2.41+, when set).
 */
import type { FetchLike } from "../../src/executor/protocol";

export interface StubNotification {
  uid: string;
  level: "INFO" | "LOOP" | "WARN" | "ERROR" | "DEBUG";
  message: string;
  completed?: boolean;
  dataType?: "PARAMETERS";
  data?: unknown;
}

export interface StubCall {
  method: string;
  path: string;
  query: string;
  auth: string | null;
  body: string;
}

export class StubDhis2 implements FetchLike {
  calls: StubCall[] = [];
  /** Successive answers of the task endpoint (the last one repeats); each list is oldest first. */
  script: StubNotification[][] = [];
  summary: unknown = undefined;
  /** `GET /api/jobConfigurations/{id}/errors` (DHIS2 2.41+); undefined: 404, as an older server. */
  runErrors: unknown = undefined;
  taskId = "ZtmqFRnEyuV";
  down = false;
  /** Status and message for start requests (e.g. 409 "already running"). */
  refuseStart: { status: number; message: string } | null = null;
  private polls = 0;

  readonly baseUrl: string;

  /** (No parameter property: bench/bridge.bench.mjs loads this file with Node's type stripping.) */
  constructor(baseUrl = "https://dhis2.example.org") {
    this.baseUrl = baseUrl;
  }

  callsTo(method: string, pathPrefix: string): StubCall[] {
    return this.calls.filter((c) => c.method === method && c.path.startsWith(pathPrefix));
  }

  async fetch(input: Request | string | URL, init?: RequestInit): Promise<Response> {
    const req = new Request(input, init);
    const url = new URL(req.url);
    const body = req.method === "GET" ? "" : await req.text();
    this.calls.push({ method: req.method, path: url.pathname, query: url.search, auth: req.headers.get("Authorization"), body });
    if (this.down) throw new TypeError("fetch failed: connection refused");
    const json = (v: unknown, status = 200) =>
      new Response(JSON.stringify(v), { status, headers: { "Content-Type": "application/json;charset=UTF-8" } });
    const time = "2026-11-29T10:00:00.000";
    const started = (jobType: string, name: string, jobParameters: unknown) =>
      json({
        httpStatus: "OK",
        httpStatusCode: 200,
        status: "OK",
        message: `Initiated ${name}`,
        response: {
          responseType: "JobConfigurationWebMessageResponse",
          name,
          id: this.taskId,
          created: time,
          jobType,
          jobStatus: "SCHEDULED",
          jobParameters,
          relativeNotifierEndpoint: `/api/system/tasks/${jobType}/${this.taskId}`,
        },
      });
    const p = url.pathname;
    if (req.method === "POST" && (p.startsWith("/api/resourceTables") || p.startsWith("/api/dataIntegrity") || p === "/api/predictions")) {
      if (this.refuseStart) {
        return json(
          { httpStatus: "Conflict", httpStatusCode: this.refuseStart.status, status: "ERROR", message: this.refuseStart.message },
          this.refuseStart.status,
        );
      }
      if (p === "/api/resourceTables/analytics") return started("ANALYTICS_TABLE", "inMemoryAnalyticsJob", { skipResourceTables: false });
      if (p === "/api/resourceTables") return started("RESOURCE_TABLE", "inMemoryResourceTableJob", null);
      if (p === "/api/resourceTables/monitoring") return started("MONITORING", "inMemoryMonitoringJob", {});
      if (p === "/api/dataIntegrity/details") return started("DATA_INTEGRITY_DETAILS", "DATA_INTEGRITY_1", {});
      if (p.startsWith("/api/dataIntegrity")) return started("DATA_INTEGRITY", "DATA_INTEGRITY_1", {});
      if (p === "/api/predictions") return started("PREDICTOR", "inMemoryPredictorJob", {});
    }
    if (req.method === "POST" && p === "/api/jobConfigurations") {
      if (this.refuseStart) {
        return json(
          {
            httpStatus: "Conflict",
            httpStatusCode: 409,
            status: "ERROR",
            message: "One or more errors occurred, please see full details in import report.",
            response: { responseType: "ObjectReport", klass: "org.hisp.dhis.scheduling.JobConfiguration", errorReports: [] },
          },
          409,
        );
      }
      return json(
        {
          httpStatus: "Created",
          httpStatusCode: 201,
          status: "OK",
          response: {
            responseType: "ObjectReport",
            uid: this.taskId,
            klass: "org.hisp.dhis.scheduling.JobConfiguration",
            errorReports: [],
          },
        },
        201,
      );
    }
    const task = /^\/api\/system\/tasks\/([A-Z_]+)\/([A-Za-z0-9]+)$/.exec(p);
    if (req.method === "GET" && task) {
      if (task[2] !== this.taskId) return json([]);
      const step = this.script[Math.min(this.polls, this.script.length - 1)] ?? [];
      this.polls++;
      return json(
        [...step].reverse().map((n) => ({
          uid: n.uid,
          id: n.uid,
          level: n.level,
          category: task[1],
          time,
          message: n.message,
          completed: n.completed ?? false,
          ...(n.dataType ? { dataType: n.dataType, data: n.data } : {}),
        })),
      );
    }
    const summary = /^\/api\/system\/taskSummaries\/([A-Z_]+)\/([A-Za-z0-9]+)$/.exec(p);
    if (req.method === "GET" && summary) {
      if (this.summary === undefined) return new Response(null, { status: 200 });
      return json(this.summary);
    }
    if (req.method === "GET" && p === `/api/jobConfigurations/${this.taskId}/errors` && this.runErrors !== undefined)
      return json(this.runErrors);
    if (req.method === "POST" && /^\/api\/jobConfigurations\/[A-Za-z0-9]+\/cancel$/.test(p)) return new Response(null, { status: 204 });
    if (req.method === "DELETE" && /^\/api\/jobConfigurations\/[A-Za-z0-9]+$/.test(p)) return new Response(null, { status: 204 });
    return json({ httpStatus: "Not Found", httpStatusCode: 404, status: "ERROR", message: "Not found" }, 404);
  }
}

/** A typical analytics run, oldest first, as three successive polls. */
export function analyticsScript(): StubNotification[][] {
  const p0: StubNotification[] = [{ uid: "n0000000001", level: "INFO", message: "", dataType: "PARAMETERS", data: { lastYears: 2 } }];
  const p1 = [...p0, { uid: "n0000000002", level: "INFO" as const, message: "Analytics table update parameters: lastYears=2" }];
  const p2 = [
    ...p1,
    { uid: "n0000000003", level: "INFO" as const, message: "Performing pre-create table work" },
    { uid: "n0000000004", level: "LOOP" as const, message: "[1/2] Populated analytics_2025" },
  ];
  const p3 = [
    ...p2.slice(0, 3),
    { uid: "n0000000005", level: "LOOP" as const, message: "[2/2] Populated analytics_2026" },
    { uid: "n0000000006", level: "INFO" as const, message: "Analytics tables updated: 00:01:02.345", completed: true },
  ];
  return [p1, p2, p3];
}
