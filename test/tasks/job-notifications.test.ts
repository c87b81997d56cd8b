/**
 * JobNotifications inside the real job Durable Object: DHIS2 2.42 notifier semantics, the message cap,
 * and the KV write-through (bounded, paced writes with retention expiry).
 */
import { env, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { generateUid, isValidUid } from "../../src/http/uid";
import { JobNotifications, KV_PROGRESS_INTERVAL_MS } from "../../src/tasks/job-notifications";
import { notificationUid } from "../../src/tasks/notification-rows";
import { summaryKey, taskKey, type TaskKeyMetadata } from "../../src/tasks/kv";

const T0 = Date.UTC(2026, 10, 29, 8, 0, 0, 0);
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}$/;

/** A pacing clock that jumps a progress interval per reading: every KV write is allowed at once. */
let fastT = 1_000_000;
const fastPacing = () => ({ now: () => (fastT += KV_PROGRESS_INTERVAL_MS) });

/** Runs `fn` inside the job's object with one JobNotifications instance, waiting for its KV writes. */
async function inJob<T>(
  jobId: string,
  fn: (n: JobNotifications) => T | Promise<T>,
  opts: { env?: Env; pacing?: { now(): number } } = {},
): Promise<T> {
  const stub = env.JOBS.get(env.JOBS.idFromName(jobId));
  return runInDurableObject(stub, async (_instance, state) => {
    const n = new JobNotifications(state, opts.env ?? env, { pacing: opts.pacing ?? fastPacing() });
    const out = await fn(n);
    await n.idle();
    return out;
  });
}

function start(n: JobNotifications, jobId: string, now = T0, extra: Partial<Parameters<JobNotifications["runStarted"]>[0]> = {}) {
  n.runStarted({ jobId, jobType: "TEST", parameters: { items: 3 }, userUid: "M5zQapPyTZI", now, ...extra });
}

afterEach(async () => {
  await env.DB.prepare(`DELETE FROM system_settings`).run();
});

describe("notification shape and order", () => {
  it("starts a run with an INFO PARAMETERS message carrying the parameters", async () => {
    const jobId = generateUid();
    const snap = await inJob(jobId, (n) => {
      start(n, jobId, T0, { message: "Test job started" });
      return n.snapshot();
    });
    expect(snap).not.toBeNull();
    expect(snap!.notifications).toHaveLength(1);
    const [first] = snap!.notifications;
    expect(first).toEqual({
      uid: first.uid,
      id: first.uid,
      level: "INFO",
      category: "TEST",
      time: "2026-11-29T08:00:00.000",
      message: "Test job started",
      completed: false,
      dataType: "PARAMETERS",
      data: { items: 3 },
    });
    expect(isValidUid(first.uid)).toBe(true);
    expect(snap).toMatchObject({ jobId, jobType: "TEST", userUid: "M5zQapPyTZI", running: true, started: T0, lastActivity: T0 });
    expect(snap!.summary).toBeUndefined();
  });

  it("omits data (not dataType) when the job has no parameters, and message defaults to empty", async () => {
    const jobId = generateUid();
    const snap = await inJob(jobId, (n) => {
      n.runStarted({ jobId, jobType: "TEST", parameters: null, now: T0 });
      return n.snapshot();
    });
    const first = snap!.notifications[0];
    expect(first.dataType).toBe("PARAMETERS");
    expect("data" in first).toBe(false);
    expect(first.message).toBe("");
    expect(snap!.userUid).toBeUndefined();
  });

  it("keeps times strictly increasing (>= 1 ms apart) with unique valid UIDs, newest first", async () => {
    const jobId = generateUid();
    const snap = await inJob(jobId, (n) => {
      start(n, jobId);
      for (let i = 0; i < 5; i++) n.notify("INFO", `stage ${i}`, T0); // same instant every time
      n.notify("WARN", "earlier clock", T0 - 5000); // a clock going backwards does not reorder
      return n.snapshot()!;
    });
    const list = snap.notifications;
    expect(list.map((m) => m.message)).toEqual(["earlier clock", "stage 4", "stage 3", "stage 2", "stage 1", "stage 0", ""]);
    expect(list.map((m) => m.time)).toEqual([
      "2026-11-29T08:00:00.006",
      "2026-11-29T08:00:00.005",
      "2026-11-29T08:00:00.004",
      "2026-11-29T08:00:00.003",
      "2026-11-29T08:00:00.002",
      "2026-11-29T08:00:00.001",
      "2026-11-29T08:00:00.000",
    ]);
    for (const m of list) {
      expect(m.time).toMatch(TIME);
      expect(isValidUid(m.uid)).toBe(true);
      expect(m.id).toBe(m.uid);
    }
    expect(new Set(list.map((m) => m.uid)).size).toBe(list.length);
    expect(list[0].level).toBe("WARN");
  });

  it("formats times in the server time zone", async () => {
    const jobId = generateUid();
    const snap = await inJob(
      jobId,
      (n) => {
        start(n, jobId);
        return n.snapshot()!;
      },
      { env: { ...env, SERVER_TIMEZONE: "Africa/Nairobi" } },
    );
    expect(snap.notifications[0].time).toBe("2026-11-29T11:00:00.000");
  });

  it("derives UIDs from the job and the timestamp", () => {
    const a = notificationUid("KBcP6Qw37gT", T0);
    expect(isValidUid(a)).toBe(true);
    expect(notificationUid("KBcP6Qw37gT", T0)).toBe(a);
    expect(notificationUid("KBcP6Qw37gT", T0 + 1)).not.toBe(a);
    expect(isValidUid(notificationUid("a1234567890", 0))).toBe(true);
  });
});

describe("LOOP replacement", () => {
  it("a LOOP message replaces a newest LOOP message instead of growing the list", async () => {
    const jobId = generateUid();
    const snap = await inJob(jobId, (n) => {
      start(n, jobId);
      n.notify("INFO", "Stage 1 started", T0 + 1);
      for (let i = 1; i <= 100; i++) n.notify("LOOP", `[${i}/100] item`, T0 + 1 + i);
      return n.snapshot()!;
    });
    expect(snap.notifications.map((m) => [m.level, m.message])).toEqual([
      ["LOOP", "[100/100] item"],
      ["INFO", "Stage 1 started"],
      ["INFO", ""],
    ]);
  });

  it("any next message replaces a newest LOOP message (DHIS2 2.42), including the final one", async () => {
    const jobId = generateUid();
    const snap = await inJob(jobId, (n) => {
      start(n, jobId);
      n.notify("LOOP", "[1/2] item", T0 + 1);
      n.notify("INFO", "Stage 1 done", T0 + 2);
      n.notify("LOOP", "[1/2] item", T0 + 3);
      n.notify("LOOP", "[2/2] item", T0 + 4);
      n.runFinished({ outcome: "COMPLETED", message: "Job done", now: T0 + 5 });
      return n.snapshot()!;
    });
    expect(snap.notifications.map((m) => [m.level, m.message, m.completed])).toEqual([
      ["INFO", "Job done", true],
      ["INFO", "Stage 1 done", false],
      ["INFO", "", false],
    ]);
    expect(snap.running).toBe(false);
  });

  it("a LOOP message after a non-LOOP one is appended", async () => {
    const jobId = generateUid();
    const snap = await inJob(jobId, (n) => {
      start(n, jobId);
      n.notify("LOOP", "[1/3] item", T0 + 1);
      return n.snapshot()!;
    });
    expect(snap.notifications.map((m) => m.level)).toEqual(["LOOP", "INFO"]);
  });
});

describe("end of run and summary", () => {
  it("a completed run ends with completed:true INFO and stores the summary", async () => {
    const jobId = generateUid();
    const summary = {
      responseType: "ImportSummary",
      status: "SUCCESS",
      description: "done",
      importCount: { imported: 3, updated: 0, ignored: 0, deleted: 0 },
    };
    const snap = await inJob(jobId, (n) => {
      start(n, jobId);
      n.runFinished({ outcome: "COMPLETED", message: "Test job completed", summary, now: T0 + 2500 });
      return n.snapshot()!;
    });
    expect(snap.notifications[0]).toMatchObject({
      level: "INFO",
      message: "Test job completed",
      completed: true,
      time: "2026-11-29T08:00:02.500",
    });
    expect(snap.notifications[0].dataType).toBeUndefined();
    expect(snap.summary).toEqual(summary);
    expect(snap.running).toBe(false);
    expect(snap.lastActivity).toBe(T0 + 2500);
  });

  it.each(["FAILED", "STOPPED"] as const)("a %s run ends with an ERROR completed:true message", async (outcome) => {
    const jobId = generateUid();
    const snap = await inJob(jobId, (n) => {
      start(n, jobId);
      n.runFinished({ outcome, message: "It broke", now: T0 + 10 });
      return n.snapshot()!;
    });
    expect(snap.notifications[0]).toMatchObject({ level: "ERROR", message: "It broke", completed: true });
    expect(snap.summary).toBeUndefined();
  });

  it("a new run clears the earlier run's notifications and summary", async () => {
    const jobId = generateUid();
    const snap = await inJob(jobId, (n) => {
      start(n, jobId);
      n.notify("INFO", "old", T0 + 1);
      n.runFinished({ outcome: "COMPLETED", message: "old done", summary: { status: "OK" }, now: T0 + 2 });
      start(n, jobId, T0 + 60_000, { parameters: { items: 9 }, userUid: "xE7jOejl9FI" });
      return n.snapshot()!;
    });
    expect(snap.notifications).toHaveLength(1);
    expect(snap.notifications[0]).toMatchObject({ dataType: "PARAMETERS", data: { items: 9 }, completed: false });
    expect(snap.summary).toBeUndefined();
    expect(snap.userUid).toBe("xE7jOejl9FI");
    expect(snap.running).toBe(true);
  });

  it("has no snapshot for a job that never reported, and clear() forgets the run", async () => {
    const jobId = generateUid();
    const [before, after] = await inJob(jobId, async (n) => {
      const b = n.snapshot();
      start(n, jobId);
      n.runFinished({ outcome: "COMPLETED", message: "done", summary: { a: 1 }, now: T0 + 1 });
      await n.clear();
      return [b, n.snapshot()];
    });
    expect(before).toBeNull();
    expect(after).toBeNull();
  });

  it("notify() before any run is ignored", async () => {
    const jobId = generateUid();
    const snap = await inJob(jobId, (n) => {
      n.notify("INFO", "orphan", T0);
      n.runFinished({ outcome: "COMPLETED", message: "orphan", now: T0 });
      return n.snapshot();
    });
    expect(snap).toBeNull();
  });
});

describe("message cap (notifierMaxMessagesPerJob)", () => {
  it("keeps the newest messages up to the cap, and always the run's first", async () => {
    await env.DB.prepare(`INSERT INTO system_settings (key, value) VALUES ('notifierMaxMessagesPerJob', '5')`).run();
    const jobId = generateUid();
    const snap = await inJob(jobId, async (n) => {
      start(n, jobId);
      await n.refreshSettings();
      for (let i = 1; i <= 10; i++) n.notify("INFO", `m${i}`, T0 + i);
      return n.snapshot()!;
    });
    expect(snap.notifications.map((m) => m.message)).toEqual(["m10", "m9", "m8", "m7", ""]);
    expect(snap.notifications[4].dataType).toBe("PARAMETERS");
  });

  it("applies a lowered cap to a run in progress when the settings are read", async () => {
    const jobId = generateUid();
    const snap = await inJob(jobId, async (n) => {
      start(n, jobId);
      await n.refreshSettings();
      for (let i = 1; i <= 8; i++) n.notify("DEBUG", `m${i}`, T0 + i);
      await env.DB.prepare(`INSERT INTO system_settings (key, value) VALUES ('notifierMaxMessagesPerJob', '3')`).run();
      await n.refreshSettings();
      return n.snapshot()!;
    });
    expect(snap.notifications.map((m) => m.message)).toEqual(["m8", "m7", ""]);
  });

  it("the default cap is 500", async () => {
    const jobId = generateUid();
    const snap = await inJob(jobId, async (n) => {
      start(n, jobId);
      await n.refreshSettings();
      for (let i = 1; i <= 520; i++) n.notify("INFO", `m${i}`, T0 + i);
      return n.snapshot()!;
    });
    expect(snap.notifications).toHaveLength(500);
    expect(snap.notifications[0].message).toBe("m520");
    expect(snap.notifications[498].message).toBe("m22");
    expect(snap.notifications[499].dataType).toBe("PARAMETERS");
  });
});

/** A KV binding that records every write (and its wall time) before passing it on. */
function recordingKv(kv: KVNamespace) {
  const writes: Array<{ op: "put" | "delete"; key: string; at: number; ttl?: number }> = [];
  const wrapped = {
    get: kv.get.bind(kv),
    getWithMetadata: kv.getWithMetadata.bind(kv),
    list: kv.list.bind(kv),
    put: (key: string, value: string, opts?: KVNamespacePutOptions) => {
      writes.push({ op: "put", key, at: Date.now(), ttl: opts?.expirationTtl });
      return kv.put(key, value, opts);
    },
    delete: (key: string) => {
      writes.push({ op: "delete", key, at: Date.now() });
      return kv.delete(key);
    },
  } as unknown as KVNamespace;
  return { kv: wrapped, writes };
}

describe("KV write-through", () => {
  it("writes the list and a small metadata record under task:<TYPE>:<jobId>, the summary under summary:", async () => {
    const jobId = generateUid();
    const snap = await inJob(jobId, (n) => {
      start(n, jobId);
      n.notify("INFO", "working", T0 + 1);
      n.runFinished({ outcome: "COMPLETED", message: "done", summary: { status: "SUCCESS" }, now: T0 + 2 });
      return n.snapshot()!;
    });
    const task = await env.TASKS.getWithMetadata<unknown, TaskKeyMetadata>(taskKey("TEST", jobId), "json");
    expect(task.value).toEqual(snap.notifications);
    expect(task.metadata).toEqual({
      t: T0 + 2,
      c: 1,
      u: "M5zQapPyTZI",
      w: expect.any(Number),
      g: [snap.notifications[0], snap.notifications[2]],
    });
    const summary = await env.TASKS.getWithMetadata(summaryKey("TEST", jobId), "json");
    expect(summary.value).toEqual({ status: "SUCCESS" });
    expect(summary.metadata).toMatchObject({ t: T0 + 2, u: "M5zQapPyTZI" });
    // Both keys expire after the retention period (7 days by default).
    const listed = await env.TASKS.list({ prefix: `task:TEST:${jobId}` });
    expect(listed.keys[0].expiration).toBeGreaterThan(Date.now() / 1000 + 7 * 86400 - 120);
    expect(listed.keys[0].expiration).toBeLessThan(Date.now() / 1000 + 7 * 86400 + 120);
  });

  it("drops the gist from the metadata when it would not fit KV's 1 KiB metadata", async () => {
    const jobId = generateUid();
    await inJob(jobId, (n) => {
      start(n, jobId, T0, { parameters: { blob: "x".repeat(2000) } });
    });
    const task = await env.TASKS.getWithMetadata<unknown, TaskKeyMetadata>(taskKey("TEST", jobId), "json");
    expect(task.metadata).toEqual({ t: T0, c: 0, u: "M5zQapPyTZI", w: 1 });
    expect((task.value as unknown[]).length).toBe(1);
  });

  it("paces writes: at most one KV write per job per second however many messages a run reports", async () => {
    const jobId = generateUid();
    const rec = recordingKv(env.TASKS);
    const snap = await inJob(
      jobId,
      async (n) => {
        start(n, jobId);
        for (let i = 1; i <= 300; i++) n.notify("LOOP", `[${i}/300]`, T0 + i);
        await new Promise((r) => setTimeout(r, 1100));
        for (let i = 1; i <= 300; i++) n.notify("LOOP", `[${i}/300] again`, T0 + 400 + i);
        n.runFinished({ outcome: "COMPLETED", message: "done", summary: { ok: true }, now: T0 + 1000 });
        await n.idle();
        return n.snapshot()!;
      },
      { env: { ...env, TASKS: rec.kv }, pacing: { now: () => Date.now() } },
    );
    // The start, the final list, the summary (progress is written every 5 s): 600 messages, 3 writes.
    expect(rec.writes.length).toBe(3);
    for (let i = 1; i < rec.writes.length; i++) expect(rec.writes[i].at - rec.writes[i - 1].at).toBeGreaterThanOrEqual(1000);
    expect(snap.kvWrites.run).toBe(rec.writes.length);
    expect(snap.kvWrites.runSpanMs).toBeGreaterThanOrEqual((rec.writes.length - 1) * 1000);
    expect(rec.writes.every((w) => w.op === "put" && w.ttl === 7 * 86400)).toBe(true);
    // KV ends up with exactly the object's state.
    expect(await env.TASKS.get(taskKey("TEST", jobId), "json")).toEqual(snap.notifications);
    expect(await env.TASKS.get(summaryKey("TEST", jobId), "json")).toEqual({ ok: true });
  });

  it("writes progress at the progress interval while a run reports, start and end at the minimum spacing", async () => {
    const jobId = generateUid();
    const rec = recordingKv(env.TASKS);
    const stub = env.JOBS.get(env.JOBS.idFromName(jobId));
    const snap = await runInDurableObject(stub, async (_i, state) => {
      const n = new JobNotifications(
        state,
        { ...env, TASKS: rec.kv },
        { pacing: { now: () => Date.now() }, minIntervalMs: 100, progressIntervalMs: 400 },
      );
      start(n, jobId);
      for (let i = 1; i <= 120; i++) {
        n.notify("LOOP", `[${i}/120]`, T0 + i);
        await new Promise((r) => setTimeout(r, 10));
      }
      n.runFinished({ outcome: "COMPLETED", message: "done", summary: { ok: true }, now: T0 + 2000 });
      await n.idle();
      return n.snapshot()!;
    });
    const gapsOf = (writes: typeof rec.writes) => writes.slice(1).map((w, i) => w.at - writes[i].at);
    // The pacing reads its clock a moment before the write is issued (and recorded here), so one
    // write's record may lag its pacing instant by a millisecond or two: SLACK allows for that.
    const SLACK = 5;
    // The task key's writes: the start, progress writes, then the end. Until the end they are at least
    // the progress interval apart; every write (the end, the summary too) at least the minimum spacing.
    const taskWrites = rec.writes.filter((w) => w.key === taskKey("TEST", jobId));
    expect(taskWrites.length).toBeGreaterThanOrEqual(3);
    for (const g of gapsOf(taskWrites).slice(0, -1)) expect(g).toBeGreaterThanOrEqual(400 - SLACK);
    for (const g of gapsOf(rec.writes)) expect(g).toBeGreaterThanOrEqual(100 - SLACK);
    expect(rec.writes.at(-1)).toMatchObject({ op: "put", key: summaryKey("TEST", jobId) });
    // ~1.2 s of reporting: the start, 2-3 progress writes, the end, the summary.
    expect(rec.writes.length).toBeGreaterThanOrEqual(4);
    expect(rec.writes.length).toBeLessThanOrEqual(7);
    expect(snap.kvWrites.run).toBe(rec.writes.length);
    expect(await env.TASKS.get(taskKey("TEST", jobId), "json")).toEqual(snap.notifications);
  });

  it("clear() deletes the job's KV keys; a new run deletes the previous summary key", async () => {
    const jobId = generateUid();
    await inJob(jobId, (n) => {
      start(n, jobId);
      n.runFinished({ outcome: "COMPLETED", message: "done", summary: { ok: 1 }, now: T0 + 1 });
    });
    expect(await env.TASKS.get(summaryKey("TEST", jobId))).not.toBeNull();
    await inJob(jobId, (n) => start(n, jobId, T0 + 10_000));
    expect(await env.TASKS.get(summaryKey("TEST", jobId))).toBeNull();
    expect(await env.TASKS.get(taskKey("TEST", jobId), "json")).toHaveLength(1);
    await inJob(jobId, (n) => n.clear());
    expect(await env.TASKS.get(taskKey("TEST", jobId))).toBeNull();
  });

  it("moves the keys when a job's type changes between runs", async () => {
    const jobId = generateUid();
    await inJob(jobId, (n) => {
      start(n, jobId);
      n.runFinished({ outcome: "COMPLETED", message: "done", summary: { ok: 1 }, now: T0 + 1 });
    });
    await inJob(jobId, (n) => n.runStarted({ jobId, jobType: "DATA_INTEGRITY", parameters: null, now: T0 + 5000 }));
    expect(await env.TASKS.get(taskKey("TEST", jobId))).toBeNull();
    expect(await env.TASKS.get(summaryKey("TEST", jobId))).toBeNull();
    expect(await env.TASKS.get(taskKey("DATA_INTEGRITY", jobId), "json")).toHaveLength(1);
  });

  it("uses notifierMaxAgeDays for the expiration", async () => {
    await env.DB.prepare(`INSERT INTO system_settings (key, value) VALUES ('notifierMaxAgeDays', '2')`).run();
    const jobId = generateUid();
    const rec = recordingKv(env.TASKS);
    await inJob(
      jobId,
      async (n) => {
        start(n, jobId);
        await n.refreshSettings();
        n.notify("INFO", "later", T0 + 1);
      },
      { env: { ...env, TASKS: rec.kv } },
    );
    expect(rec.writes.at(-1)).toMatchObject({ op: "put", ttl: 2 * 86400 });
  });
});

describe("schema", () => {
  it("creates its tables idempotently and adds columns missing from an older tasks_run", async () => {
    const jobId = generateUid();
    const stub = env.JOBS.get(env.JOBS.idFromName(jobId));
    const columns = await runInDurableObject(stub, async (_i, state) => {
      state.storage.sql.exec(`DROP TABLE IF EXISTS tasks_run`);
      state.storage.sql.exec(
        `CREATE TABLE tasks_run (id INTEGER PRIMARY KEY CHECK (id = 1), job_id TEXT NOT NULL, job_type TEXT NOT NULL, user_uid TEXT,
          started INTEGER NOT NULL, last_time INTEGER NOT NULL, running INTEGER NOT NULL DEFAULT 0, summary TEXT, summary_time INTEGER,
          max_messages INTEGER NOT NULL, max_age_days INTEGER NOT NULL, kv_type TEXT, kv_task_dirty INTEGER NOT NULL DEFAULT 0,
          kv_summary_dirty INTEGER NOT NULL DEFAULT 0, kv_task_written INTEGER NOT NULL DEFAULT 0, kv_summary_written INTEGER NOT NULL DEFAULT 0,
          kv_last_write INTEGER NOT NULL DEFAULT 0, run_kv_writes INTEGER NOT NULL DEFAULT 0, total_kv_writes INTEGER NOT NULL DEFAULT 0)`,
      );
      const a = new JobNotifications(state, env, { pacing: fastPacing() });
      const b = new JobNotifications(state, env, { pacing: fastPacing() });
      b.runStarted({ jobId, jobType: "TEST", parameters: null, now: T0 });
      await b.idle();
      await a.idle();
      return state.storage.sql.exec(`SELECT * FROM tasks_run LIMIT 0`).columnNames;
    });
    expect(columns).toContain("kv_run_first_write");
  });
});

describe("storage wiped under a live instance", () => {
  it("recreates its tables after deleteAll() (the job was deleted) instead of failing", async () => {
    const jobId = generateUid();
    const stub = env.JOBS.get(env.JOBS.idFromName(jobId));
    const [after, restarted] = await runInDurableObject(stub, async (_i, state) => {
      const n = new JobNotifications(state, env, { pacing: fastPacing() });
      start(n, jobId);
      await n.idle();
      await state.storage.deleteAll();
      const snap = n.snapshot();
      n.notify("INFO", "ignored: no run any more", T0 + 1);
      start(n, jobId, T0 + 10);
      await n.idle();
      return [snap, n.snapshot()];
    });
    expect(after).toBeNull();
    expect(restarted!.notifications).toHaveLength(1);
  });
});
