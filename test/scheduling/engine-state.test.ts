/** The job object's stored state is versioned: one reader upgrades old versions and resets unknown ones. */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { JobEngine } from "../../src/scheduling/engine";
import { ENGINE_STATE_VERSION, readEngineState } from "../../src/scheduling/engine-state";
import { T0, insertJob, runs, schedulerTestLifecycle, stub } from "./support";

const clk = schedulerTestLifecycle();

describe("readEngineState", () => {
  it("version 0 (no v: written before versioning) keeps its fields and becomes version 1", () => {
    const v0 = {
      uid: "aJob0000001",
      enabled: true,
      anchor: T0,
      lastScheduled: T0 + 60_000,
      mark: { version: 3, lastUpdated: T0, alarmAt: null },
    };
    expect(ENGINE_STATE_VERSION).toBe(1);
    expect(readEngineState(JSON.stringify(v0))).toEqual({ ...v0, v: 1 });
  });

  it("version 1 is read as stored, including a run marker with a QUEUE trigger", () => {
    const v1 = {
      v: 1,
      uid: "aJob0000001",
      running: { runId: "aJob0000001-5", runRowId: 7, scheduledAt: 5, trigger: "QUEUE", queue: "q", startedAt: 6, executedBy: null },
    };
    expect(readEngineState(JSON.stringify(v1))).toEqual(v1);
  });

  it("nothing stored, unreadable JSON or anything but an object: a fresh state", () => {
    for (const raw of [undefined, null, "{not json", "[]", "42", "null", '"text"']) expect(readEngineState(raw)).toEqual({ v: 1 });
  });

  it("a version this code does not know (newer code, then a rollback) is reset, keeping only the job's UID", () => {
    const v9 = { v: 9, uid: "aJob0000001", lastScheduled: T0, running: { renamed: true } };
    expect(readEngineState(JSON.stringify(v9))).toEqual({ v: 1, uid: "aJob0000001" });
    expect(readEngineState(JSON.stringify({ v: "1", uid: 5 }))).toEqual({ v: 1 });
  });
});

describe("a job object over stored state", () => {
  it("an object written before versioning goes on from its state: the consumed occurrence does not run again", async () => {
    const uid = await insertJob({ cron: "0 * * * * *", created: T0 - 120_000 });
    // The state an older engine left: the 00:00 occurrence already ran, no `v`.
    const v0 = { uid, enabled: true, anchor: T0 - 120_000, lastScheduled: T0 };
    await runInDurableObject(stub(uid), async (_i, state) => {
      state.storage.sql.exec(`INSERT OR REPLACE INTO sched_state (k, v) VALUES ('state', ?)`, JSON.stringify(v0));
      // A new instance of the engine over that storage (as after an eviction and a deployment).
      const engine = new JobEngine(state, env, { runStarted() {}, notify() {}, runFinished() {} });
      expect(engine.snapshot()).toMatchObject({ ...v0, v: 1 });
      await engine.sync(uid);
      expect(await state.storage.getAlarm()).toBe(T0 + 60_000);
      clk.set(T0 + 60_000);
      await engine.alarm();
      expect(await state.storage.getAlarm()).toBe(T0 + 120_000);
    });
    expect((await runs(uid)).map((r) => [r.scheduled_at, r.status])).toEqual([[T0 + 60_000, "COMPLETED"]]);
  });
});
