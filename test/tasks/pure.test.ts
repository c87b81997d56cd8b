/** Pure helpers of the tasks module: KV keys and metadata, gist, stale rule, prune selection. */
import { describe, expect, it } from "vitest";
import { gistOf, kvTtlSeconds, parseKey, summaryKey, taskKey, taskMetadata } from "../../src/tasks/kv";
import { STALE_GRACE_MS, isStale, mayRead, runOwner, selectForPrune } from "../../src/tasks/service";
import type { Notification } from "../../src/tasks/types";
import type { AuthUser } from "../../src/users/store";

const n = (message: string, completed = false, extra: Partial<Notification> = {}): Notification => ({
  uid: "a1234567890",
  id: "a1234567890",
  level: "INFO",
  category: "TEST",
  time: "2026-11-29T08:00:00.000",
  message,
  completed,
  ...extra,
});
const user = (uid: string, authorities: string[] = []): AuthUser => ({
  uid,
  username: uid,
  firstName: "",
  surname: "",
  authorities,
  roles: [],
  isSuper: authorities.includes("ALL"),
});
const DAY = 86_400_000;

describe("KV keys and metadata", () => {
  it("builds and parses keys", () => {
    expect(taskKey("TEST", "a1234567890")).toBe("task:TEST:a1234567890");
    expect(summaryKey("DATA_INTEGRITY", "a1234567890")).toBe("summary:DATA_INTEGRITY:a1234567890");
    expect(parseKey("task:TEST:a1234567890")).toEqual({ kind: "task", jobType: "TEST", jobId: "a1234567890" });
    expect(parseKey("summary:DATA_INTEGRITY:a1234567890")).toEqual({ kind: "summary", jobType: "DATA_INTEGRITY", jobId: "a1234567890" });
    expect(parseKey("other:TEST:x")).toBeNull();
    expect(parseKey("task:TEST")).toBeNull();
  });

  it("expiration is the retention period, never below KV's 60 s minimum", () => {
    expect(kvTtlSeconds(7)).toBe(604_800);
    expect(kvTtlSeconds(0)).toBe(60);
  });

  it("gist keeps newest and oldest, one element when they are the same", () => {
    expect(gistOf([n("3"), n("2"), n("1")]).map((m) => m.message)).toEqual(["3", "1"]);
    expect(gistOf([n("2"), n("1")]).map((m) => m.message)).toEqual(["2", "1"]);
    expect(gistOf([n("1")]).map((m) => m.message)).toEqual(["1"]);
    expect(gistOf([])).toEqual([]);
  });

  it("metadata: activity, completion, starter, writes and a gist that fits in 1 KiB", () => {
    expect(taskMetadata([n("done", true), n("x"), n("")], 5, "u1", 3)).toEqual({ t: 5, c: 1, u: "u1", w: 3, g: [n("done", true), n("")] });
    const big = taskMetadata([n("y".repeat(1200))], 5, undefined, 1);
    expect(big).toEqual({ t: 5, c: 0, w: 1 });
  });
});

describe("stale rule", () => {
  it("flips only a not-completed newest message of a job that is not RUNNING", () => {
    expect(isStale(n("x"), false, false, 0, 1)).toBe(true);
    expect(isStale(n("x", true), false, false, 0, 1)).toBe(false);
    expect(isStale(n("x"), true, false, 0, 1)).toBe(false);
    expect(isStale(undefined, false, false, 0, 1)).toBe(false);
  });
  it("trusts a live run for the grace period only", () => {
    expect(isStale(n("x"), false, true, 1000, 1000 + STALE_GRACE_MS - 1)).toBe(false);
    expect(isStale(n("x"), false, true, 1000, 1000 + STALE_GRACE_MS)).toBe(true);
  });
});

describe("readers", () => {
  it("the starter, superusers, F_PERFORM_MAINTENANCE and F_JOB_LOG_READ", () => {
    expect(mayRead(user("u1"), "u1")).toBe(true);
    expect(mayRead(user("u2"), "u1")).toBe(false);
    expect(mayRead(user("u2"), undefined)).toBe(false);
    expect(mayRead(user("u2", ["ALL"]), "u1")).toBe(true);
    expect(mayRead(user("u2", ["F_PERFORM_MAINTENANCE"]), undefined)).toBe(true);
    expect(mayRead(user("u2", ["F_JOB_LOG_READ"]), "u1")).toBe(true);
    expect(mayRead(user("u2", ["F_SCHEDULING_ADMIN"]), "u1")).toBe(false);
  });
  it("owner: recorded starter, else executedBy, else creator", () => {
    expect(runOwner("s", { job_status: "RUNNING", executed_by: "e", created_by: "c" })).toBe("s");
    expect(runOwner(undefined, { job_status: "RUNNING", executed_by: "e", created_by: "c" })).toBe("e");
    expect(runOwner(undefined, { job_status: "RUNNING", executed_by: null, created_by: "c" })).toBe("c");
    expect(runOwner(undefined, null)).toBeUndefined();
  });
});

describe("prune selection (DELETE maxAge / maxCount, retention)", () => {
  const now = 100 * DAY;
  const jobs = [
    { jobType: "TEST", jobId: "a", t: now - 1000 },
    { jobType: "TEST", jobId: "b", t: now - 2 * DAY },
    { jobType: "TEST", jobId: "c", t: now - 9 * DAY },
    { jobType: "MOCK", jobId: "d", t: now - 3 * DAY },
  ];
  const ids = (l: Array<{ jobId: string }>) => l.map((j) => j.jobId).sort();

  it("no limits: everything", () => expect(ids(selectForPrune(jobs, { now }))).toEqual(["a", "b", "c", "d"]));
  it("maxAge drops jobs idle for longer", () => expect(ids(selectForPrune(jobs, { now, maxAgeDays: 2 }))).toEqual(["c", "d"]));
  it("maxAge 0 drops everything older than now", () =>
    expect(ids(selectForPrune(jobs, { now, maxAgeDays: 0 }))).toEqual(["a", "b", "c", "d"]));
  it("maxCount keeps the most recent per type", () => expect(ids(selectForPrune(jobs, { now, maxCount: 1 }))).toEqual(["b", "c"]));
  it("maxCount <= 0 clears", () => expect(ids(selectForPrune(jobs, { now, maxCount: 0 }))).toEqual(["a", "b", "c", "d"]));
  it("both limits combine", () => expect(ids(selectForPrune(jobs, { now, maxCount: 2, maxAgeDays: 7 }))).toEqual(["c"]));
});
