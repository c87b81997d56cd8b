/** The run-event outbox on its own, over a job object's SQLite: storage, order, backoff, give-up. */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { generateUid } from "../../src/http/uid";
import type { RunEvent, RunListener } from "../../src/scheduling/run-events";
import { DROP_AFTER_MS, RETRY_MAX_MS, RunEventOutbox, retryDelay } from "../../src/scheduling/run-outbox";
import { T0, stub, track } from "./support";

function event(n: number): RunEvent {
  return {
    kind: "OCCURRENCE_SKIPPED",
    id: `e${n}`,
    at: T0 + n,
    jobId: "aJob0000001",
    jobType: "TEST",
    jobName: "j",
    scheduledAt: T0 + n,
    executedBy: null,
    trigger: "CRON",
    skipped: { count: 1, first: T0 + n, last: T0 + n },
    message: "m",
  };
}

/** A listener that records what it got and fails while `failures` > 0 (or forever with Infinity). */
function listener(name: string, failures = 0): RunListener & { got: string[]; failures: number } {
  return {
    name,
    got: [],
    failures,
    handle(e) {
      if (this.failures > 0) {
        this.failures--;
        throw new Error(`${name} down`);
      }
      this.got.push(e.id);
    },
  };
}

/** Runs `fn` with an outbox over a fresh object's storage, a settable clock and a listener list. */
async function withOutbox(
  listeners: RunListener[],
  fn: (o: RunEventOutbox, clock: { t: number }, list: RunListener[]) => Promise<void>,
  deliveryTimeoutMs?: number,
): Promise<void> {
  const uid = generateUid();
  track(uid);
  await runInDurableObject(stub(uid), async (_i, state) => {
    const clock = { t: T0 };
    const outbox = new RunEventOutbox({ sql: state.storage.sql, env, now: () => clock.t, listeners: () => listeners, deliveryTimeoutMs });
    await fn(outbox, clock, listeners);
  });
}

describe("RunEventOutbox", () => {
  it("stores an event only for the listeners that accept it, and removes it once they have it", async () => {
    const a = listener("a");
    const picky: RunListener = { name: "picky", accepts: (e) => e.id === "e2", handle() {} };
    await withOutbox([a], async (o) => {
      await o.emit(event(1));
      expect(a.got).toEqual(["e1"]);
      expect(o.size()).toBe(0);
    });
    await withOutbox([picky], async (o) => {
      await o.emit(event(1)); // nobody wants it: nothing stored, nothing delivered
      expect(o.size()).toBe(0);
      expect(o.nextRetryAt()).toBeNull();
    });
  });

  it("backoff: 1 s, doubling, at most 10 min", () => {
    expect([1, 2, 3, 4].map(retryDelay)).toEqual([1000, 2000, 4000, 8000]);
    expect(retryDelay(30)).toBe(RETRY_MAX_MS);
  });

  it("a failing listener gets its events later, in order; the others are not held back", async () => {
    const slow = listener("slow", 1);
    const fine = listener("fine");
    await withOutbox([slow, fine], async (o, clock) => {
      await o.emit(event(1));
      clock.t += 10;
      await o.emit(event(2)); // e1 still waits for `slow`: e2 waits behind it, for `slow` only
      expect(fine.got).toEqual(["e1", "e2"]);
      expect(slow.got).toEqual([]);
      expect(o.size()).toBe(2);
      expect(o.nextRetryAt()).toBe(T0 + 1000);
      clock.t = T0 + 999;
      await o.retryDue();
      expect(slow.got).toEqual([]);
      clock.t = T0 + 1000;
      await o.retryDue();
      expect(slow.got).toEqual(["e1", "e2"]);
      expect(fine.got).toEqual(["e1", "e2"]);
      expect(o.size()).toBe(0);
    });
  });

  it("a listener that does not answer in time counts as failed, and is retried", async () => {
    let calls = 0;
    const hung: RunListener = {
      name: "hung",
      handle: () => {
        calls++;
        return calls === 1 ? new Promise<void>(() => {}) : undefined;
      },
    };
    await withOutbox(
      [hung],
      async (o, clock) => {
        await o.emit(event(1));
        expect(o.size()).toBe(1);
        clock.t += retryDelay(1);
        await o.retryDue();
        expect(calls).toBe(2);
        expect(o.size()).toBe(0);
      },
      20,
    );
  });

  it("gives an event up for a listener still refusing it a day later; drops listeners no longer registered", async () => {
    const dead = listener("dead", Number.POSITIVE_INFINITY);
    const gone = listener("gone", 1);
    await withOutbox([dead, gone], async (o, clock, list) => {
      await o.emit(event(1));
      expect(o.size()).toBe(1);
      list.splice(list.indexOf(gone), 1); // a deployment removed it
      clock.t = T0 + DROP_AFTER_MS - 1;
      await o.retryDue();
      expect(o.size()).toBe(1); // `gone` dropped, `dead` still tried
      clock.t = o.nextRetryAt()! + DROP_AFTER_MS;
      await o.retryDue();
      expect(o.size()).toBe(0);
      expect(gone.got).toEqual([]);
    });
  });

  it("survives a new instance: what was not delivered is still there and goes out", async () => {
    const uid = generateUid();
    track(uid);
    const later = listener("later", 1);
    await runInDurableObject(stub(uid), async (_i, state) => {
      const opts = { sql: state.storage.sql, env, now: () => T0, listeners: () => [later] };
      await new RunEventOutbox(opts).emit(event(1));
      const again = new RunEventOutbox({ ...opts, now: () => T0 + 1000 });
      expect(again.size()).toBe(1);
      await again.retryDue();
      expect(later.got).toEqual(["e1"]);
      expect(again.size()).toBe(0);
    });
  });
});
