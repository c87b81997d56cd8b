import { describe, expect, it } from "vitest";
import {
  apiScheduleTimes,
  apiScheduleTimesFromRow,
  deriveSchedulingType,
  hasUsableSchedule,
  isRunOnce,
  nextDue,
  type JobScheduleConfig,
} from "../../src/scheduling/schedule";

const H = 3600_000;
const at = (s: string) => Date.parse(s);
const UTC = "Etc/UTC";

function cron(expr: string, created: number, extra: Partial<JobScheduleConfig> = {}): JobScheduleConfig {
  return { cronExpression: expr, enabled: true, created, ...extra };
}

describe("deriveSchedulingType", () => {
  it("explicit, else cron → CRON, delay → FIXED_DELAY, else ONCE_ASAP", () => {
    expect(deriveSchedulingType({ schedulingType: "FIXED_DELAY", cronExpression: "0 0 * * * *" })).toBe("FIXED_DELAY");
    expect(deriveSchedulingType({ schedulingType: "once_asap" })).toBe("ONCE_ASAP");
    expect(deriveSchedulingType({ cronExpression: "0 0 * * * *", delay: 5 })).toBe("CRON");
    expect(deriveSchedulingType({ cronExpression: " ", delay: 5 })).toBe("FIXED_DELAY");
    expect(deriveSchedulingType({ delay: 20 })).toBe("FIXED_DELAY");
    expect(deriveSchedulingType({})).toBe("ONCE_ASAP");
    expect(deriveSchedulingType({ schedulingType: "BOGUS", delay: 1 })).toBe("FIXED_DELAY");
  });

  it("run-once and usable schedules", () => {
    expect(isRunOnce({})).toBe(true);
    expect(isRunOnce({ cronExpression: "* * * * * ?" })).toBe(true);
    expect(isRunOnce({ delay: 0 })).toBe(true);
    expect(isRunOnce({ delay: 1 })).toBe(false);
    expect(hasUsableSchedule({ cronExpression: "0 0 3 ? * *" })).toBe(true);
    expect(hasUsableSchedule({ cronExpression: "* * * * * ?" })).toBe(false);
    expect(hasUsableSchedule({ cronExpression: "0 0 0 31 2 *" })).toBe(false);
    expect(hasUsableSchedule({ delay: 0 })).toBe(false);
    expect(hasUsableSchedule({ delay: -5 })).toBe(false);
    expect(hasUsableSchedule({ delay: 20 })).toBe(true);
    expect(hasUsableSchedule({ schedulingType: "ONCE_ASAP" })).toBe(false);
    expect(hasUsableSchedule({ schedulingType: "ONCE_ASAP", delay: 60 })).toBe(true);
  });
});

describe("CRON next due", () => {
  const created = at("2026-05-01T10:00:00Z");

  it("a job created now never runs for an occurrence before its creation", () => {
    // Daily 09:00 job created at 10:00: DHIS2 would run it at once (inside its 4 h window); we wait.
    const due = nextDue(cron("0 0 9 * * *", created), { jobStatus: "SCHEDULED" }, created, UTC, 4)!;
    expect(new Date(due.scheduledAt).toISOString()).toBe("2026-05-02T09:00:00.000Z");
    expect(due.runAt).toBe(due.scheduledAt);
    expect(due.skipped).toBeUndefined();
    // An occurrence exactly at the creation instant counts.
    const d2 = nextDue(cron("0 0 10 * * *", created), { jobStatus: "SCHEDULED" }, created, UTC, 4)!;
    expect(d2.scheduledAt).toBe(created);
    // A job created half a second after the occurrence does not run it.
    const d3 = nextDue(cron("0 0 10 * * *", created + 500), { jobStatus: "SCHEDULED" }, created + 500, UTC, 4)!;
    expect(new Date(d3.scheduledAt).toISOString()).toBe("2026-05-02T10:00:00.000Z");
  });

  it("the next occurrence after the last run's start", () => {
    const state = { jobStatus: "SCHEDULED", lastExecuted: at("2026-05-02T09:00:00.120Z"), lastFinished: at("2026-05-02T09:00:03Z") };
    const due = nextDue(cron("0 0 9 * * *", created), state, at("2026-05-02T09:00:03Z"), UTC, 4)!;
    expect(new Date(due.scheduledAt).toISOString()).toBe("2026-05-03T09:00:00.000Z");
    expect(due.expiresAt).toBe(due.scheduledAt + 4 * H);
  });

  it("a missed occurrence inside the window runs once, now", () => {
    const state = { jobStatus: "SCHEDULED", lastExecuted: at("2026-05-02T09:00:00Z") };
    const now = at("2026-05-03T12:30:00Z"); // 3.5 h after the 09:00 occurrence
    const due = nextDue(cron("0 0 9 * * *", created), state, now, UTC, 4)!;
    expect(new Date(due.scheduledAt).toISOString()).toBe("2026-05-03T09:00:00.000Z");
    expect(due.runAt).toBe(now);
    expect(due.skipped).toBeUndefined();
  });

  it("occurrences older than the window are skipped and reported, never caught up", () => {
    const state = { jobStatus: "SCHEDULED", lastExecuted: at("2026-05-02T09:00:00Z") };
    const now = at("2026-05-03T13:00:01Z"); // 4 h 1 s after the 09:00 occurrence
    const due = nextDue(cron("0 0 9 * * *", created), state, now, UTC, 4)!;
    expect(new Date(due.scheduledAt).toISOString()).toBe("2026-05-04T09:00:00.000Z");
    expect(due.skipped).toEqual({ first: at("2026-05-03T09:00:00Z"), last: at("2026-05-03T09:00:00Z"), count: 1 });
    // Exactly at the window's end the occurrence still runs.
    const edge = nextDue(cron("0 0 9 * * *", created), state, at("2026-05-03T13:00:00Z"), UTC, 4)!;
    expect(new Date(edge.scheduledAt).toISOString()).toBe("2026-05-03T09:00:00.000Z");
  });

  it("after downtime a frequent job runs once for the oldest occurrence inside the window, not a burst", () => {
    const state = { jobStatus: "SCHEDULED", lastExecuted: at("2026-05-02T00:00:00Z") };
    const now = at("2026-05-02T06:00:30Z");
    const due = nextDue(cron("0 */10 * * * *", created), state, now, UTC, 1)!;
    expect(new Date(due.scheduledAt).toISOString()).toBe("2026-05-02T05:10:00.000Z");
    expect(due.runAt).toBe(now);
    expect(due.skipped!.count).toBe(30); // 00:10 … 05:00
    expect(new Date(due.skipped!.last).toISOString()).toBe("2026-05-02T05:00:00.000Z");
    // That run starts now; the next due is the first occurrence after its start.
    const after = nextDue(
      cron("0 */10 * * * *", created),
      { jobStatus: "SCHEDULED", lastExecuted: now, lastScheduled: due.scheduledAt },
      now + 1000,
      UTC,
      1,
    )!;
    expect(new Date(after.scheduledAt).toISOString()).toBe("2026-05-02T06:10:00.000Z");
  });

  it("the window setting is honoured", () => {
    const state = { jobStatus: "SCHEDULED", lastExecuted: at("2026-05-02T09:00:00Z") };
    const now = at("2026-05-03T11:00:00Z");
    expect(new Date(nextDue(cron("0 0 9 * * *", created), state, now, UTC, 4)!.scheduledAt).toISOString()).toBe("2026-05-03T09:00:00.000Z");
    expect(new Date(nextDue(cron("0 0 9 * * *", created), state, now, UTC, 1)!.scheduledAt).toISOString()).toBe("2026-05-04T09:00:00.000Z");
  });

  it("an occurrence already consumed (ran or skipped) is not due again", () => {
    const occ = at("2026-05-02T09:00:00Z");
    const due = nextDue(cron("0 0 9 * * *", created), { jobStatus: "SCHEDULED", lastScheduled: occ }, occ + 10, UTC, 4)!;
    expect(new Date(due.scheduledAt).toISOString()).toBe("2026-05-03T09:00:00.000Z");
  });

  it("re-enabling moves the anchor: occurrences while disabled do not run", () => {
    const state = { jobStatus: "SCHEDULED", lastExecuted: at("2026-05-02T09:00:00Z"), anchor: at("2026-05-03T10:00:00Z") };
    const due = nextDue(cron("0 0 9 * * *", created), state, at("2026-05-03T10:00:00Z"), UTC, 4)!;
    expect(new Date(due.scheduledAt).toISOString()).toBe("2026-05-04T09:00:00.000Z");
  });

  it("evaluated in the zone, across DST (Berlin and New York)", () => {
    const c = at("2026-03-28T12:00:00Z");
    const b = nextDue(cron("0 30 2 * * *", c), { jobStatus: "SCHEDULED" }, c, "Europe/Berlin", 4)!;
    expect(new Date(b.scheduledAt).toISOString()).toBe("2026-03-29T01:00:00.000Z");
    const n = nextDue(
      cron("0 30 1 * * *", at("2026-10-31T12:00:00Z")),
      { jobStatus: "SCHEDULED", lastExecuted: at("2026-11-01T05:30:00Z") },
      at("2026-11-01T05:30:05Z"),
      "America/New_York",
      4,
    )!;
    // The repeated 01:30 (06:30Z, EST) does not run a second time.
    expect(new Date(n.scheduledAt).toISOString()).toBe("2026-11-02T06:30:00.000Z");
  });

  it("nothing is due when disabled, running, disabled status, without schedule, or behind a queue head", () => {
    const now = created;
    expect(nextDue(cron("0 * * * * *", created, { enabled: false }), { jobStatus: "SCHEDULED" }, now, UTC, 4)).toBeNull();
    expect(nextDue(cron("0 * * * * *", created), { jobStatus: "RUNNING" }, now, UTC, 4)).toBeNull();
    expect(nextDue(cron("0 * * * * *", created), { jobStatus: "DISABLED" }, now, UTC, 4)).toBeNull();
    expect(nextDue(cron("* * * * * ?", created), { jobStatus: "SCHEDULED" }, now, UTC, 4)).toBeNull();
    expect(nextDue(cron("0 * * * * *", created, { queuePosition: 1 }), { jobStatus: "SCHEDULED" }, now, UTC, 4)).toBeNull();
    expect(nextDue(cron("0 0 0 31 2 *", created), { jobStatus: "SCHEDULED" }, now, UTC, 4)).toBeNull();
  });
});

describe("FIXED_DELAY next due", () => {
  const created = at("2026-05-01T10:00:00Z");
  const job = (delay: number | null): JobScheduleConfig => ({ schedulingType: "FIXED_DELAY", delay, enabled: true, created });

  it("first run delay seconds after creation", () => {
    const due = nextDue(job(30), { jobStatus: "SCHEDULED" }, created, UTC, 4)!;
    expect(due).toEqual({ trigger: "FIXED_DELAY", scheduledAt: created + 30_000, runAt: created + 30_000 });
  });

  it("next start = previous run end + delay", () => {
    const state = { jobStatus: "SCHEDULED", lastExecuted: created + 30_000, lastFinished: created + 95_000 };
    expect(nextDue(job(30), state, created + 95_000, UTC, 4)!.scheduledAt).toBe(created + 125_000);
  });

  it("after enabling: delay seconds after the enable", () => {
    const state = { jobStatus: "SCHEDULED", lastFinished: created + 10_000, anchor: created + 3 * H };
    expect(nextDue(job(60), state, created + 3 * H, UTC, 4)!.scheduledAt).toBe(created + 3 * H + 60_000);
  });

  it("overdue after downtime: runs now, once", () => {
    const state = { jobStatus: "SCHEDULED", lastFinished: created };
    const now = created + 10 * H;
    expect(nextDue(job(20), state, now, UTC, 4)).toEqual({ trigger: "FIXED_DELAY", scheduledAt: created + 20_000, runAt: now });
  });

  it("delay 0, negative or missing never becomes due", () => {
    expect(nextDue(job(0), { jobStatus: "SCHEDULED" }, created, UTC, 4)).toBeNull();
    expect(nextDue(job(-1), { jobStatus: "SCHEDULED" }, created, UTC, 4)).toBeNull();
    expect(nextDue(job(null), { jobStatus: "SCHEDULED" }, created, UTC, 4)).toBeNull();
  });
});

describe("ONCE_ASAP", () => {
  const created = at("2026-05-01T10:00:00Z");
  const job: JobScheduleConfig = { schedulingType: "ONCE_ASAP", enabled: true, created };
  it("due at once while SCHEDULED; a finished run-once job never again; NOT_STARTED waits for execute", () => {
    expect(nextDue(job, { jobStatus: "SCHEDULED" }, created + 5, UTC, 4)).toEqual({
      trigger: "ONCE_ASAP",
      scheduledAt: created,
      runAt: created + 5,
    });
    expect(nextDue(job, { jobStatus: "SCHEDULED", lastExecuted: created + 1 }, created + 5, UTC, 4)).toBeNull();
    expect(nextDue(job, { jobStatus: "DISABLED", lastExecuted: created + 1 }, created + 5, UTC, 4)).toBeNull();
    expect(nextDue(job, { jobStatus: "NOT_STARTED" }, created + 5, UTC, 4)).toBeNull();
  });
});

describe("API fields nextExecutionTime / maxDelayedExecutionTime", () => {
  const created = at("2026-05-01T10:00:00Z");
  it("CRON: next occurrence and next + 4 h, whatever the window setting", () => {
    const t = apiScheduleTimes(cron("0 0 12 ? * *", created), { jobStatus: "SCHEDULED" }, created, UTC, 4);
    expect(t).toEqual({ nextExecutionTime: at("2026-05-01T12:00:00Z"), maxDelayedExecutionTime: at("2026-05-01T16:00:00Z") });
    // While running: the occurrence after the run's start.
    const r = apiScheduleTimes(
      cron("0 0 12 ? * *", created),
      { jobStatus: "RUNNING", lastExecuted: at("2026-05-01T12:00:00Z") },
      at("2026-05-01T12:00:05Z"),
      UTC,
    );
    expect(r.nextExecutionTime).toBe(at("2026-05-02T12:00:00Z"));
  });
  it("FIXED_DELAY: next start, no max delayed time; disabled and no schedule: null", () => {
    const t = apiScheduleTimes(
      { delay: 20, enabled: true, created },
      { jobStatus: "SCHEDULED", lastFinished: created + 1000 },
      created + 1000,
      UTC,
    );
    expect(t).toEqual({ nextExecutionTime: created + 21_000, maxDelayedExecutionTime: null });
    expect(apiScheduleTimes({ delay: 20, enabled: false, created }, { jobStatus: "DISABLED" }, created, UTC)).toEqual({
      nextExecutionTime: null,
      maxDelayedExecutionTime: null,
    });
    expect(apiScheduleTimes(cron("* * * * * ?", created), { jobStatus: "SCHEDULED" }, created, UTC)).toEqual({
      nextExecutionTime: null,
      maxDelayedExecutionTime: null,
    });
  });
  it("from a D1 row", () => {
    const row = { cron_expression: "0 0 3 ? * *", enabled: 1, created, job_status: "SCHEDULED", last_executed: null, last_finished: null };
    expect(apiScheduleTimesFromRow(row, created, "Europe/Berlin")).toEqual({
      nextExecutionTime: at("2026-05-02T01:00:00Z"),
      maxDelayedExecutionTime: at("2026-05-02T05:00:00Z"),
    });
  });
});
