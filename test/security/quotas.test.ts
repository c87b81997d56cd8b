/**
 * Issue 14, point 7 (quotas): system settings for the job configurations a user who is not a superuser
 * may create (jobsMaxPerUser) and the shortest interval they may schedule (jobsMinIntervalSeconds);
 * the same-cron check (E7000) compares what crons mean; a job that fires every second cannot starve
 * the other jobs of its type (they take turns: tryStartRun's fair share).
 */
import { env } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { cronMeaning, shortestCronInterval } from "../../src/scheduling/cron";
import { FAIR_SHARE_MS, tryStartRun } from "../../src/scheduling/store";
import { clearAllAlarms, uniqueCron } from "./fixtures";
import { admin, call, createRoleUser, type TestUser } from "./support";

let sched: TestUser;

const name = () => `Quota ${crypto.randomUUID()}`;
const reports = async (res: Response) => ((await res.json()) as any).response.errorReports.map((r: any) => [r.errorCode, r.errorProperty]);

async function setSetting(key: string, value: number): Promise<void> {
  const res = await call("POST", `/api/systemSettings/${key}`, admin(), JSON.stringify(value));
  expect(res.status).toBe(200);
}

beforeAll(async () => {
  sched = await createRoleUser("QuotaSched1", "quota_sched", ["F_SCHEDULING_ADMIN"]);
});

afterEach(async () => {
  await env.DB.prepare(`DELETE FROM system_settings WHERE key IN ('jobsMaxPerUser', 'jobsMinIntervalSeconds')`).run();
  await clearAllAlarms();
});

describe("quota settings", () => {
  it("exist with their defaults", async () => {
    expect(await (await call("GET", "/api/systemSettings/jobsMaxPerUser", sched.auth)).json()).toEqual({ jobsMaxPerUser: 50 });
    expect(await (await call("GET", "/api/systemSettings/jobsMinIntervalSeconds", sched.auth)).json()).toEqual({
      jobsMinIntervalSeconds: 60,
    });
    // Only superusers change them.
    expect((await call("POST", "/api/systemSettings/jobsMaxPerUser", sched.auth, "1000")).status).toBe(403);
  });

  it("a non-superuser cannot schedule more often than jobsMinIntervalSeconds; a superuser can", async () => {
    for (const cron of ["* * * * * *", "*/1 * * * * *", "0-59 * * * * *", "0,30 * * * * *", "0,1 0 0 * * *"]) {
      const res = await call("POST", "/api/jobConfigurations", sched.auth, {
        name: name(),
        jobType: "DATA_INTEGRITY",
        cronExpression: cron,
      });
      expect(res.status, cron).toBe(409);
      const body: any = await res.json();
      expect(body.response.errorReports[0]).toMatchObject({ errorCode: "E7010", errorProperty: "cronExpression" });
      expect(body.response.errorReports[0].message).toContain("(system setting jobsMinIntervalSeconds = 60)");
    }
    const delay = await call("POST", "/api/jobConfigurations", sched.auth, {
      name: name(),
      jobType: "CONTINUOUS_ANALYTICS_TABLE",
      delay: 10,
    });
    expect(delay.status).toBe(409);
    expect(await reports(delay)).toEqual([["E7010", "delay"]]);

    const minutely = await call("POST", "/api/jobConfigurations", sched.auth, {
      name: name(),
      jobType: "DATA_INTEGRITY",
      cronExpression: "0 * * * * *",
    });
    expect(minutely.status).toBe(201);
    const asSuper = await call("POST", "/api/jobConfigurations", admin(), {
      name: name(),
      jobType: "DATA_INTEGRITY",
      cronExpression: "*/2 * * * * *",
      enabled: false,
    });
    expect(asSuper.status).toBe(201);

    // A lower setting lets a non-superuser schedule more often.
    await setSetting("jobsMinIntervalSeconds", 10);
    const tenSeconds = await call("POST", "/api/jobConfigurations", sched.auth, {
      name: name(),
      jobType: "DATA_INTEGRITY",
      cronExpression: "*/10 * * * * *",
      enabled: false,
    });
    expect(tenSeconds.status).toBe(201);
  });

  it("a queue's cron is held to jobsMinIntervalSeconds too (non-superusers), and not for a superuser", async () => {
    const members: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await call("POST", "/api/jobConfigurations", sched.auth, {
        name: name(),
        jobType: "DATA_INTEGRITY",
        cronExpression: uniqueCron(),
      });
      expect(res.status).toBe(201);
      members.push(((await res.json()) as any).response.uid);
    }
    const queue = `quota-${crypto.randomUUID().slice(0, 8)}`;
    const everySecond = { cronExpression: "*/1 * * * * *", sequence: members };
    const refused = await call("POST", `/api/scheduler/queues/${queue}`, sched.auth, everySecond);
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({
      httpStatusCode: 409,
      errorCode: "E7010",
      message:
        "The schedule runs every 1 seconds, more often than a user who is not a superuser may schedule (system setting jobsMinIntervalSeconds = 60).",
    });
    expect(
      (await call("POST", `/api/scheduler/queues/${queue}`, sched.auth, { cronExpression: "0 */5 * * * *", sequence: members })).status,
    ).toBe(201);
    // Tightening the queue's cron later is refused the same way; a superuser may.
    expect((await call("PUT", `/api/scheduler/queues/${queue}`, sched.auth, everySecond)).status).toBe(409);
    expect((await call("PUT", `/api/scheduler/queues/${queue}`, admin(), everySecond)).status).toBe(204);
    expect((await call("DELETE", `/api/scheduler/queues/${queue}`, admin())).status).toBe(204);
  });

  it("a non-superuser may create at most jobsMaxPerUser job configurations", async () => {
    const mine = (await env.DB.prepare(`SELECT COUNT(*) AS n FROM job_configurations WHERE created_by = ?`)
      .bind(sched.uid)
      .first<{ n: number }>())!.n;
    await setSetting("jobsMaxPerUser", mine + 2);
    for (let i = 0; i < 2; i++) {
      const res = await call("POST", "/api/jobConfigurations", sched.auth, {
        name: name(),
        jobType: "DATA_INTEGRITY",
        cronExpression: uniqueCron(),
      });
      expect(res.status).toBe(201);
    }
    const over = await call("POST", "/api/jobConfigurations", sched.auth, {
      name: name(),
      jobType: "DATA_INTEGRITY",
      cronExpression: uniqueCron(),
    });
    expect(over.status).toBe(409);
    expect(await over.json()).toEqual({
      httpStatus: "Conflict",
      httpStatusCode: 409,
      status: "ERROR",
      errorCode: "E1004",
      message: `You have created ${mine + 2} job configurations, the most a user who is not a superuser may have (system setting jobsMaxPerUser = ${mine + 2}). Delete one, or ask a superuser.`,
    });
    const superuser = await call("POST", "/api/jobConfigurations", admin(), {
      name: name(),
      jobType: "DATA_INTEGRITY",
      cronExpression: uniqueCron(),
    });
    expect(superuser.status).toBe(201);
  });
});

describe("the same-cron check (E7000) compares meanings", () => {
  it("equivalent crons have one meaning; different ones do not", () => {
    const same = (a: string, b: string) => expect(cronMeaning(a), `${a} ~ ${b}`).toBe(cronMeaning(b));
    same("* * * * * *", "*/1 * * * * *");
    same("* * * * * *", "0-59 * * * * *");
    same("* * * * * *", "0/1 * * * * ?");
    same("0 0 6 ? * MON-FRI", "0 0 6 * * 1-5");
    same("0 0 0 * * SUN", "0 0 0 ? * 7");
    same("0 0 0 * * *", "@daily");
    same("0 0 3 1-31 JAN-DEC *", "0 0 3 * * 0-6");
    same("0,15,30,45 * * * * *", "*/15 * * * * *");
    expect(cronMeaning("* * * * * *")).not.toBe(cronMeaning("* * * * * ?".replace("?", "1")));
    expect(cronMeaning("0 0 6 ? * MON-FRI")).not.toBe(cronMeaning("0 0 6 ? * MON-SAT"));
    expect(cronMeaning("0 0 0 L * *")).not.toBe(cronMeaning("0 0 0 LW * *"));
    expect(cronMeaning("* * * * * ?")).toBe("none");
    expect(cronMeaning("not a cron")).toBeNull();
  });

  it("refuses a job whose cron means the same as another job's of its type", async () => {
    const first = await call("POST", "/api/jobConfigurations", admin(), {
      name: name(),
      jobType: "RESOURCE_TABLE",
      cronExpression: "* * * * * *",
      enabled: false,
    });
    expect(first.status).toBe(201);
    for (const cron of ["*/1 * * * * *", "0-59 * * * * *", "0/1 * * * * ?"]) {
      const res = await call("POST", "/api/jobConfigurations", admin(), {
        name: name(),
        jobType: "RESOURCE_TABLE",
        cronExpression: cron,
        enabled: false,
      });
      expect(res.status, cron).toBe(409);
      const body: any = await res.json();
      expect(body.response.errorReports[0]).toMatchObject({
        errorCode: "E7000",
        message: `Job of same type already scheduled with cron expression: \`${cron}\``,
      });
    }
    const otherType = await call("POST", "/api/jobConfigurations", admin(), {
      name: name(),
      jobType: "DATA_INTEGRITY",
      cronExpression: "*/1 * * * * *",
      enabled: false,
    });
    expect(otherType.status).toBe(201);
  });

  it("the shortest interval of a cron is its densest stretch", () => {
    const t = Date.UTC(2031, 0, 1, 12, 0, 0);
    expect(shortestCronInterval("* * * * * *", t, "Etc/UTC")).toBe(1000);
    expect(shortestCronInterval("0 * * * * *", t, "Etc/UTC")).toBe(60_000);
    expect(shortestCronInterval("0,1 0 0 * * *", t, "Etc/UTC")).toBe(1000);
    expect(shortestCronInterval("0 0 3 * * *", t, "Etc/UTC")).toBe(24 * 3600_000);
    expect(shortestCronInterval("* * * * * ?", t, "Etc/UTC")).toBeNull();
  });
});

describe("a job that fires every second does not starve its type", () => {
  const NOW = Date.UTC(2031, 5, 1, 10, 0, 0);

  async function insertJob(uid: string, jobType: string, lastFinished: number | null, alarmAt: number | null): Promise<void> {
    await env.DB.batch([
      env.DB.prepare(
        `INSERT INTO job_configurations (uid, name, job_type, scheduling_type, cron_expression, enabled, job_status, last_finished, created, last_updated)
         VALUES (?, ?, ?, 'CRON', ?, 1, 'SCHEDULED', ?, ?, ?)`,
      ).bind(uid, `Fair ${uid}`, jobType, uniqueCron(), lastFinished, NOW - 86_400_000, NOW - 86_400_000),
      env.DB.prepare(`INSERT INTO job_schedule (job_uid, alarm_at, synced_at) VALUES (?, ?, ?)`).bind(uid, alarmAt, NOW),
    ]);
  }

  const start = (uid: string, jobType: string, now = NOW) =>
    tryStartRun(env.DB, { uid, jobType, now, independent: false, trigger: "CRON", scheduledAt: now, executedBy: null, triggeredBy: null });

  it("a job that just ran yields to one of its type that waits; the waiting one starts", async () => {
    const type = "ANALYTICS_TABLE";
    await insertJob("FairBusyJ01", type, NOW - 500, NOW); // fires every second, its last run just ended
    await insertJob("FairWaitJ01", type, null, NOW - 1_000); // due a second ago, waiting for the type
    expect((await start("FairBusyJ01", type)).outcome).toBe("blocked");
    expect((await start("FairWaitJ01", type)).outcome).toBe("started");
    // While the waiting job runs, the busy one is blocked as before (one run per type).
    expect((await start("FairBusyJ01", type, NOW + 1000)).outcome).toBe("blocked");
    await env.DB.batch([
      env.DB.prepare(`UPDATE job_configurations SET job_status = 'SCHEDULED', last_finished = ? WHERE uid = 'FairWaitJ01'`).bind(
        NOW + 1500,
      ),
      env.DB.prepare(`UPDATE job_schedule SET alarm_at = ? WHERE job_uid = 'FairWaitJ01'`).bind(NOW + 86_400_000),
    ]);
    // Its turn came and went: the every-second job runs again.
    expect((await start("FairBusyJ01", type, NOW + 2000)).outcome).toBe("started");
  });

  it("does not yield when its last run is older than the fair-share window", async () => {
    await insertJob("FairOldJob01", "RESOURCE_TABLE", NOW - FAIR_SHARE_MS - 1, NOW);
    await insertJob("FairWaitJ02", "RESOURCE_TABLE", null, NOW - 1_000);
    expect((await start("FairOldJob01", "RESOURCE_TABLE")).outcome).toBe("started");
  });

  it("does not yield to a job whose alarm is stale (reconcile repairs that one)", async () => {
    await insertJob("FairBusyJ02", "MONITORING", NOW - 500, NOW);
    await insertJob("FairStale001", "MONITORING", null, NOW - 10 * 60_000);
    expect((await start("FairBusyJ02", "MONITORING")).outcome).toBe("started");
  });
});
