/** The TEST job handler's knobs, run against a plain context (no object, no D1). */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { JobRunError, type JobRunContext } from "../../src/jobs/contract";
import { manualClock } from "../../src/http/clock";
import { testHandler } from "../../src/jobs/handlers/test";
import { ProgressTracker } from "../../src/scheduling/progress";
import { maintenanceFor } from "../../src/scheduling/reconcile";
import type { NotificationLevel } from "../../src/tasks/types";

function context(parameters: Record<string, unknown>, opts: { cancelAfterItems?: number } = {}) {
  const clk = manualClock(Date.UTC(2035, 0, 1));
  const messages: [NotificationLevel, string][] = [];
  const sink = { runStarted() {}, notify: (l: NotificationLevel, m: string) => messages.push([l, m]), runFinished() {} };
  const tracker = new ProgressTracker(sink, () => clk.now(), { jobId: "Job0000000a", jobType: "TEST", description: "t" });
  const abort = new AbortController();
  let items = 0;
  const origStarting = tracker.startingItem.bind(tracker);
  tracker.startingItem = (d: string) => {
    origStarting(d);
    if (opts.cancelAfterItems !== undefined && ++items >= opts.cancelAfterItems) abort.abort();
  };
  let slept = 0;
  const ctx: JobRunContext = {
    env,
    runId: "r",
    jobId: "Job0000000a",
    jobType: "TEST",
    jobName: "t",
    parameters,
    scheduledAt: clk.now(),
    trigger: "MANUAL",
    progress: tracker,
    signal: abort.signal,
    isCancelled: () => abort.signal.aborted,
    throwIfCancelled: () => {
      if (abort.signal.aborted) throw new Error("cancelled");
    },
    clock: clk,
    now: () => clk.now(),
    notify: () => {},
    sleep: async (ms) => {
      slept += ms;
      clk.advance(ms);
    },
    maintenance: maintenanceFor(env),
  };
  return { ctx, tracker, messages, slept: () => slept };
}

const shape = (t: ProgressTracker) => t.process.stages.map((s) => [s.description, s.status, s.items.map((i) => i.status).join(",")]);

describe("TEST handler", () => {
  it("defaults: one stage, no items", async () => {
    const { ctx, tracker } = context({});
    expect(await testHandler(ctx)).toEqual({ message: "Test job completed" });
    expect(shape(tracker)).toEqual([["Stage 0", "SUCCESS", ""]]);
  });

  it("waitMillis, stages, items, itemDuration", async () => {
    const { ctx, tracker, slept } = context({ waitMillis: 500, stages: 2, items: 3, itemDuration: 10 });
    await testHandler(ctx);
    expect(slept()).toBe(500 + 2 * 3 * 10);
    expect(shape(tracker)).toEqual([
      ["Waiting 500ms", "SUCCESS", ""],
      ["Stage 0", "SUCCESS", "SUCCESS,SUCCESS,SUCCESS"],
      ["Stage 1", "SUCCESS", "SUCCESS,SUCCESS,SUCCESS"],
    ]);
  });

  it("failAtStage/failAtItem with the default policy fails the run with failWithMessage", async () => {
    const { ctx, tracker, messages } = context({ stages: 3, items: 2, failAtStage: 1, failAtItem: 0, failWithMessage: "nope" });
    await expect(testHandler(ctx)).rejects.toEqual(new JobRunError("nope"));
    expect(shape(tracker)).toEqual([
      ["Stage 0", "SUCCESS", "SUCCESS,SUCCESS"],
      ["Stage 1", "ERROR", "ERROR"],
    ]);
    expect(messages.filter(([l]) => l === "ERROR").map(([, m]) => m)).toEqual(["nope", "nope"]);
  });

  it("SKIP_ITEM continues with the next item; SKIP_STAGE with the next stage", async () => {
    const a = context({ stages: 2, items: 3, failAtStage: 0, failAtItem: 1, failWithPolicy: "SKIP_ITEM" });
    await testHandler(a.ctx);
    expect(shape(a.tracker)).toEqual([
      ["Stage 0", "SUCCESS", "SUCCESS,ERROR,SUCCESS"],
      ["Stage 1", "SUCCESS", "SUCCESS,SUCCESS,SUCCESS"],
    ]);
    const b = context({ stages: 2, items: 3, failAtStage: 0, failAtItem: 1, failWithPolicy: "SKIP_STAGE" });
    await testHandler(b.ctx);
    expect(shape(b.tracker)).toEqual([
      ["Stage 0", "ERROR", "SUCCESS,ERROR"],
      ["Stage 1", "SUCCESS", "SUCCESS,SUCCESS,SUCCESS"],
    ]);
  });

  it("failWithException throws a raw error; failAtStage without failAtItem fails the stage", async () => {
    await expect(
      testHandler(context({ stages: 1, items: 2, failAtStage: 0, failAtItem: 1, failWithException: true, failWithMessage: "raw" }).ctx),
    ).rejects.toThrow("raw");
    const c = context({ stages: 2, failAtStage: 0 });
    await expect(testHandler(c.ctx)).rejects.toEqual(new JobRunError("Simulated error"));
    expect(shape(c.tracker)).toEqual([["Stage 0", "ERROR", ""]]);
  });

  it("failWithPostCondition fails after all the work", async () => {
    const c = context({ stages: 1, items: 1, failWithPostCondition: true });
    await expect(testHandler(c.ctx)).rejects.toEqual(new JobRunError("Post-condition failed"));
    expect(shape(c.tracker)).toEqual([["Stage 0", "SUCCESS", "SUCCESS"]]);
  });

  it("runStagesParallel runs the stages' items in one stage", async () => {
    const c = context({ stages: 3, items: 2, runStagesParallel: true });
    await testHandler(c.ctx);
    expect(shape(c.tracker)).toEqual([["Running 3 stages in parallel", "SUCCESS", ""]]);
    expect(c.tracker.process.stages[0].totalItems).toBe(6);
  });

  it("stops at the next check after a cancel", async () => {
    const c = context({ stages: 1, items: 100 }, { cancelAfterItems: 3 });
    await expect(testHandler(c.ctx)).rejects.toThrow("cancelled");
    expect(c.tracker.process.stages[0].items).toHaveLength(3);
  });
});
