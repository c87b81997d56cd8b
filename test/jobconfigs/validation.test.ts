import { afterAll, describe, expect, it } from "vitest";
import { api, json } from "../helpers";
import { cleanupJobs, create, createOk, KLASS, row, uniqueName } from "./support";

afterAll(cleanupJobs);

const reports = (body: any) => body.response.errorReports as any[];
const codes = (body: any) => reports(body).map((e) => e.errorCode);

describe("create validation: one 409 ObjectReport with every error", () => {
  it("collects all errors of one request", async () => {
    const { res, body } = await create({ jobType: "DATA_SYNC", cronExpression: "0 1 ? * *", jobParameters: { pageSize: 10 } });
    expect(res.status).toBe(409);
    expect(res.headers.get("Cache-Control")).toBe("no-cache, private");
    expect(body).toMatchObject({
      httpStatus: "Conflict",
      httpStatusCode: 409,
      status: "ERROR",
      message: "One or more errors occurred, please see full details in import report.",
      response: { responseType: "ObjectReport", klass: KLASS },
    });
    expect(body.response.uid).toMatch(/^[a-zA-Z][a-zA-Z0-9]{10}$/);
    expect(codes(body)).toEqual(["E4000", "E7005", "E4008"]);
    expect(reports(body)[0]).toEqual({
      message: "Missing required property `name`",
      mainKlass: KLASS,
      errorProperty: "name",
      errorProperties: ["name"],
      errorCode: "E4000",
      args: ["name"],
    });
    expect(reports(body)[1]).toMatchObject({
      message: 'Cron expression is invalid: `Cron expression must consist of 6 fields (found 5 in "0 1 ? * *")`',
      errorProperty: "cronExpression",
    });
    expect(reports(body)[2]).toMatchObject({
      message: "Allowed range for numeric property `pageSize` is [50 to 30,000], but number given was 10",
      mainKlass: "org.hisp.dhis.scheduling.parameters.DataSynchronizationJobParameters",
    });
  });

  it("E4000 for an empty name, E4001 for a name over 230 characters", async () => {
    expect(codes((await create({ name: "", jobType: "RESOURCE_TABLE", cronExpression: "0 0 1 ? * *" })).body)).toEqual(["E4000"]);
    const long = await create({ name: "x".repeat(231), jobType: "RESOURCE_TABLE", cronExpression: "0 0 1 ? * *" });
    expect(reports(long.body)[0]).toMatchObject({ errorCode: "E4001", errorProperty: "name", args: ["name", "230", "231"] });
    expect((await create({ name: "y".repeat(230), jobType: "RESOURCE_TABLE", cronExpression: "0 1 1 ? * *" })).res.status).toBe(201);
  });

  it("E5003 for a duplicate name", async () => {
    const name = uniqueName("dup");
    const first = await createOk({ name, jobType: "RESOURCE_TABLE", cronExpression: "0 2 1 ? * *" });
    const { res, body } = await create({ name, jobType: "RESOURCE_TABLE", cronExpression: "0 3 1 ? * *" });
    expect(res.status).toBe(409);
    expect(reports(body)[0]).toMatchObject({ errorCode: "E5003", errorProperty: "name" });
    expect(reports(body)[0].message).toBe(
      `Property \`name\` with value \`${name}\` on object ${name} [${body.response.uid}] (JobConfiguration) already exists on object ${first}`,
    );
  });

  it("E7000 for the same type with the same cron, not for another type", async () => {
    await createOk({ name: uniqueName(), jobType: "PROGRAM_NOTIFICATIONS", cronExpression: "0 0 6 ? * MON-FRI" });
    const same = await create({ name: uniqueName(), jobType: "PROGRAM_NOTIFICATIONS", cronExpression: "0 0 6 ? * MON-FRI" });
    expect(reports(same.body)[0]).toMatchObject({
      errorCode: "E7000",
      message: "Job of same type already scheduled with cron expression: `0 0 6 ? * MON-FRI`",
    });
    expect((await create({ name: uniqueName(), jobType: "SEND_SCHEDULED_MESSAGE", cronExpression: "0 0 6 ? * MON-FRI" })).res.status).toBe(
      201,
    );
  });

  it("E7004 when CRON has no cron, E7007 when FIXED_DELAY has no delay", async () => {
    const cron = await create({ id: "aaaaaaaaaa1", name: uniqueName(), jobType: "RESOURCE_TABLE", schedulingType: "CRON" });
    expect(reports(cron.body)[0]).toMatchObject({
      errorCode: "E7004",
      message: "Cron expression must be not null for job with scheduling type CRON: `aaaaaaaaaa1`",
      errorProperty: "cronExpression",
    });
    const delay = await create({
      id: "aaaaaaaaaa2",
      name: uniqueName(),
      jobType: "CONTINUOUS_ANALYTICS_TABLE",
      schedulingType: "FIXED_DELAY",
      cronExpression: "",
    });
    expect(reports(delay.body)[0]).toMatchObject({
      errorCode: "E7007",
      message: "Delay must be not null for job with scheduling type FIXED_DELAY: `aaaaaaaaaa2`",
      errorProperty: "delay",
    });
  });

  it("E7005 with Spring's message for bad crons; accepts Spring's dialect", async () => {
    for (const bad of ["0 0 25 * * *", "* * * * *", "0 0 0 * * * 2024", "0 0 0 ? * FOO", "@every"]) {
      const { res, body } = await create({ name: uniqueName(), jobType: "RESOURCE_TABLE", cronExpression: bad });
      expect(res.status, bad).toBe(409);
      expect(codes(body), bad).toEqual(["E7005"]);
      expect(reports(body)[0].message.startsWith("Cron expression is invalid: `")).toBe(true);
    }
    for (const ok of [
      "0 0 12 ? * MON-FRI",
      "0 0 0 L * ?",
      "0 0 0 LW * ?",
      "0 0 0 ? * 5#2",
      "0 0 0 ? * 6L",
      "@daily",
      "0 15 10 15W * ?",
      "*/30 * * * * *",
      "0 0 0 1 JAN ?",
    ]) {
      const { res, body } = await create({ name: uniqueName(), jobType: "DATA_INTEGRITY_DETAILS", cronExpression: ok });
      expect(res.status, `${ok}: ${JSON.stringify(body)}`).toBe(201);
    }
  });

  it("a delay must be a positive whole number of seconds", async () => {
    for (const bad of [0, -5, "0"]) {
      const { body } = await create({ name: uniqueName(), jobType: "CONTINUOUS_ANALYTICS_TABLE", delay: bad });
      expect(reports(body)[0]).toMatchObject({
        errorCode: "E4008",
        errorProperty: "delay",
        args: ["delay", "1", "2147483647", String(Number(bad))],
      });
    }
    for (const bad of [1.5, "abc", "12s", true]) {
      const { body } = await create({ name: uniqueName(), jobType: "CONTINUOUS_ANALYTICS_TABLE", delay: bad });
      expect(reports(body)[0]).toMatchObject({ errorCode: "E1003", errorProperty: "delay" });
    }
    const big = await create({ name: uniqueName(), jobType: "CONTINUOUS_ANALYTICS_TABLE", delay: 2 ** 31 });
    expect(codes(big.body)).toEqual(["E4008"]);
    // Java's MessageFormat groups thousands in the message; `args` keep the plain numbers.
    expect(reports(big.body)[0].message).toBe(
      "Allowed range for numeric property `delay` is [1 to 2,147,483,647], but number given was 2,147,483,648",
    );
    expect(reports(big.body)[0].args).toEqual(["delay", "1", "2147483647", "2147483648"]);
    const id = await createOk({ name: uniqueName(), jobType: "CONTINUOUS_ANALYTICS_TABLE", delay: "120" });
    expect((await row(id)).delay).toBe(120);
  });

  it("non-configurable types: 409 E1004 'must be configurable'", async () => {
    for (const jobType of ["HOUSEKEEPING", "MOCK", "EVENT_IMPORT", "METADATA_IMPORT", "ANALYTICSTABLE_UPDATE"]) {
      const { res, body } = await create({ name: "Not mine", jobType, cronExpression: "0 0 1 ? * *" });
      expect(res.status).toBe(409);
      expect(body).toEqual({
        httpStatus: "Conflict",
        httpStatusCode: 409,
        status: "ERROR",
        errorCode: "E1004",
        message: "Job Not mine must be configurable but was not.",
      });
    }
  });

  it("unknown or missing jobType: 409 naming the valid values", async () => {
    const unknown = await create({ name: uniqueName(), jobType: "FOO", cronExpression: "0 0 1 ? * *" });
    expect(unknown.res.status).toBe(409);
    expect(reports(unknown.body)[0]).toMatchObject({ errorProperty: "jobType" });
    expect(reports(unknown.body)[0].message).toMatch(
      /^Unknown job type `FOO`\. Valid values are: \[DATA_INTEGRITY, DATA_INTEGRITY_DETAILS, RESOURCE_TABLE, .*LOCK_EXCEPTION_CLEANUP\]$/,
    );
    const missing = await create({ name: uniqueName(), cronExpression: "0 0 1 ? * *" });
    expect(reports(missing.body)[0]).toMatchObject({ errorCode: "E4000", errorProperty: "jobType" });
    expect(reports(missing.body)[0].message).toContain("Valid values are: [DATA_INTEGRITY,");
    const notString = await create({ name: uniqueName(), jobType: 12, cronExpression: "0 0 1 ? * *" });
    expect(codes(notString.body)).toEqual(["E1003"]);
  });

  it("per-type parameter rules: E4000, E4008, E4014", async () => {
    const dex = await create({ name: uniqueName(), jobType: "AGGREGATE_DATA_EXCHANGE", cronExpression: "0 0 2 ? * *" });
    expect(reports(dex.body)[0]).toMatchObject({ errorCode: "E4000", message: "Missing required property `dataExchangeIds`" });
    const inactive = await create({
      name: uniqueName(),
      jobType: "DISABLE_INACTIVE_USERS",
      cronExpression: "0 0 2 ? * *",
      jobParameters: { inactiveMonths: "30" },
    });
    expect(reports(inactive.body)[0]).toMatchObject({
      errorCode: "E4008",
      message: "Allowed range for numeric property `inactiveMonths` is [1 to 24], but number given was 30",
    });
    const mon = await create({
      name: uniqueName(),
      jobType: "MONITORING",
      cronExpression: "0 0 2 ? * *",
      jobParameters: { validationRuleGroups: ["abc"] },
    });
    expect(reports(mon.body)[0]).toMatchObject({ errorCode: "E4014", message: "Invalid UID `abc` for property `validationRuleGroups`" });
    const html = await create({
      name: uniqueName(),
      jobType: "HTML_PUSH_ANALYTICS",
      cronExpression: "0 0 2 ? * *",
      jobParameters: { dashboard: "jtcMAKhWwnc", mode: "SOMETIMES" },
    });
    expect(reports(html.body).map((e: any) => [e.errorCode, e.errorProperty])).toEqual([["E1003", "mode"]]);
    const wrongShape = await create({
      name: uniqueName(),
      jobType: "DATA_SYNC",
      cronExpression: "0 0 2 ? * *",
      jobParameters: "pageSize=100",
    });
    expect(codes(wrongShape.body)).toEqual(["E1003"]);
  });

  it("bad member types and bad ids are reported, not 500", async () => {
    const { res, body } = await create({
      id: "bad id",
      name: { x: 1 },
      jobType: "RESOURCE_TABLE",
      cronExpression: ["0 0 1 ? * *"],
      enabled: "yes",
      executedBy: "nobody",
    });
    expect(res.status).toBe(409);
    expect(reports(body).map((e: any) => e.errorProperty)).toEqual(["id", "name", "cronExpression", "executedBy", "enabled"]);
  });

  it("400 for malformed JSON, non-object bodies; 413 for huge bodies", async () => {
    expect((await create("{")).res.status).toBe(400);
    expect((await create("[]")).res.status).toBe(400);
    expect((await create("")).res.status).toBe(400);
    const huge = await api("/api/jobConfigurations", { method: "POST", body: JSON.stringify({ name: "x".repeat(2 * 1024 * 1024) }) });
    expect(huge.status).toBe(413);
  });

  it("ignores unknown and read-only members on create", async () => {
    const id = await createOk({
      name: uniqueName(),
      jobType: "RESOURCE_TABLE",
      cronExpression: "0 0 3 ? * SUN",
      jobStatus: "RUNNING",
      lastExecuted: "2020-01-01T00:00:00.000",
      lastExecutedStatus: "FAILED",
      queueName: "sneaky",
      queuePosition: 1,
      system: true,
      configurable: false,
      whatever: { a: 1 },
    });
    expect(await row(id)).toMatchObject({
      job_status: "SCHEDULED",
      last_executed: null,
      last_executed_status: "NOT_STARTED",
      queue_name: null,
      queue_position: null,
      system: 0,
    });
  });
});

describe("JSON quirks (Jackson-like input)", () => {
  it("treats empty strings as absent and numeric strings as numbers", async () => {
    const id = await createOk({
      name: uniqueName(),
      jobType: "CONTINUOUS_ANALYTICS_TABLE",
      cronExpression: "",
      delay: "300",
      jobParameters: { fullUpdateHourOfDay: "2", lastYears: "" },
    });
    const r = await row(id);
    expect(r).toMatchObject({ cron_expression: null, delay: 300, scheduling_type: "FIXED_DELAY" });
    expect(JSON.parse(r.job_parameters)).toEqual({ fullUpdateHourOfDay: 2, skipTableTypes: [], skipOutliers: false });
  });

  it("returns 409 with the body's reports intact through the ObjectReport (no stack traces)", async () => {
    const res = await api("/api/jobConfigurations", {
      method: "POST",
      body: { name: uniqueName(), jobType: "TEST", cronExpression: "0 0 1 ? * *", jobParameters: { waitMillis: "x" } },
    });
    const body = await json(res);
    expect(res.status).toBe(409);
    expect(JSON.stringify(body)).not.toMatch(/at \w+ \(/);
  });
});
