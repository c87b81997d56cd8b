import { env } from "cloudflare:test";
import { afterAll, describe, expect, it } from "vitest";
import { SYSTEM_JOBS } from "../../src/jobs/registry";
import { api, json } from "../helpers";
import { cleanupJobs, create, createOk, getJob, row, uniqueName, userAuth } from "./support";

afterAll(cleanupJobs);

describe("system jobs", () => {
  it("exist from the first start with DHIS2's UIDs, names and schedules", async () => {
    const { results } = await env.DB.prepare(
      `SELECT uid, name, job_type, cron_expression, delay, system, enabled, job_status FROM job_configurations WHERE system = 1 ORDER BY uid`,
    ).all<any>();
    expect(results.map((r) => r.uid).sort()).toEqual(SYSTEM_JOBS.map((j) => j.uid).sort());
    for (const j of SYSTEM_JOBS) {
      const r = results.find((x) => x.uid === j.uid);
      expect(r).toMatchObject({ name: j.name, job_type: j.jobType, system: 1, enabled: 1, job_status: "SCHEDULED" });
      if (j.jobType === "SYSTEM_VERSION_UPDATE_CHECK") {
        const [s, m, h, ...rest] = r.cron_expression.split(" ");
        expect(Number(s)).toBeLessThan(60);
        expect(Number(m)).toBeLessThan(60);
        expect([3, 4, 5]).toContain(Number(h));
        expect(rest).toEqual(["?", "*", "*"]);
      } else if (j.delay) {
        expect(r.delay).toBe(j.delay);
      } else {
        expect(r.cron_expression).toBe(j.cronExpression);
      }
    }
    const housekeeping = await getJob("DHIS2rocks1", "id,name,jobType,schedulingType,delay,configurable,jobStatus,nextExecutionTime");
    expect(housekeeping).toMatchObject({
      id: "DHIS2rocks1",
      name: "Housekeeping",
      jobType: "HOUSEKEEPING",
      schedulingType: "FIXED_DELAY",
      delay: 20,
      configurable: false,
      jobStatus: "SCHEDULED",
    });
    expect(housekeeping.nextExecutionTime).toBeDefined();
  });

  it("cannot be changed or deleted (409 with DHIS2's messages)", async () => {
    const put = await api("/api/jobConfigurations/DHIS2rocks1", { method: "PUT", body: { name: "Housekeeping", delay: 30 } });
    expect(put.status).toBe(409);
    expect(await json(put)).toEqual({
      httpStatus: "Conflict",
      httpStatusCode: 409,
      status: "ERROR",
      errorCode: "E1004",
      message: "Job DHIS2rocks1 is a system job that cannot be modified.",
    });
    const patch = await api("/api/jobConfigurations/YvAwAmrqAtN", { method: "PATCH", body: { enabled: false } });
    expect(patch.status).toBe(409);
    expect((await json(patch)).message).toBe("Job YvAwAmrqAtN is a system job that cannot be modified.");
    const del = await api("/api/jobConfiguration/BFa3jDsbtdO", { method: "DELETE" });
    expect(del.status).toBe(409);
    expect((await json(del)).message).toBe("Job BFa3jDsbtdO is a system job that cannot be deleted.");
    expect(await row("DHIS2rocks1")).toMatchObject({ delay: 20, enabled: 1, version: 1 });
    expect(await row("BFa3jDsbtdO")).not.toBeNull();
  });

  it("cannot be created", async () => {
    const { res, body } = await create({ name: "Housekeeping 2", jobType: "HOUSEKEEPING", delay: 20 });
    expect(res.status).toBe(409);
    expect(body.message).toBe("Job Housekeeping 2 must be configurable but was not.");
    const taken = await create({ id: "DHIS2rocks1", name: uniqueName(), jobType: "RESOURCE_TABLE", cronExpression: "0 0 1 ? * *" });
    expect(taken.res.status).toBe(409);
    expect(taken.body.response.errorReports[0].errorCode).toBe("E5000");
    const name = await create({ name: "Housekeeping", jobType: "RESOURCE_TABLE", cronExpression: "0 0 1 ? * *" });
    expect(name.body.response.errorReports[0].errorCode).toBe("E5003");
  });
});

describe("authorization", () => {
  it("writes need F_SCHEDULING_ADMIN or ALL (403 with DHIS2's messages); reads any user", async () => {
    const plain = await userAuth("plainuser", ["F_VIEW_SOMETHING"]);
    const admin = await userAuth("scheduler", ["F_SCHEDULING_ADMIN"]);
    const denied = await create({ name: uniqueName(), jobType: "RESOURCE_TABLE", cronExpression: "0 0 1 ? * *" }, plain);
    expect(denied.res.status).toBe(403);
    expect(denied.body).toEqual({
      httpStatus: "Forbidden",
      httpStatusCode: 403,
      status: "ERROR",
      errorCode: "E1006",
      message: "You don't have the proper permissions to create this object.",
    });
    const ok = await create({ name: uniqueName(), jobType: "RESOURCE_TABLE", cronExpression: "0 0 2 ? * *" }, admin);
    expect(ok.res.status).toBe(201);
    const id = ok.body.response.uid;
    const creator = await env.DB.prepare(`SELECT uid FROM users WHERE username = 'scheduler'`).first<{ uid: string }>();
    expect(await row(id)).toMatchObject({ created_by: creator!.uid, last_updated_by: creator!.uid });

    const put = await api(`/api/jobConfigurations/${id}`, {
      method: "PUT",
      body: { name: "x", cronExpression: "0 0 3 ? * *" },
      auth: plain,
    });
    expect(put.status).toBe(403);
    expect((await json(put)).message).toBe("You don't have the proper permissions to update this object.");
    const patch = await api(`/api/jobConfigurations/${id}`, { method: "PATCH", body: { enabled: false }, auth: plain });
    expect(patch.status).toBe(403);
    const del = await api(`/api/jobConfigurations/${id}`, { method: "DELETE", auth: plain });
    expect(del.status).toBe(403);
    expect((await json(del)).message).toBe("You don't have the proper permissions to delete this object.");
    expect((await api(`/api/jobConfigurations/${id}?fields=id`, { auth: plain })).status).toBe(200);
    expect((await api(`/api/jobConfigurations?fields=id`, { auth: plain })).status).toBe(200);
    expect((await api(`/api/jobConfigurations/jobTypes`, { auth: plain })).status).toBe(200);

    // 404 comes before 403 for an unknown job.
    expect((await api(`/api/jobConfigurations/abcdefghij1`, { method: "DELETE", auth: plain })).status).toBe(404);
    expect(
      (
        await api(`/api/jobConfigurations/${id}`, {
          method: "PUT",
          body: { name: "by scheduler", cronExpression: "0 0 3 ? * *" },
          auth: admin,
        })
      ).status,
    ).toBe(200);
    expect((await api(`/api/jobConfigurations/${id}`, { method: "DELETE", auth: admin })).status).toBe(200);
  });

  it("401 without credentials", async () => {
    expect((await api("/api/jobConfigurations", { auth: null })).status).toBe(401);
    expect((await api("/api/jobConfigurations", { method: "POST", body: {}, auth: null })).status).toBe(401);
    expect((await api("/api/jobConfigurations/jobTypes", { auth: null })).status).toBe(401);
  });
});

describe("concurrency", () => {
  it("100 parallel creates with one name create exactly one job", async () => {
    const name = uniqueName("race");
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        create({ name, jobType: "DATA_INTEGRITY", cronExpression: `${i % 60} ${Math.floor(i / 60)} 4 ? * *` }),
      ),
    );
    const statuses = results.map((r) => r.res.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(99);
    const winner = results.find((x) => x.res.status === 201)!.body.response.uid;
    for (const r of results.filter((x) => x.res.status === 409)) {
      expect(r.body.response.errorReports.map((e: any) => e.errorCode)).toEqual(["E5003"]);
      expect(r.body.response.errorReports[0].message).toMatch(new RegExp(`already exists on object ${winner}$`));
    }
    const count = await env.DB.prepare(`SELECT COUNT(*) AS n FROM job_configurations WHERE name = ?`).bind(name).first<{ n: number }>();
    expect(count!.n).toBe(1);
  });

  it("version increments on every update", async () => {
    const id = await createOk({ name: uniqueName(), jobType: "RESOURCE_TABLE", cronExpression: "0 0 5 ? * *" });
    for (let i = 0; i < 3; i++) {
      expect(
        (await api(`/api/jobConfigurations/${id}`, { method: "PUT", body: { name: `v${i}`, cronExpression: "0 0 5 ? * *" } })).status,
      ).toBe(200);
    }
    expect((await api(`/api/jobConfigurations/${id}`, { method: "PATCH", body: { enabled: false } })).status).toBe(204);
    expect((await row(id)).version).toBe(5);
  });
});
