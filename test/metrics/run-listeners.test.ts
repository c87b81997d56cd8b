/**
 * The observability run listeners the entry registers (src/metrics/run-listeners.ts): one JSON log
 * line per run end (run_end, run_lost, run_recovered) with the run's fields, from real runs of real
 * job objects, and one Analytics Engine data point per run end.
 */
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import "../../src/index";
import { runAnalytics, runLog } from "../../src/metrics/run-listeners";
import { runListener } from "../../src/scheduling/hooks";
import type { RunEndedEvent } from "../../src/scheduling/run-events";
import { syncJobObject } from "../../src/scheduling/sync";
import { captureConsole } from "../console-capture";
import { api } from "../helpers";
import { T0, fire, insertJob, schedulerTestLifecycle } from "../scheduling/support";

const clk = schedulerTestLifecycle(["DATA_INTEGRITY"]);

/** The JSON lines written to the console (log, warn, error) while `fn` runs. */
const jsonLines = async (fn: () => Promise<unknown>) => (await captureConsole(fn)).json;

afterEach(() => vi.restoreAllMocks());

const ended = (over: Partial<RunEndedEvent> = {}): RunEndedEvent => ({
  kind: "RUN_ENDED",
  id: "job1-100:ended",
  at: 400,
  jobId: "job1",
  jobType: "ANALYTICS_TABLE",
  jobName: "Analytics",
  scheduledAt: 100,
  executedBy: null,
  runId: "job1-100",
  trigger: "CRON",
  startedAt: 150,
  latenessMs: 50,
  status: "COMPLETED",
  finishedAt: 400,
  durationMs: 250,
  errorCodes: [],
  message: "done",
  ...over,
});

describe("run end log lines", () => {
  it("the entry registers both listeners", () => {
    expect(runListener("run-log")).toBe(runLog);
    expect(runListener("run-analytics")).toBe(runAnalytics);
  });

  it("a real CRON run and a real failed execute: exactly one run_end line each, with the run's fields", async () => {
    const uid = await insertJob({ name: "logged", cron: "0 * * * * *" });
    await syncJobObject(env, uid);
    const due = T0 + 60_000;
    clk.set(due + 250);
    const cron = await jsonLines(() => fire(uid));
    expect(cron.filter((l) => l.jobId === uid)).toEqual([
      {
        level: "info",
        event: "run_end",
        jobId: uid,
        jobType: "TEST",
        runId: `${uid}-${due}`,
        trigger: "CRON",
        status: "COMPLETED",
        errorCodes: "",
        durationMs: 0,
        latenessMs: 250,
        eventId: `${uid}-${due}:ended`,
      },
    ]);

    const failing = await insertJob({ jobType: "RESOURCE_TABLE", cron: "0 0 0 * * *" });
    const manual = await jsonLines(async () => {
      expect((await api(`/api/jobConfigurations/${failing}/execute`, { method: "POST" })).status).toBe(200);
      clk.advance(1500);
      await fire(failing);
    });
    const lines = manual.filter((l) => l.jobId === failing);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: "error",
      event: "run_end",
      jobType: "RESOURCE_TABLE",
      trigger: "MANUAL",
      status: "FAILED",
      errorCodes: "E7010",
      durationMs: 0,
      latenessMs: 1500,
    });
  });

  it("lost and recovered runs have their own lines; a run start has none", async () => {
    const lost = await jsonLines(async () => runLog.handle(ended({ kind: "RUN_LOST", status: "FAILED", errorCodes: ["E7012"] }), ctx()));
    expect(lost).toEqual([
      expect.objectContaining({ level: "error", event: "run_lost", status: "FAILED", errorCodes: "E7012", eventId: "job1-100:ended" }),
    ]);
    const recovered = await jsonLines(async () => runLog.handle(ended({ kind: "RUN_RECOVERED", status: "COMPLETED" }), ctx()));
    expect(recovered).toEqual([expect.objectContaining({ level: "warn", event: "run_recovered", status: "COMPLETED" })]);
    const { kind: _k, ...rest } = ended();
    expect(runLog.accepts?.({ ...rest, kind: "RUN_STARTED" })).toBe(false);
    expect(runLog.accepts?.(ended())).toBe(true);
  });
});

function ctx(over: Partial<Env> = {}) {
  return { env: { ...env, ...over }, now: 500, attempt: 1 };
}

describe("run data points", () => {
  it("one Analytics Engine data point per run end, in the dataset of the job object's environment", async () => {
    const points: AnalyticsEngineDataPoint[] = [];
    const dataset: AnalyticsEngineDataset = { writeDataPoint: (p) => points.push(p ?? {}) };
    await runAnalytics.handle(ended({ status: "FAILED", errorCodes: ["E7010", "E7011"] }), ctx({ RUN_ANALYTICS: dataset }));
    expect(points).toEqual([
      {
        indexes: ["ANALYTICS_TABLE"],
        blobs: ["job1", "ANALYTICS_TABLE", "CRON", "FAILED", "job1-100", "E7010,E7011"],
        doubles: [250, 50],
      },
    ]);
    // The real binding of wrangler.jsonc accepts it too.
    await runAnalytics.handle(ended(), ctx());
  });
});
