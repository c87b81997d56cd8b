/**
 * DHIS2's own tests of queues, ported as they are written (dhis2-core 2.42,
 * dhis-2/dhis-test-web-api/src/test/java/org/hisp/dhis/webapi/controller/JobSchedulerControllerTest.java
 * and JobConfigurationControllerTest.java): the three jobs are created through the API, as DHIS2's
 * `setUp` does. Plus what issue 13 adds: a job that left a queue is never lost, neither from the
 * list nor to the cleanup of finished run-once jobs.
 */
import { env } from "cloudflare:test";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { manualClock, setClock } from "../../src/http/clock";
import { api, json } from "../helpers";
import { clearJobs, deleteJobAlarms, jobRow, T0 } from "./support";

const clockNow = manualClock(T0);
let jobIdA: string;
let jobIdB: string;
let jobIdC: string;

async function createJob(body: Record<string, unknown>): Promise<string> {
  const res = await api("/api/jobConfigurations", { body });
  expect(res.status, JSON.stringify(await res.clone().json())).toBe(201);
  return (await json(res)).response.uid;
}

const names = (entries: { name: string }[]) => entries.map((e) => e.name);

beforeEach(async () => {
  setClock(clockNow);
  clockNow.set(T0);
  await clearJobs();
  jobIdA = await createJob({
    name: "a",
    jobType: "DISABLE_INACTIVE_USERS",
    cronExpression: "0 0 1 ? * *",
    jobParameters: { inactiveMonths: "3" },
  });
  jobIdB = await createJob({ name: "b", jobType: "DATA_INTEGRITY", cronExpression: "0 0 12 ? * MON-FRI" });
  jobIdC = await createJob({ name: "c", jobType: "RESOURCE_TABLE", cronExpression: "0 0 3 ? * MON" });
});

afterEach(deleteJobAlarms);
afterAll(() => setClock(null));

describe("JobSchedulerControllerTest (DHIS2 2.42)", () => {
  it("testDeleteQueue: the ex-queue jobs show in the scheduler main list again", async () => {
    const created = await api("/api/scheduler/queues/testQueue", {
      body: { cronExpression: "0 0 1 ? * *", sequence: [jobIdA, jobIdB, jobIdC] },
    });
    expect(created.status).toBe(201);
    expect((await api("/api/scheduler")).status).toBe(200);
    expect((await json<unknown[]>(await api("/api/scheduler"))).length).toBe(1);

    expect((await api("/api/scheduler/queues/testQueue", { method: "DELETE" })).status).toBe(204);
    expect((await api("/api/scheduler/queues/testQueue")).status).toBe(404);
    const list = await json<any[]>(await api("/api/scheduler"));
    expect(list.length).toBe(3);
    expect(list.map((e) => e.sequence.map((j: { id: string }) => j.id)).sort()).toEqual([[jobIdA], [jobIdB], [jobIdC]].sort());
  });

  it("testGetQueueableJobs: with and without ?name= only b", async () => {
    expect(
      (await api("/api/scheduler/queues/testQueue", { body: { cronExpression: "0 0 1 ? * *", sequence: [jobIdA, jobIdC] } })).status,
    ).toBe(201);
    expect(names(await json(await api("/api/scheduler/queueable")))).toEqual(["b"]);
    expect(names(await json(await api("/api/scheduler/queueable?name=testQueue")))).toEqual(["b"]);
  });

  it("testGetSchedulerEntries: the queue is one entry, its jobs in order", async () => {
    expect(
      (await api("/api/scheduler/queues/testQueue", { body: { cronExpression: "0 0 1 ? * *", sequence: [jobIdA, jobIdC] } })).status,
    ).toBe(201);
    const entries = await json<any[]>(await api("/api/scheduler?order=name"));
    expect(names(entries)).toEqual(["b", "testQueue"]);
    expect(names(entries[1].sequence)).toEqual(["a", "c"]);
  });
});

describe("JobConfigurationControllerTest (DHIS2 2.42)", () => {
  it("testEnableRequiresSchedule_Update: a job that left a queue has no cron; enable is 409", async () => {
    expect(
      (await api("/api/scheduler/queues/testQueue", { body: { cronExpression: "0 0 1 ? * *", sequence: [jobIdB, jobIdC] } })).status,
    ).toBe(201);
    expect((await api("/api/scheduler/queues/testQueue", { method: "DELETE" })).status).toBe(204);
    const config = await json(await api(`/api/jobConfigurations/${jobIdB}`));
    expect(config.cronExpression).toBeUndefined();
    const enable = await api(`/api/jobConfigurations/${jobIdB}/enable`, { method: "POST" });
    expect(enable.status).toBe(409);
    expect((await json(enable)).message).toBe("Job requires schedule setup before it can be enabled.");
    // With a schedule again (a PUT, as the Scheduler app's edit form sends it) it is enabled.
    const put = await api(`/api/jobConfigurations/${jobIdB}`, {
      method: "PUT",
      body: { name: "b", jobType: "DATA_INTEGRITY", cronExpression: "0 0 12 ? * MON-FRI" },
    });
    expect(put.status).toBe(200);
    expect((await api(`/api/jobConfigurations/${jobIdB}/enable`, { method: "POST" })).status).toBe(204);
    const list = await json<any[]>(await api("/api/scheduler?order=name"));
    expect(list.find((e) => e.name === "b")).toMatchObject({ cronExpression: "0 0 12 ? * MON-FRI", enabled: true, status: "SCHEDULED" });
  });
});

describe("a job that left a queue is kept", () => {
  it("POST /api/jobConfigurations/clean does not delete a former member that ran, only true run-once jobs", async () => {
    expect(
      (await api("/api/scheduler/queues/testQueue", { body: { cronExpression: "0 0 1 ? * *", sequence: [jobIdA, jobIdB] } })).status,
    ).toBe(201);
    expect((await api("/api/scheduler/queues/testQueue", { method: "DELETE" })).status).toBe(204);
    const oneOff = await createJob({ name: "one-off", jobType: "DATA_INTEGRITY" });
    // Both ran (as queue member / once) two hours ago and are now disabled.
    const ranAt = T0 - 2 * 3600_000;
    await env.DB.prepare(
      `UPDATE job_configurations SET last_executed = ?, last_finished = ?, enabled = 0, job_status = 'DISABLED' WHERE uid IN (?, ?)`,
    )
      .bind(ranAt, ranAt + 1000, jobIdA, oneOff)
      .run();

    expect((await api("/api/jobConfigurations/clean?minutes=60", { method: "POST" })).status).toBe(204);

    expect((await api(`/api/jobConfigurations/${oneOff}`)).status).toBe(404);
    const a = await jobRow(jobIdA);
    expect([a.scheduling_type, a.cron_expression, a.enabled, a.job_status]).toEqual(["CRON", null, 0, "DISABLED"]);
    expect(names(await json(await api("/api/scheduler?order=name")))).toEqual(["a", "b", "c"]);
  });
});
