/** Exact bodies real clients send: the DHIS2 Scheduler app (numbers as strings) and the spec's examples. */
import { afterAll, describe, expect, it } from "vitest";
import { CONFIGURABLE_JOB_TYPE_NAMES } from "../../src/jobs/registry";
import { api, json } from "../helpers";
import { cleanupJobs, create, getJob, row } from "./support";

afterAll(cleanupJobs);

const S5_FIELDS = "created,configurable,cronExpression,delay,id,jobParameters,jobType,lastExecuted,lastExecutedStatus,name";

// What the Scheduler app's form submits (use-submit-job.js): number inputs are strings, no `enabled`.
const SCHEDULER_BODIES: {
  body: Record<string, unknown>;
  params?: Record<string, unknown>;
  update: Record<string, unknown>;
  updatedParams?: Record<string, unknown>;
}[] = [
  {
    body: {
      name: "App disable users",
      jobType: "DISABLE_INACTIVE_USERS",
      cronExpression: "0 0 2 ? * *",
      jobParameters: { inactiveMonths: "3", reminderDaysBefore: "7" },
    },
    params: { inactiveMonths: 3, reminderDaysBefore: 7 },
    update: {
      name: "App disable users",
      jobType: "DISABLE_INACTIVE_USERS",
      cronExpression: "0 0 3 ? * *",
      jobParameters: { inactiveMonths: "6", reminderDaysBefore: "" },
    },
    updatedParams: { inactiveMonths: 6 },
  },
  {
    body: { name: "App data sync", jobType: "DATA_SYNC", cronExpression: "0 0 12 ? * MON-FRI", jobParameters: { pageSize: "200" } },
    params: { pageSize: 200 },
    update: { name: "App data sync", jobType: "DATA_SYNC", cronExpression: "0 0 12 ? * MON-FRI", jobParameters: { pageSize: "300" } },
    updatedParams: { pageSize: 300 },
  },
  {
    body: {
      name: "App continuous",
      jobType: "CONTINUOUS_ANALYTICS_TABLE",
      delay: "600",
      jobParameters: { fullUpdateHourOfDay: "3", lastYears: "2", skipTableTypes: ["EVENT", "ENROLLMENT"] },
    },
    params: { fullUpdateHourOfDay: 3, lastYears: 2, skipTableTypes: ["EVENT", "ENROLLMENT"], skipOutliers: false },
    update: {
      name: "App continuous",
      jobType: "CONTINUOUS_ANALYTICS_TABLE",
      delay: "900",
      jobParameters: { fullUpdateHourOfDay: "4", skipTableTypes: [] },
    },
    updatedParams: { fullUpdateHourOfDay: 4, skipTableTypes: [], skipOutliers: false },
  },
  {
    body: {
      name: "App monitoring",
      jobType: "MONITORING",
      cronExpression: "0 0 3 ? * MON",
      jobParameters: {
        relativeStart: "-7",
        relativeEnd: "0",
        validationRuleGroups: ["jtcMAKhWwnc"],
        sendNotifications: true,
        persistResults: false,
      },
    },
    params: { relativeStart: -7, relativeEnd: 0, validationRuleGroups: ["jtcMAKhWwnc"], sendNotifications: true, persistResults: false },
    update: {
      name: "App monitoring",
      jobType: "MONITORING",
      cronExpression: "0 0 3 ? * MON",
      jobParameters: { relativeStart: "-14", relativeEnd: "-1", validationRuleGroups: [], sendNotifications: false, persistResults: true },
    },
    updatedParams: { relativeStart: -14, relativeEnd: -1, validationRuleGroups: [], sendNotifications: false, persistResults: true },
  },
  {
    body: {
      name: "App html push",
      jobType: "HTML_PUSH_ANALYTICS",
      cronExpression: "0 0 8 ? * MON",
      jobParameters: { dashboard: "iMnYyBfSxmM", receivers: "Kk12LkEWtXp", mode: "EXECUTOR" },
    },
    params: { dashboard: "iMnYyBfSxmM", receivers: "Kk12LkEWtXp", mode: "EXECUTOR" },
    update: {
      name: "App html push",
      jobType: "HTML_PUSH_ANALYTICS",
      cronExpression: "0 0 9 ? * MON",
      jobParameters: { dashboard: "iMnYyBfSxmM", receivers: "Kk12LkEWtXp", mode: "RECEIVER" },
    },
    updatedParams: { dashboard: "iMnYyBfSxmM", receivers: "Kk12LkEWtXp", mode: "RECEIVER" },
  },
  {
    body: {
      name: "App predictor",
      jobType: "PREDICTOR",
      cronExpression: "0 0 4 ? * *",
      jobParameters: { relativeStart: "-3", relativeEnd: "0", predictors: ["AbcDef12345"], predictorGroups: [] },
    },
    params: { relativeStart: -3, relativeEnd: 0, predictors: ["AbcDef12345"], predictorGroups: [] },
    update: {
      name: "App predictor renamed",
      jobType: "PREDICTOR",
      cronExpression: "0 0 4 ? * *",
      jobParameters: { relativeStart: "-3", relativeEnd: "0", predictors: [], predictorGroups: ["AbcDef12346"] },
    },
    updatedParams: { relativeStart: -3, relativeEnd: 0, predictors: [], predictorGroups: ["AbcDef12346"] },
  },
  {
    body: {
      name: "App integrity",
      jobType: "DATA_INTEGRITY",
      cronExpression: "0 0 1 ? * *",
      jobParameters: { type: "SUMMARY", checks: ["orgunits_invalid_geometry"] },
    },
    params: { type: "SUMMARY", checks: ["orgunits_invalid_geometry"] },
    update: { name: "App integrity", jobType: "DATA_INTEGRITY", cronExpression: "0 0 1 ? * *", jobParameters: { type: "DETAILS" } },
    updatedParams: { type: "DETAILS" },
  },
  {
    body: {
      name: "App test job",
      jobType: "TEST",
      cronExpression: "0 0 0 ? * *",
      jobParameters: {
        waitMillis: "100",
        stages: "2",
        items: "3",
        itemDuration: "10",
        failWithPolicy: "SKIP_ITEM",
        failWithException: false,
        runStagesParallel: false,
      },
    },
    params: {
      waitMillis: 100,
      stages: 2,
      items: 3,
      itemDuration: 10,
      failWithException: false,
      failWithPostCondition: false,
      failWithPolicy: "SKIP_ITEM",
      runStagesParallel: false,
    },
    update: { name: "App test job", jobType: "TEST", cronExpression: "0 0 0 ? * *", jobParameters: { waitMillis: "200" } },
    updatedParams: { waitMillis: 200, failWithException: false, failWithPostCondition: false, runStagesParallel: false },
  },
  {
    body: { name: "App resource tables", jobType: "RESOURCE_TABLE", cronExpression: "0 0 3 ? * *" },
    update: { name: "App resource tables", jobType: "RESOURCE_TABLE", cronExpression: "0 30 3 ? * *" },
  },
  {
    body: {
      name: "App lock exceptions",
      jobType: "LOCK_EXCEPTION_CLEANUP",
      cronExpression: "0 0 5 1 * ?",
      jobParameters: { expiresAfterMonths: "6" },
    },
    params: { expiresAfterMonths: 6 },
    update: {
      name: "App lock exceptions",
      jobType: "LOCK_EXCEPTION_CLEANUP",
      cronExpression: "0 0 5 1 * ?",
      jobParameters: { expiresAfterMonths: "12" },
    },
    updatedParams: { expiresAfterMonths: 12 },
  },
];

describe("DHIS2 Scheduler app round trip", () => {
  for (const c of SCHEDULER_BODIES) {
    it(`${c.body.jobType}: create, read (S5 fields), update, delete`, async () => {
      const { res, body } = await create(c.body);
      expect(res.status, JSON.stringify(body)).toBe(201);
      const id = body.response.uid;
      const read = await getJob(id, S5_FIELDS);
      expect(read.id).toBe(id);
      expect(read.name).toBe(c.body.name);
      expect(read.jobType).toBe(c.body.jobType);
      expect(read.configurable).toBe(true);
      expect(read.lastExecutedStatus).toBe("NOT_STARTED");
      expect(read.created).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}$/);
      expect(read.jobParameters).toEqual(c.params);
      if (c.body.delay) expect(read.delay).toBe(Number(c.body.delay));
      else expect(read.cronExpression).toBe(c.body.cronExpression);

      const put = await api(`/api/41/jobConfigurations/${id}`, { method: "PUT", body: c.update });
      expect(put.status, JSON.stringify(await put.clone().json())).toBe(200);
      const after = await getJob(id, S5_FIELDS);
      expect(after.jobParameters).toEqual(c.updatedParams);
      expect(after.name).toBe(c.update.name);
      expect((await row(id)).enabled).toBe(1);

      const del = await api(`/api/41/jobConfigurations/${id}`, { method: "DELETE" });
      expect(del.status).toBe(200);
    });
  }

  it("the app's error mapping: errorProperty on each report", async () => {
    const { res, body } = await create({
      name: "",
      jobType: "DISABLE_INACTIVE_USERS",
      cronExpression: "bad",
      jobParameters: { inactiveMonths: "0" },
    });
    expect(res.status).toBe(409);
    expect(body.response.errorReports.map((e: any) => e.errorProperty)).toEqual(["name", "cronExpression", "inactiveMonths"]);
  });

  it("jobTypes as the app reads it (fields=*&paging=false ignored)", async () => {
    const res = await api("/api/41/jobConfigurations/jobTypes?fields=*&paging=false");
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.jobTypes.map((t: any) => t.jobType)).toEqual(CONFIGURABLE_JOB_TYPE_NAMES);
    for (const t of body.jobTypes) {
      expect(Object.keys(t)).toEqual(["name", "jobType", "key", "schedulingType", "jobParameters"]);
      expect(["CRON", "FIXED_DELAY"]).toContain(t.schedulingType);
      for (const p of t.jobParameters) {
        expect(typeof p.name).toBe("string");
        expect(typeof p.fieldName).toBe("string");
        expect(typeof p.klass).toBe("string");
      }
    }
    const html = body.jobTypes.find((t: any) => t.jobType === "HTML_PUSH_ANALYTICS");
    expect(html.jobParameters.find((p: any) => p.name === "mode").constants).toEqual(["EXECUTOR", "RECEIVER"]);
    const test = body.jobTypes.find((t: any) => t.jobType === "TEST");
    expect(test.jobParameters.find((p: any) => p.name === "failWithPolicy").constants).toBeDefined();
    const inactive = body.jobTypes.find((t: any) => t.jobType === "DISABLE_INACTIVE_USERS");
    expect(inactive.jobParameters[0]).toMatchObject({
      name: "inactiveMonths",
      fieldName: "Inactive months",
      klass: "java.lang.Integer",
      required: true,
      collection: false,
    });
  });
});

describe("tool-user-disabler", () => {
  it("creates its job and finds it with its filter", async () => {
    const { res } = await create({
      name: "Disable inactive users (tool)",
      jobType: "DISABLE_INACTIVE_USERS",
      schedulingType: "CRON",
      cronExpression: "0 0 1 ? * *",
      jobParameters: { inactiveMonths: 6, reminderDaysBefore: 7 },
      enabled: true,
    });
    expect(res.status).toBe(201);
    const list = await json(
      await api("/api/41/jobConfigurations?fields=id,name,enabled&filter=jobType:eq:DISABLE_INACTIVE_USERS&paging=false"),
    );
    expect(list.jobConfigurations).toEqual([{ id: expect.any(String), name: "Disable inactive users (tool)", enabled: true }]);
  });
});

describe("the spec's examples", () => {
  it("lists job types with name, jobType, key and schedulingType", async () => {
    const body = await json(await api("/api/jobConfigurations/jobTypes"));
    const pick = (t: string) => body.jobTypes.find((x: any) => x.jobType === t);
    expect(pick("DATA_INTEGRITY")).toMatchObject({
      name: "Data integrity",
      jobType: "DATA_INTEGRITY",
      key: "dataIntegrityJob",
      schedulingType: "CRON",
    });
    expect(pick("RESOURCE_TABLE")).toEqual({
      name: "Resource table",
      jobType: "RESOURCE_TABLE",
      key: "resourceTableJob",
      schedulingType: "CRON",
      jobParameters: [],
    });
    expect(pick("CONTINUOUS_ANALYTICS_TABLE")).toMatchObject({
      name: "Continuous analytics table",
      key: "continuousAnalyticsTableJob",
      schedulingType: "FIXED_DELAY",
    });
    expect(body.jobTypes.find((x: any) => x.jobType === "HOUSEKEEPING")).toBeUndefined();
  });

  it("jobTypesExtended maps each configurable type to its parameters", async () => {
    const body = await json(await api("/api/jobConfigurations/jobTypesExtended"));
    expect(Object.keys(body)).toEqual(CONFIGURABLE_JOB_TYPE_NAMES);
    expect(body.RESOURCE_TABLE).toEqual({});
    expect(Object.keys(body.ANALYTICS_TABLE)).toEqual([
      "lastYears",
      "skipTableTypes",
      "skipPrograms",
      "skipResourceTables",
      "skipOutliers",
    ]);
    expect(body.ANALYTICS_TABLE.skipTableTypes).toMatchObject({
      name: "skipTableTypes",
      klass: "java.util.Set",
      relativeApiEndpoint: "/api/analytics/tableTypes",
    });
  });

  it("accepts the analytics table example exactly as written", async () => {
    const { res, body } = await create({
      name: "Analytics tables last two years",
      jobType: "ANALYTICS_TABLE",
      cronExpression: "0 * * ? * *",
      jobParameters: { lastYears: "2", skipTableTypes: [], skipResourceTables: false },
    });
    expect(res.status).toBe(201);
    const j = await getJob(body.response.uid);
    expect(j).toMatchObject({
      name: "Analytics tables last two years",
      jobType: "ANALYTICS_TABLE",
      cronExpression: "0 * * ? * *",
      schedulingType: "CRON",
      jobStatus: "SCHEDULED",
    });
    expect(j.jobParameters).toMatchObject({ lastYears: 2, skipTableTypes: [], skipResourceTables: false });
  });

  it("accepts the push analysis example exactly as written", async () => {
    const text = `{
   "name": "Push anlysis charts",
   "jobType": "PUSH_ANALYSIS",
   "cronExpression": "0 * * ? * *",
   "jobParameters": {
     "pushAnalysis": [
       "jtcMAKhWwnc"
     ]
    }
 }`;
    const res = await api("/api/jobConfigurations", { method: "POST", body: text });
    expect(res.status).toBe(201);
    const j = await getJob((await json(res)).response.uid, "name,jobType,jobParameters");
    expect(j).toEqual({ name: "Push anlysis charts", jobType: "PUSH_ANALYSIS", jobParameters: { pushAnalysis: ["jtcMAKhWwnc"] } });
  });

  it("accepts the FIXED_DELAY example exactly as written", async () => {
    const { res, body } = await create({
      name: "Continuous analytics table",
      jobType: "CONTINUOUS_ANALYTICS_TABLE",
      delay: "120",
      jobParameters: { fullUpdateHourOfDay: 4 },
    });
    expect(res.status).toBe(201);
    const j = await getJob(body.response.uid, "schedulingType,delay,jobStatus,jobParameters,nextExecutionTime,maxDelayedExecutionTime");
    expect(j).toMatchObject({
      schedulingType: "FIXED_DELAY",
      delay: 120,
      jobStatus: "SCHEDULED",
      jobParameters: { fullUpdateHourOfDay: 4, skipTableTypes: [], skipOutliers: false },
    });
    expect(j.maxDelayedExecutionTime).toBeUndefined();
  });

  it("the GET payload carries the spec's members", async () => {
    const { body } = await create({
      name: "analytics spec view",
      jobType: "ANALYTICS_TABLE",
      cronExpression: "0 0 3 ? * MON",
      jobParameters: { lastYears: "2", skipTableTypes: [], skipResourceTables: false },
    });
    const j = await getJob(body.response.uid);
    for (const k of [
      "lastUpdated",
      "id",
      "href",
      "created",
      "name",
      "jobStatus",
      "displayName",
      "enabled",
      "externalAccess",
      "jobType",
      "nextExecutionTime",
      "cronExpression",
      "jobParameters",
      "favorite",
      "configurable",
      "access",
      "lastUpdatedBy",
      "favorites",
      "translations",
      "userGroupAccesses",
      "attributeValues",
      "userAccesses",
    ]) {
      expect(j[k], k).toBeDefined();
    }
  });
});
