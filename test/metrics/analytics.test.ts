/**
 * The Analytics Engine writer (src/metrics/analytics.ts): the data point's fixed columns, the real
 * `RUN_ANALYTICS` binding of wrangler.jsonc (local simulator) accepting it, and no binding at all.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { runDataPoint, writeRunDataPoint, type RunPoint } from "../../src/metrics/analytics";

const RUN: RunPoint = {
  jobId: "aBcDeFgHiJ1",
  jobType: "ANALYTICS_TABLE",
  runId: "run-0001",
  trigger: "CRON",
  status: "FAILED",
  errorCodes: "E7010",
  durationMs: 1234,
  latenessMs: 5,
};

describe("run data points (Workers Analytics Engine)", () => {
  it("one point per run: job type as index, blobs and doubles in their documented positions", () => {
    expect(runDataPoint(RUN)).toEqual({
      indexes: ["ANALYTICS_TABLE"],
      blobs: ["aBcDeFgHiJ1", "ANALYTICS_TABLE", "CRON", "FAILED", "run-0001", "E7010"],
      doubles: [1234, 5],
    });
    expect(runDataPoint({ ...RUN, errorCodes: undefined }).blobs?.[5]).toBe("");
  });

  it("is written to the configured dataset binding", () => {
    expect(env.RUN_ANALYTICS).toBeDefined();
    expect(writeRunDataPoint(env.RUN_ANALYTICS, RUN)).toBe(true);
  });

  it("writes nothing, and does not fail, without the binding or when the write is refused", () => {
    expect(writeRunDataPoint(undefined, RUN)).toBe(false);
    const refusing: AnalyticsEngineDataset = {
      writeDataPoint: () => {
        throw new Error("over the limit");
      },
    };
    expect(writeRunDataPoint(refusing, RUN)).toBe(false);
  });
});
