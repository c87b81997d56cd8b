/**
 * DHIS2's (beta) scheduler maintenance views: `GET /api/jobConfigurations/due`, `/stale` and
 * `POST /api/jobConfigurations/clean`. The clock is fixed at T0 (2035-01-01T00:00Z).
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { syncJobObject } from "../../src/scheduling/sync";
import { api, json } from "../helpers";
import { T0, insertJob, row, schedulerTestLifecycle, userWith } from "./support";

schedulerTestLifecycle();

const MIN = 60_000;

async function armed(init: Parameters<typeof insertJob>[0]): Promise<string> {
  const uid = await insertJob(init);
  await syncJobObject(env, uid);
  return uid;
}

describe("GET /api/jobConfigurations/due", () => {
  it("lists the enabled jobs due within `seconds`, soonest first, as JobEntry records", async () => {
    const at1 = await armed({ name: "At one", cron: "0 0 1 * * ?", parameters: { waitMillis: 5 } });
    const at030 = await armed({ name: "At half past", cron: "0 30 0 * * ?" });
    await armed({ name: "Disabled", cron: "0 10 0 * * ?", enabled: false });
    await armed({ name: "Running", cron: "0 5 0 * * ?", status: "RUNNING", lastExecuted: T0 - MIN, lastAlive: T0 - 1000 });

    const soon = await api("/api/jobConfigurations/due?seconds=2000");
    expect(soon.status).toBe(200);
    expect(soon.headers.get("content-type")).toContain("application/json");
    expect(await json(soon)).toEqual([
      { id: at030, type: "TEST", schedulingType: "CRON", name: "At half past", status: "SCHEDULED", cronExpression: "0 30 0 * * ?" },
    ]);

    const later = await json<any[]>(await api("/api/jobConfigurations/due?seconds=3600"));
    expect(later.map((e) => e.id)).toEqual([at030, at1]);
    expect(later[1]).toEqual({
      id: at1,
      type: "TEST",
      schedulingType: "CRON",
      name: "At one",
      status: "SCHEDULED",
      cronExpression: "0 0 1 * * ?",
      parameters: { waitMillis: 5 },
    });
    expect(await json(await api("/api/jobConfigurations/due?seconds=60"))).toEqual([]);
  });

  it("leaves out a job that would wait for a RUNNING job of its type, unless includeWaiting=true", async () => {
    const waiting = await armed({ name: "Waiting resource tables", jobType: "RESOURCE_TABLE", cron: "0 1 0 * * ?" });
    await armed({
      name: "Busy resource tables",
      jobType: "RESOURCE_TABLE",
      cron: "0 0 5 * * ?",
      status: "RUNNING",
      lastExecuted: T0 - MIN,
      lastAlive: T0,
    });
    expect(await json(await api("/api/jobConfigurations/due?seconds=120"))).toEqual([]);
    const all = await json<any[]>(await api("/api/jobConfigurations/due?seconds=120&includeWaiting=true"));
    expect(all.map((e) => e.id)).toEqual([waiting]);
  });

  it("400 without seconds or with a bad value; 401 without credentials", async () => {
    const missing = await api("/api/jobConfigurations/due");
    expect(missing.status).toBe(400);
    expect(await json(missing)).toMatchObject({
      httpStatusCode: 400,
      status: "ERROR",
      message: "Required request parameter 'seconds' for method parameter type int is not present",
    });
    const bad = await api("/api/jobConfigurations/due?seconds=soon");
    expect(bad.status).toBe(400);
    expect((await json(bad)).message).toContain("seconds");
    const badFlag = await api("/api/jobConfigurations/due?seconds=5&includeWaiting=maybe");
    expect(badFlag.status).toBe(400);
    expect((await api("/api/jobConfigurations/due?seconds=5", { auth: null })).status).toBe(401);
  });
});

describe("GET /api/jobConfigurations/stale", () => {
  it("lists RUNNING jobs whose heartbeat is older than `seconds`, oldest first", async () => {
    const old = await insertJob({
      name: "Silent",
      status: "RUNNING",
      cron: "0 0 2 * * ?",
      lastExecuted: T0 - 10 * MIN,
      lastAlive: T0 - 5 * MIN,
      executedBy: "M5zQapPyTZI",
    });
    const never = await insertJob({ name: "Never beat", status: "RUNNING", cron: "0 0 4 * * ?", lastExecuted: T0 - 20 * MIN });
    await insertJob({ name: "Alive", status: "RUNNING", cron: "0 0 3 * * ?", lastExecuted: T0 - 10 * MIN, lastAlive: T0 - 10_000 });
    const res = await api("/api/jobConfigurations/stale?seconds=60");
    expect(res.status).toBe(200);
    const list = await json<any[]>(res);
    expect(list.map((e) => e.id)).toEqual([never, old]);
    expect(list[1]).toEqual({
      id: old,
      type: "TEST",
      schedulingType: "CRON",
      name: "Silent",
      status: "RUNNING",
      executedBy: "M5zQapPyTZI",
      cronExpression: "0 0 2 * * ?",
      lastExecuted: "2034-12-31T23:50:00.000",
      lastAlive: "2034-12-31T23:55:00.000",
    });
    expect(await json(await api("/api/jobConfigurations/stale?seconds=3600"))).toEqual([]);
    expect((await api("/api/jobConfigurations/stale")).status).toBe(400);
  });
});

describe("POST /api/jobConfigurations/clean", () => {
  async function finishedOnce(name: string, finishedAgo: number): Promise<string> {
    return insertJob({ name, enabled: false, status: "DISABLED", lastExecuted: T0 - finishedAgo - 1000, lastFinished: T0 - finishedAgo });
  }

  it("deletes finished run-once jobs whose run ended more than `minutes` ago (204)", async () => {
    const old = await finishedOnce("Old one-off", 2 * 60 * MIN);
    const recent = await finishedOnce("Recent one-off", 10 * MIN);
    const scheduled = await insertJob({
      name: "Nightly",
      cron: "0 0 3 * * ?",
      lastExecuted: T0 - 3 * 60 * MIN,
      lastFinished: T0 - 3 * 60 * MIN,
    });
    const res = await api("/api/jobConfigurations/clean?minutes=60", { method: "POST" });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    expect(await row(old)).toBeNull();
    expect(await row(recent)).not.toBeNull();
    expect(await row(scheduled)).not.toBeNull();
  });

  it("403 without F_PERFORM_MAINTENANCE; 400 without minutes", async () => {
    const old = await finishedOnce("Kept one-off", 2 * 60 * MIN);
    const sched = await userWith("cleansched", ["F_SCHEDULING_ADMIN"]);
    const denied = await api("/api/jobConfigurations/clean?minutes=1", { method: "POST", auth: sched.auth });
    expect(denied.status).toBe(403);
    expect(await json(denied)).toMatchObject({
      httpStatusCode: 403,
      message: "Access is denied, requires one Authority from [F_PERFORM_MAINTENANCE]",
    });
    expect(await row(old)).not.toBeNull();
    const missing = await api("/api/jobConfigurations/clean", { method: "POST" });
    expect(missing.status).toBe(400);
    expect((await json(missing)).message).toBe("Required request parameter 'minutes' for method parameter type int is not present");
    const maint = await userWith("cleanmaint", ["F_PERFORM_MAINTENANCE"]);
    expect((await api("/api/jobConfigurations/clean?minutes=1", { method: "POST", auth: maint.auth })).status).toBe(204);
    expect(await row(old)).toBeNull();
  });
});
