import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { countEvent, FLUSH_INTERVAL_MS, flushCounters, labelKey, readCounters, resetCounterBuffer } from "../../src/metrics/counters";

describe("metric counters", () => {
  beforeEach(async () => {
    resetCounterBuffer();
    await env.DB.prepare("DELETE FROM metric_counters").run();
  });

  function sink(now: number) {
    const waits: Promise<unknown>[] = [];
    return { sink: { db: env.DB, waitUntil: (p: Promise<unknown>) => waits.push(p), now: () => now }, waits };
  }

  it("labels are stored in one canonical order", () => {
    expect(labelKey({ b: "2", a: "1" })).toBe('{"a":"1","b":"2"}');
    expect(labelKey()).toBe("{}");
  });

  it("the first event is written at once; a burst is added up into one flush", async () => {
    const { sink: s, waits } = sink(1_000_000);
    countEvent(s, "auth_failures_total", { reason: "bad_password" });
    await Promise.all(waits);
    expect(await readCounters(env.DB)).toEqual([{ name: "auth_failures_total", labels: { reason: "bad_password" }, value: 1 }]);

    // Within the interval: held, then written together by one scheduled flush.
    const later = sink(1_000_000 + FLUSH_INTERVAL_MS - 1);
    for (let i = 0; i < 50; i++) countEvent(later.sink, "auth_failures_total", { reason: "bad_password" });
    countEvent(later.sink, "auth_throttled_total");
    expect(later.waits).toHaveLength(1);
    await Promise.all(later.waits);
    expect(await readCounters(env.DB)).toEqual([
      { name: "auth_failures_total", labels: { reason: "bad_password" }, value: 51 },
      { name: "auth_throttled_total", labels: {}, value: 1 },
    ]);
  });

  it("a failed flush keeps its counts for the next one", async () => {
    const broken = { batch: async () => Promise.reject(new Error("D1 down")) } as unknown as D1Database;
    const { sink: s, waits } = sink(5_000_000);
    countEvent({ ...s, db: broken }, "auth_throttled_total", {}, 3);
    await Promise.all(waits);
    expect(await readCounters(env.DB)).toEqual([]);
    await flushCounters(env.DB, 5_000_000 + FLUSH_INTERVAL_MS);
    expect(await readCounters(env.DB)).toEqual([{ name: "auth_throttled_total", labels: {}, value: 3 }]);
  });
});
