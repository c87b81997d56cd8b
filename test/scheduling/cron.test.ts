import { describe, expect, it } from "vitest";
import { isNoScheduleCron, nextCronOccurrence, nextCronOccurrences, validateCron } from "../../src/scheduling/cron";

const iso = (xs: number[]) => xs.map((x) => new Date(x).toISOString());
const T0 = Date.UTC(2026, 0, 1); // Thursday 2026-01-01T00:00Z
const next = (expr: string, from: number, tz = "Etc/UTC", n = 3) => iso(nextCronOccurrences(expr, from, tz, n));

describe("validateCron (Spring's CronExpression rules)", () => {
  it("accepts the DHIS2 presets and Spring extensions", () => {
    for (const e of [
      "0 0 3 ? * *",
      "0 0 12 ? * MON-FRI",
      "0 0 3 ? * MON",
      "0 * * ? * *",
      "*/5 * * * * *",
      "0/15 * * * * *",
      "0 0 12 L * ?",
      "0 0 12 L-3 * ?",
      "0 0 12 LW * ?",
      "0 0 12 15W * ?",
      "0 0 12 ? * 5L",
      "0 0 12 ? * FRIL",
      "0 0 12 ? * MON#2",
      "0 0 0 1 jan-mar sun",
      "0 0 0 * * 7",
      "0 0 0 * * SUN-MON",
      "@daily",
      "  @Hourly  ",
      "@yearly",
      "@annually",
      "@monthly",
      "@weekly",
      "@midnight",
      "0 0 0 31 2 *",
    ]) {
      expect(validateCron(e), e).toBeNull();
    }
  });

  it("rejects 5 and 7 fields with Spring's message", () => {
    expect(validateCron("0 1 ? * *")).toBe('Cron expression must consist of 6 fields (found 5 in "0 1 ? * *")');
    expect(validateCron("0 0 0 1 1 * 2026")).toBe('Cron expression must consist of 6 fields (found 7 in "0 0 0 1 1 * 2026")');
    expect(validateCron("  0  1 ? * *  ")).toBe('Cron expression must consist of 6 fields (found 5 in "0  1 ? * *")');
    expect(validateCron("@reboot")).toBe('Cron expression must consist of 6 fields (found 1 in "@reboot")');
  });

  it("rejects out-of-range values, bad ranges, bad steps and stray characters", () => {
    expect(validateCron("61 * * * * *")).toBe(
      `Invalid value for SecondOfMinute (valid values 0 - 59): 61 '61' in cron expression "61 * * * * *"`,
    );
    expect(validateCron("0 0 24 * * *")).toContain("HourOfDay");
    expect(validateCron("0 0 0 32 * *")).toContain("DayOfMonth");
    expect(validateCron("0 0 0 * 13 *")).toContain("MonthOfYear");
    expect(validateCron("0 0 0 * * 8")).toContain("DayOfWeek");
    expect(validateCron("0 0 0 * * FRI-MON")).toBe(
      `Minimum value must be less than maximum value 'FRI-MON' in cron expression "0 0 0 * * FRI-MON"`,
    );
    expect(validateCron("*/0 * * * * *")).toContain("Incrementer delta must be 1 or higher");
    expect(validateCron("? * * * * *")).toContain('For input string: "?"');
    expect(validateCron("0 0 0 * * MON#6")).toContain("must be 1-5");
    expect(validateCron("0 0 0 L-31 * *")).toContain("Offset from last day");
    expect(validateCron("0 0 0 * MON *")).not.toBeNull();
    expect(validateCron("")).toBe("Expression string must not be empty");
    expect(validateCron("0 0 0 1,,2 * *")).not.toBeNull();
  });

  it("knows DHIS2's no-schedule sentinel", () => {
    expect(isNoScheduleCron("* * * * * ?")).toBe(true);
    expect(isNoScheduleCron(" ")).toBe(true);
    expect(isNoScheduleCron(null)).toBe(true);
    expect(isNoScheduleCron("0 * * * * ?")).toBe(false);
    expect(nextCronOccurrence("* * * * * ?", T0, "Etc/UTC")).toBeNull();
  });
});

describe("nextCronOccurrence", () => {
  it("is strictly after the given instant, at whole seconds", () => {
    expect(next("*/5 * * * * *", T0)).toEqual(["2026-01-01T00:00:05.000Z", "2026-01-01T00:00:10.000Z", "2026-01-01T00:00:15.000Z"]);
    expect(next("*/5 * * * * *", T0 + 4999, "Etc/UTC", 1)).toEqual(["2026-01-01T00:00:05.000Z"]);
    expect(next("*/5 * * * * *", T0 + 5000, "Etc/UTC", 1)).toEqual(["2026-01-01T00:00:10.000Z"]);
    expect(next("*/5 * * * * *", T0 + 5001, "Etc/UTC", 1)).toEqual(["2026-01-01T00:00:10.000Z"]);
  });

  it("steps: a/n means a to the end of the field", () => {
    expect(next("5/15 * * * * *", T0, "Etc/UTC", 4)).toEqual([
      "2026-01-01T00:00:05.000Z",
      "2026-01-01T00:00:20.000Z",
      "2026-01-01T00:00:35.000Z",
      "2026-01-01T00:00:50.000Z",
    ]);
    expect(next("0 10-20/5 * * * *", T0, "Etc/UTC", 4)).toEqual([
      "2026-01-01T00:10:00.000Z",
      "2026-01-01T00:15:00.000Z",
      "2026-01-01T00:20:00.000Z",
      "2026-01-01T01:10:00.000Z",
    ]);
  });

  it("a step past the range's end selects only the range's start", () => {
    expect(validateCron("5-5/100 0/90 * * * *")).toBeNull();
    expect(next("5-5/100 0/90 * * * *", T0, "Etc/UTC", 2)).toEqual(["2026-01-01T00:00:05.000Z", "2026-01-01T01:00:05.000Z"]);
  });

  it("macros", () => {
    expect(next("@daily", T0, "Etc/UTC", 2)).toEqual(["2026-01-02T00:00:00.000Z", "2026-01-03T00:00:00.000Z"]);
    expect(next("@hourly", T0, "Etc/UTC", 1)).toEqual(["2026-01-01T01:00:00.000Z"]);
    expect(next("@weekly", T0, "Etc/UTC", 1)).toEqual(["2026-01-04T00:00:00.000Z"]); // Sunday
    expect(next("@monthly", T0, "Etc/UTC", 1)).toEqual(["2026-02-01T00:00:00.000Z"]);
    expect(next("@yearly", T0, "Etc/UTC", 1)).toEqual(["2027-01-01T00:00:00.000Z"]);
  });

  it("Sunday is 0 or 7; names are case-insensitive; SUN-MON is Sunday and Monday", () => {
    const sun = ["2026-01-04T00:00:00.000Z", "2026-01-11T00:00:00.000Z"];
    expect(next("0 0 0 * * 0", T0, "Etc/UTC", 2)).toEqual(sun);
    expect(next("0 0 0 * * 7", T0, "Etc/UTC", 2)).toEqual(sun);
    expect(next("0 0 0 ? * sun", T0, "Etc/UTC", 2)).toEqual(sun);
    expect(next("0 0 0 ? * SUN-MON", T0, "Etc/UTC", 3)).toEqual([
      "2026-01-04T00:00:00.000Z",
      "2026-01-05T00:00:00.000Z",
      "2026-01-11T00:00:00.000Z",
    ]);
    expect(next("0 0 0 1 feb,Mar ?", T0, "Etc/UTC", 2)).toEqual(["2026-02-01T00:00:00.000Z", "2026-03-01T00:00:00.000Z"]);
    // Spring's `*/2` in day-of-week counts from Monday (1): MON, WED, FRI, SUN.
    expect(next("0 0 0 ? * */2", T0, "Etc/UTC", 4)).toEqual([
      "2026-01-02T00:00:00.000Z",
      "2026-01-04T00:00:00.000Z",
      "2026-01-05T00:00:00.000Z",
      "2026-01-07T00:00:00.000Z",
    ]);
  });

  it("day-of-month AND day-of-week (not Unix's OR)", () => {
    // Friday the 13th.
    expect(next("0 0 0 13 * FRI", T0, "Etc/UTC", 2)).toEqual(["2026-02-13T00:00:00.000Z", "2026-03-13T00:00:00.000Z"]);
  });

  it("L, L-n, LW, nW in day-of-month", () => {
    expect(next("0 0 12 L * ?", T0, "Etc/UTC", 3)).toEqual([
      "2026-01-31T12:00:00.000Z",
      "2026-02-28T12:00:00.000Z",
      "2026-03-31T12:00:00.000Z",
    ]);
    expect(next("0 0 12 L-3 * ?", T0, "Etc/UTC", 3)).toEqual([
      "2026-01-28T12:00:00.000Z",
      "2026-02-25T12:00:00.000Z",
      "2026-03-28T12:00:00.000Z",
    ]);
    // Last weekday: Jan 31 2026 is a Saturday, May 31 2026 a Sunday.
    expect(next("0 0 12 LW * ?", T0, "Etc/UTC", 5)).toEqual([
      "2026-01-30T12:00:00.000Z",
      "2026-02-27T12:00:00.000Z",
      "2026-03-31T12:00:00.000Z",
      "2026-04-30T12:00:00.000Z",
      "2026-05-29T12:00:00.000Z",
    ]);
    // Feb 15 2026 is a Sunday → Monday 16; Mar 1 is a Sunday → Monday 2 (never the previous month);
    // Aug 1 2026 is a Saturday → Monday 3.
    expect(next("0 0 12 15W * ?", Date.UTC(2026, 1, 1), "Etc/UTC", 1)).toEqual(["2026-02-16T12:00:00.000Z"]);
    expect(next("0 0 12 1W * ?", Date.UTC(2026, 2, 1), "Etc/UTC", 1)).toEqual(["2026-03-02T12:00:00.000Z"]);
    expect(next("0 0 12 1W * ?", Date.UTC(2026, 7, 1), "Etc/UTC", 1)).toEqual(["2026-08-03T12:00:00.000Z"]);
    // Last day as part of a list.
    expect(next("0 0 0 15,L * *", T0, "Etc/UTC", 3)).toEqual([
      "2026-01-15T00:00:00.000Z",
      "2026-01-31T00:00:00.000Z",
      "2026-02-15T00:00:00.000Z",
    ]);
  });

  it("dL and d#n in day-of-week", () => {
    expect(next("0 0 12 ? * 5L", T0, "Etc/UTC", 2)).toEqual(["2026-01-30T12:00:00.000Z", "2026-02-27T12:00:00.000Z"]);
    expect(next("0 0 12 ? * FRIL", T0, "Etc/UTC", 1)).toEqual(["2026-01-30T12:00:00.000Z"]);
    expect(next("0 0 12 ? * 7L", T0, "Etc/UTC", 1)).toEqual(["2026-01-25T12:00:00.000Z"]);
    expect(next("0 0 12 ? * MON#2", T0, "Etc/UTC", 2)).toEqual(["2026-01-12T12:00:00.000Z", "2026-02-09T12:00:00.000Z"]);
    // Fifth Sunday only in months that have one.
    expect(next("0 0 1 ? * 0#5", Date.UTC(2026, 10, 1), "Etc/UTC", 2)).toEqual(["2026-11-29T01:00:00.000Z", "2027-01-31T01:00:00.000Z"]);
  });

  it("an expression that never fires gives null", () => {
    expect(nextCronOccurrence("0 0 0 31 2 *", T0, "Etc/UTC")).toBeNull();
    expect(nextCronOccurrence("0 0 0 30W 2 *", T0, "Etc/UTC")).toBeNull();
    expect(nextCronOccurrence("not a cron", T0, "Etc/UTC")).toBeNull();
  });

  it("evaluates in the server time zone", () => {
    expect(next("0 0 3 ? * *", T0, "Europe/Berlin", 1)).toEqual(["2026-01-01T02:00:00.000Z"]);
    expect(next("0 0 3 ? * *", T0, "America/New_York", 1)).toEqual(["2026-01-01T08:00:00.000Z"]);
    expect(next("0 0 0 L * *", Date.UTC(2026, 9, 1), "Europe/Berlin", 2)).toEqual(["2026-10-30T23:00:00.000Z", "2026-11-29T23:00:00.000Z"]);
  });
});

describe("DST", () => {
  it("Europe/Berlin spring forward: a skipped local time runs at the next valid instant", () => {
    // 2026-03-29 02:00 CET → 03:00 CEST; 02:30 does not exist that day.
    expect(next("0 30 2 * * *", Date.UTC(2026, 2, 28, 12), "Europe/Berlin", 3)).toEqual([
      "2026-03-29T01:00:00.000Z", // 03:00 CEST
      "2026-03-30T00:30:00.000Z", // 02:30 CEST
      "2026-03-31T00:30:00.000Z",
    ]);
  });

  it("Europe/Berlin fall back: a repeated local time runs once", () => {
    // 2026-10-25 03:00 CEST → 02:00 CET; 02:30 happens twice.
    expect(next("0 30 2 * * *", Date.UTC(2026, 9, 24, 12), "Europe/Berlin", 2)).toEqual([
      "2026-10-25T00:30:00.000Z",
      "2026-10-26T01:30:00.000Z",
    ]);
    // A list of fixed times is a fixed-time job too.
    expect(next("0 30 2,14 * * *", Date.UTC(2026, 9, 24, 22), "Europe/Berlin", 3)).toEqual([
      "2026-10-25T00:30:00.000Z",
      "2026-10-25T13:30:00.000Z",
      "2026-10-26T01:30:00.000Z",
    ]);
  });

  it("interval jobs keep their real-time cadence across the change", () => {
    expect(next("0 0 * * * *", Date.UTC(2026, 9, 24, 23, 30), "Europe/Berlin", 4)).toEqual([
      "2026-10-25T00:00:00.000Z",
      "2026-10-25T01:00:00.000Z",
      "2026-10-25T02:00:00.000Z",
      "2026-10-25T03:00:00.000Z",
    ]);
    expect(next("0 */30 * * * *", Date.UTC(2026, 2, 29, 0, 15), "Europe/Berlin", 3)).toEqual([
      "2026-03-29T00:30:00.000Z",
      "2026-03-29T01:00:00.000Z",
      "2026-03-29T01:30:00.000Z",
    ]);
  });

  it("America/New_York spring forward and fall back", () => {
    // 2026-03-08 02:00 EST → 03:00 EDT.
    expect(next("0 30 2 * * *", Date.UTC(2026, 2, 7, 12), "America/New_York", 2)).toEqual([
      "2026-03-08T07:00:00.000Z", // 03:00 EDT
      "2026-03-09T06:30:00.000Z", // 02:30 EDT
    ]);
    // 2026-11-01 02:00 EDT → 01:00 EST; 01:30 happens twice.
    expect(next("0 30 1 * * *", Date.UTC(2026, 9, 31, 12), "America/New_York", 2)).toEqual([
      "2026-11-01T05:30:00.000Z",
      "2026-11-02T06:30:00.000Z",
    ]);
    // Daily at midnight keeps local midnight across both changes.
    expect(next("@daily", Date.UTC(2026, 9, 31, 12), "America/New_York", 2)).toEqual([
      "2026-11-01T04:00:00.000Z",
      "2026-11-02T05:00:00.000Z",
    ]);
  });
});
