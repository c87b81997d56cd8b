/**
 * TEST: DHIS2's test job. Knobs (all optional): `waitMillis` (a first waiting stage), `stages`
 * (default 1), `items` per stage (default 0), `itemDuration` (ms per item), `failAtStage` /
 * `failAtItem` (0-based) with `failWithMessage`, `failWithException` (fail with a raw exception
 * instead of a recorded stage/item failure), `failWithPolicy` (PARENT/FAIL stop the run, SKIP_STAGE
 * continues with the next stage, SKIP_ITEM/SKIP_ITEM_OUTLIER with the next item),
 * `failWithPostCondition` (all work succeeds, then the run fails) and `runStagesParallel`.
 * The run checks for a cancel before every item and while it waits.
 */
import { type FailurePolicy, type JobHandler, type JobRunContext, JobRunError } from "../contract";

const POLICIES = new Set(["PARENT", "FAIL", "SKIP_STAGE", "SKIP_ITEM", "SKIP_ITEM_OUTLIER"]);

function int(v: unknown, fallback: number): number {
  return typeof v === "number" && Number.isFinite(v) ? Math.trunc(v) : fallback;
}

interface Knobs {
  waitMillis: number;
  stages: number;
  items: number;
  itemDuration: number;
  failAtStage: number;
  failAtItem: number;
  message: string;
  exception: boolean;
  postCondition: boolean;
  policy: FailurePolicy;
  parallel: boolean;
}

function knobs(p: Record<string, unknown>): Knobs {
  return {
    waitMillis: Math.max(0, int(p.waitMillis, 0)),
    stages: Math.max(0, int(p.stages, 1)),
    items: Math.max(0, int(p.items, 0)),
    itemDuration: Math.max(0, int(p.itemDuration, 0)),
    failAtStage: int(p.failAtStage, -1),
    failAtItem: int(p.failAtItem, -1),
    message: typeof p.failWithMessage === "string" && p.failWithMessage ? p.failWithMessage : "Simulated error",
    exception: p.failWithException === true,
    postCondition: p.failWithPostCondition === true,
    policy: (typeof p.failWithPolicy === "string" && POLICIES.has(p.failWithPolicy) ? p.failWithPolicy : "PARENT") as FailurePolicy,
    parallel: p.runStagesParallel === true,
  };
}

/** Thrown inside a stage to stop the whole run (policy PARENT/FAIL). */
class StopRun extends Error {}

async function runStage(
  ctx: JobRunContext,
  k: Knobs,
  stage: number,
  itemLabel: (i: number) => string,
  parallel: boolean,
): Promise<"ok" | "skipped"> {
  const failHere = stage === k.failAtStage;
  if (failHere && k.failAtItem < 0) {
    if (k.exception) throw new Error(k.message);
    if (k.policy === "SKIP_STAGE" || k.policy === "SKIP_ITEM" || k.policy === "SKIP_ITEM_OUTLIER") return "skipped";
    throw new StopRun(k.message);
  }
  for (let i = 0; i < k.items; i++) {
    ctx.throwIfCancelled();
    if (!parallel) ctx.progress.startingItem(itemLabel(i));
    if (k.itemDuration > 0) await ctx.sleep(k.itemDuration);
    ctx.throwIfCancelled();
    if (failHere && i === k.failAtItem) {
      if (k.exception) throw new Error(k.message);
      if (!parallel) ctx.progress.failedItem(k.message);
      else ctx.progress.error(`${itemLabel(i)}: ${k.message}`);
      if (k.policy === "SKIP_ITEM" || k.policy === "SKIP_ITEM_OUTLIER") continue;
      if (k.policy === "SKIP_STAGE") return "skipped";
      throw new StopRun(k.message);
    }
    if (!parallel) ctx.progress.completedItem();
  }
  return "ok";
}

export const testHandler: JobHandler = async (ctx) => {
  const k = knobs(ctx.parameters);
  if (k.waitMillis > 0) {
    ctx.progress.startingStage(`Waiting ${k.waitMillis}ms`);
    await ctx.sleep(k.waitMillis);
    ctx.throwIfCancelled();
    ctx.progress.completedStage();
  }
  try {
    if (k.parallel && k.stages > 1) {
      ctx.progress.startingStage(`Running ${k.stages} stages in parallel`, k.stages * k.items, k.policy);
      await Promise.all(Array.from({ length: k.stages }, (_, s) => runStage(ctx, k, s, (i) => `Stage ${s} item ${i}`, true)));
      ctx.progress.completedStage();
    } else {
      for (let s = 0; s < k.stages; s++) {
        ctx.throwIfCancelled();
        ctx.progress.startingStage(`Stage ${s}`, k.items, k.policy);
        const r = await runStage(ctx, k, s, (i) => `Item ${i}`, false);
        if (r === "skipped") ctx.progress.failedStage(k.message);
        else ctx.progress.completedStage();
      }
    }
  } catch (e) {
    if (e instanceof StopRun) {
      ctx.progress.failedStage(e.message);
      throw new JobRunError(e.message);
    }
    throw e;
  }
  if (k.postCondition) throw new JobRunError("Post-condition failed");
  return { message: "Test job completed" };
};
