/**
 * Job parameters as DHIS2 2.42 reads and stores them: the parameter tests of
 * dhis-2/dhis-test-web-api/src/test/java/org/hisp/dhis/webapi/controller/JobConfigurationControllerTest.java,
 * ported as written (every job is named `test`, as there), then the question of issue 13 asked of every
 * list parameter: is an id that is not a UID refused? Only where DHIS2's parameters class checks it
 * (MonitoringJobParameters.validationRuleGroups → E4014); every other object reference is stored as sent.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { manualClock, setClock } from "../../src/http/clock";
import { api, json } from "../helpers";
import { cleanupJobs, create } from "./support";

const T0 = Date.UTC(2026, 2, 2, 10, 0, 0);
// DHIS2's test constants: deliberately not UIDs (14 and 17 characters).
const UID1 = "asdflksadfjlkj";
const UID2 = "kajshdfkjahsdkfhj";

beforeEach(() => setClock(manualClock(T0)));
afterEach(async () => {
  await cleanupJobs();
  setClock(null);
});

async function post(body: Record<string, unknown>): Promise<string> {
  const { res, body: msg } = await create(body);
  expect(res.status, JSON.stringify(msg)).toBe(201);
  return msg.response.uid;
}

/** DHIS2's `assertJobConfigurationExists`: the job reads back as created; returns its parameters. */
async function assertJobConfigurationExists(jobId: string, expectedJobType: string): Promise<any> {
  const res = await api(`/api/jobConfigurations/${jobId}`);
  expect(res.status).toBe(200);
  const config = await json(res);
  expect(config.id).toBe(jobId);
  expect(config.name).toBe("test");
  expect(config.jobStatus).toBe("SCHEDULED");
  expect(config.enabled).toBe(true);
  expect(config.jobType).toBe(expectedJobType);
  return config.jobParameters;
}

describe("JobConfigurationControllerTest (DHIS2 2.42): parameters", () => {
  it("testANALYTICS_TABLE: skipPrograms that are not UIDs are kept", async () => {
    const jobId = await post({
      name: "test",
      jobType: "ANALYTICS_TABLE",
      cronExpression: "0 0 3 ? * *",
      jobParameters: {
        lastYears: "1",
        skipTableTypes: ["DATA_VALUE", "COMPLETENESS", "ENROLLMENT"],
        skipPrograms: [UID1, UID2],
        skipResourceTables: true,
      },
    });
    const parameters = await assertJobConfigurationExists(jobId, "ANALYTICS_TABLE");
    expect(parameters.lastYears).toBe(1);
    expect(parameters.skipResourceTables).toBe(true);
    expect([...parameters.skipTableTypes].sort()).toEqual(["COMPLETENESS", "DATA_VALUE", "ENROLLMENT"]);
    expect([...parameters.skipPrograms].sort()).toEqual([UID1, UID2]);
  });

  it("testCONTINUOUS_ANALYTICS_TABLE", async () => {
    const types = ["DATA_VALUE", "COMPLETENESS", "COMPLETENESS_TARGET", "ORG_UNIT_TARGET", "VALIDATION_RESULT", "EVENT", "ENROLLMENT"];
    const jobId = await post({
      name: "test",
      jobType: "CONTINUOUS_ANALYTICS_TABLE",
      delay: "1",
      jobParameters: { fullUpdateHourOfDay: "1", lastYears: "2", skipTableTypes: types },
    });
    const parameters = await assertJobConfigurationExists(jobId, "CONTINUOUS_ANALYTICS_TABLE");
    expect(parameters.fullUpdateHourOfDay).toBe(1);
    expect(parameters.lastYears).toBe(2);
    expect([...parameters.skipTableTypes].sort()).toEqual([...types].sort());
  });

  it("testDISABLE_INACTIVE_USERS", async () => {
    const jobId = await post({
      name: "test",
      jobType: "DISABLE_INACTIVE_USERS",
      cronExpression: "0 0 1 ? * *",
      jobParameters: { inactiveMonths: "3" },
    });
    expect((await assertJobConfigurationExists(jobId, "DISABLE_INACTIVE_USERS")).inactiveMonths).toBe(3);
  });

  it("testDATA_INTEGRITY: parameters exist without being sent", async () => {
    const jobId = await post({ name: "test", jobType: "DATA_INTEGRITY", cronExpression: "0 0 12 ? * MON-FRI" });
    expect(await assertJobConfigurationExists(jobId, "DATA_INTEGRITY")).toBeDefined();
  });

  it("testRESOURCE_TABLE and testPROGRAM_NOTIFICATIONS: no parameters", async () => {
    const rt = await post({ name: "test", jobType: "RESOURCE_TABLE", cronExpression: "0 0 3 ? * MON" });
    expect(await assertJobConfigurationExists(rt, "RESOURCE_TABLE")).toBeUndefined();
    await cleanupJobs();
    const pn = await post({ name: "test", jobType: "PROGRAM_NOTIFICATIONS", cronExpression: "0 0 1 ? * *" });
    expect(await assertJobConfigurationExists(pn, "PROGRAM_NOTIFICATIONS")).toBeUndefined();
  });

  it("testMONITORING", async () => {
    const jobId = await post({
      name: "test",
      jobType: "MONITORING",
      cronExpression: "0 0 12 ? * MON-FRI",
      jobParameters: { relativeStart: "1", relativeEnd: "2", validationRuleGroups: [], sendNotifications: true, persistResults: true },
    });
    const parameters = await assertJobConfigurationExists(jobId, "MONITORING");
    expect(parameters).toMatchObject({ relativeStart: 1, relativeEnd: 2, sendNotifications: true, persistResults: true });
    expect(parameters.validationRuleGroups).toEqual([]);
  });

  it("testMATERIALIZED_SQL_VIEW_UPDATE", async () => {
    const jobId = await post({
      name: "test",
      jobType: "MATERIALIZED_SQL_VIEW_UPDATE",
      cronExpression: "0 0 12 ? * MON-FRI",
      jobParameters: { sqlViews: ["u0123456789"] },
    });
    expect((await assertJobConfigurationExists(jobId, "MATERIALIZED_SQL_VIEW_UPDATE")).sqlViews[0]).toBe("u0123456789");
  });

  it("testHTML_PUSH_ANALYTICS", async () => {
    const jobId = await post({
      name: "test",
      jobType: "HTML_PUSH_ANALYTICS",
      jobParameters: { dashboard: "nghVC4wtyzi", receivers: "wl5cDMuUhmF", mode: "EXECUTOR" },
      cronExpression: "0 0 1 ? * *",
    });
    const parameters = await assertJobConfigurationExists(jobId, "HTML_PUSH_ANALYTICS");
    expect(parameters).toEqual({ dashboard: "nghVC4wtyzi", receivers: "wl5cDMuUhmF", mode: "EXECUTOR" });
  });

  it("testLOCK_EXCEPTION_CLEANUP", async () => {
    const jobId = await post({
      name: "test",
      jobType: "LOCK_EXCEPTION_CLEANUP",
      cronExpression: "0 0 12 ? * MON-FRI",
      jobParameters: { expiresAfterMonths: "3" },
    });
    expect((await assertJobConfigurationExists(jobId, "LOCK_EXCEPTION_CLEANUP")).expiresAfterMonths).toBe(3);
  });
});

describe("object ids in every list (and reference) parameter", () => {
  // Each parameter naming DHIS2 objects, with ids that are not UIDs: stored as sent (DHIS2 2.42's
  // parameters classes have no UID check for them).
  const cases: [string, Record<string, unknown>, Record<string, unknown>][] = [
    ["ANALYTICS_TABLE", { skipPrograms: ["program-one", UID2] }, { skipPrograms: ["program-one", UID2] }],
    ["PREDICTOR", { predictors: ["p1", "p 2"], predictorGroups: [UID1] }, { predictors: ["p1", "p 2"], predictorGroups: [UID1] }],
    ["MATERIALIZED_SQL_VIEW_UPDATE", { sqlViews: ["my_view"] }, { sqlViews: ["my_view"] }],
    ["AGGREGATE_DATA_EXCHANGE", { dataExchangeIds: ["exchange-1"] }, { dataExchangeIds: ["exchange-1"] }],
    [
      "HTML_PUSH_ANALYTICS",
      { dashboard: "dash", receivers: "group", mode: "RECEIVER" },
      { dashboard: "dash", receivers: "group", mode: "RECEIVER" },
    ],
    ["PUSH_ANALYSIS", { pushAnalysis: [UID1] }, { pushAnalysis: [UID1] }],
  ];
  for (const [jobType, sent, stored] of cases) {
    it(`${jobType}: ${Object.keys(sent).join(", ")} accept ids that are not UIDs (201, stored as sent)`, async () => {
      const jobId = await post({ name: "test", jobType, cronExpression: "0 0 4 ? * *", jobParameters: sent });
      expect(await assertJobConfigurationExists(jobId, jobType)).toMatchObject(stored);
    });
  }

  it("MONITORING keeps DHIS2's check: a validation rule group that is not a UID is E4014", async () => {
    const { res, body } = await create({
      name: "test",
      jobType: "MONITORING",
      cronExpression: "0 0 4 ? * *",
      jobParameters: { validationRuleGroups: ["abcGroup0001", UID1] },
    });
    expect(res.status).toBe(409);
    expect(body.response.errorReports).toEqual([
      {
        message: `Invalid UID \`abcGroup0001\` for property \`validationRuleGroups\``,
        mainKlass: "org.hisp.dhis.scheduling.parameters.MonitoringJobParameters",
        errorProperty: "validationRuleGroups",
        errorProperties: ["abcGroup0001", "validationRuleGroups"],
        errorCode: "E4014",
        args: ["abcGroup0001", "validationRuleGroups"],
      },
    ]);
  });

  it("PUSH_ANALYSIS keeps DHIS2's rule for an empty list (E4014 naming `[]`)", async () => {
    const { res, body } = await create({ name: "test", jobType: "PUSH_ANALYSIS", cronExpression: "0 0 4 ? * *", jobParameters: {} });
    expect(res.status).toBe(409);
    expect(body.response.errorReports.map((e: any) => [e.errorCode, e.message])).toEqual([
      ["E4014", "Invalid UID `[]` for property `pushAnalysis`"],
    ]);
  });
});
