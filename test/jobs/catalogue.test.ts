import { describe, expect, it } from "vitest";
import {
  ALL_JOB_TYPES,
  CONFIGURABLE_JOB_TYPE_NAMES,
  findJobType,
  getJobType,
  jobTypeInfo,
  jobTypeTraits,
  SYSTEM_JOBS,
  TASK_CATEGORIES,
} from "../../src/jobs/registry";

describe("job type catalogue", () => {
  it("lists the 2.42 configurable types in enum order", () => {
    expect(CONFIGURABLE_JOB_TYPE_NAMES).toEqual([
      "DATA_INTEGRITY",
      "DATA_INTEGRITY_DETAILS",
      "RESOURCE_TABLE",
      "ANALYTICS_TABLE",
      "CONTINUOUS_ANALYTICS_TABLE",
      "DATA_SYNC",
      "SINGLE_EVENT_DATA_SYNC",
      "TRACKED_ENTITY_DATA_SYNC",
      "META_DATA_SYNC",
      "AGGREGATE_DATA_EXCHANGE",
      "SEND_SCHEDULED_MESSAGE",
      "PROGRAM_NOTIFICATIONS",
      "MONITORING",
      "PUSH_ANALYSIS",
      "HTML_PUSH_ANALYTICS",
      "TRACKER_TRIGRAM_INDEX_MAINTENANCE",
      "PREDICTOR",
      "MATERIALIZED_SQL_VIEW_UPDATE",
      "DISABLE_INACTIVE_USERS",
      "TEST",
      "LOCK_EXCEPTION_CLEANUP",
    ]);
  });

  it("knows every task category the spec names", () => {
    for (const c of [
      "EVENT_IMPORT",
      "DATA_STATISTICS",
      "RESOURCE_TABLE",
      "FILE_RESOURCE_CLEANUP",
      "METADATA_IMPORT",
      "CREDENTIALS_EXPIRY_ALERT",
      "SMS_SEND",
      "MOCK",
      "ANALYTICSTABLE_UPDATE",
      "COMPLETE_DATA_SET_REGISTRATION_IMPORT",
      "DATAVALUE_IMPORT",
      "DATA_SET_NOTIFICATION",
      "DATA_INTEGRITY",
      "PUSH_ANALYSIS",
      "MONITORING",
      "VALIDATION_RESULTS_NOTIFICATION",
      "REMOVE_EXPIRED_RESERVED_VALUES",
      "DATA_SYNC",
      "SEND_SCHEDULED_MESSAGE",
      "DATAVALUE_IMPORT_INTERNAL",
      "PROGRAM_NOTIFICATIONS",
      "META_DATA_SYNC",
      "ANALYTICS_TABLE",
      "PREDICTOR",
      "GEOJSON_IMPORT",
      "GML_IMPORT",
      "TEI_IMPORT",
      "HOUSEKEEPING",
    ]) {
      expect(ALL_JOB_TYPES).toContain(c);
    }
    expect(TASK_CATEGORIES).toBe(ALL_JOB_TYPES);
    expect(new Set(ALL_JOB_TYPES).size).toBe(ALL_JOB_TYPES.length);
    for (const c of ["MOCK", "EVENT_IMPORT", "ANALYTICSTABLE_UPDATE", "REMOVE_EXPIRED_RESERVED_VALUES", "HOUSEKEEPING"]) {
      expect(getJobType(c)?.configurable).toBe(false);
    }
  });

  it("declares DHIS2 names, keys and scheduling types", () => {
    expect(jobTypeInfo(getJobType("DATA_INTEGRITY")!)).toMatchObject({
      name: "Data integrity",
      jobType: "DATA_INTEGRITY",
      key: "dataIntegrityJob",
      schedulingType: "CRON",
    });
    expect(getJobType("RESOURCE_TABLE")).toMatchObject({ name: "Resource table", key: "resourceTableJob" });
    expect(getJobType("CONTINUOUS_ANALYTICS_TABLE")).toMatchObject({ key: "continuousAnalyticsTableJob", schedulingType: "FIXED_DELAY" });
    expect(getJobType("HTML_PUSH_ANALYTICS")?.name).toBe("Html push analytics");
    expect(getJobType("META_DATA_SYNC")?.key).toBe("metadataSyncJob");
    expect(findJobType("data_integrity")?.jobType).toBe("DATA_INTEGRITY");
    expect(findJobType("nope")).toBeUndefined();
  });

  it("exposes scheduling traits", () => {
    expect(jobTypeTraits("TEST")).toMatchObject({ configurable: true, independentRuns: true, system: false });
    expect(jobTypeTraits("HOUSEKEEPING")).toMatchObject({ configurable: false, system: true });
    for (const t of [
      "HTML_PUSH_ANALYTICS",
      "AGGREGATE_DATA_EXCHANGE",
      "META_DATA_SYNC",
      "SINGLE_EVENT_DATA_SYNC",
      "TRACKED_ENTITY_DATA_SYNC",
    ]) {
      expect(jobTypeTraits(t).executedByCreator).toBe(true);
    }
    expect(jobTypeTraits("DATA_SYNC").executedByCreator).toBe(false);
    expect(jobTypeTraits("ANALYTICS_TABLE").notifies).toBe(true);
    expect(jobTypeTraits("DATA_INTEGRITY").notifies).toBe(false);
    expect(jobTypeTraits("UNKNOWN").configurable).toBe(false);
  });

  it("seeds DHIS2's system jobs with fixed UIDs", () => {
    const byType = Object.fromEntries(SYSTEM_JOBS.map((j) => [j.jobType, j]));
    expect(byType.HOUSEKEEPING).toEqual({ jobType: "HOUSEKEEPING", uid: "DHIS2rocks1", name: "Housekeeping", delay: 20 });
    expect(byType.DATA_SET_NOTIFICATION).toMatchObject({ uid: "YvAwAmrqAtN", name: "Dataset notification", cronExpression: "0 0 2 ? * *" });
    expect(byType.VALIDATION_RESULTS_NOTIFICATION).toMatchObject({ uid: "Js3vHn2AVuG", cronExpression: "0 0 7 ? * *" });
    expect(byType.SYSTEM_VERSION_UPDATE_CHECK.uid).toBe("vt21671bgno");
  });
});

describe("job parameters", () => {
  const parse = (type: string, raw: unknown) => getJobType(type)!.parameters!.parse(raw);

  it("reads the spec's analytics body leniently and fills defaults", () => {
    const r = parse("ANALYTICS_TABLE", { lastYears: "2", skipTableTypes: [], skipResourceTables: false });
    expect(r.errors).toEqual([]);
    expect(r.value).toEqual({ lastYears: 2, skipTableTypes: [], skipPrograms: [], skipResourceTables: false, skipOutliers: false });
  });

  it("treats empty strings as absent and coerces booleans", () => {
    const r = parse("ANALYTICS_TABLE", { lastYears: "", skipResourceTables: "true", skipTableTypes: ["event", "EVENT"] });
    expect(r.errors).toEqual([]);
    expect(r.value).toEqual({ skipTableTypes: ["EVENT"], skipPrograms: [], skipResourceTables: true, skipOutliers: false });
  });

  it("reports ranges with E4008", () => {
    const r = parse("DATA_SYNC", { pageSize: "10" });
    expect(r.errors).toEqual([
      {
        message: "Allowed range for numeric property `pageSize` is [50 to 30,000], but number given was 10",
        mainKlass: "org.hisp.dhis.scheduling.parameters.DataSynchronizationJobParameters",
        errorProperty: "pageSize",
        errorProperties: ["pageSize", 50, 30000, 10],
        errorCode: "E4008",
        args: ["pageSize", "50", "30000", "10"],
      },
    ]);
  });

  it("requires inactiveMonths in 1..24", () => {
    expect(parse("DISABLE_INACTIVE_USERS", undefined).errors.map((e) => e.errorCode)).toEqual(["E4008"]);
    expect(parse("DISABLE_INACTIVE_USERS", { inactiveMonths: "3", reminderDaysBefore: "2" })).toEqual({
      value: { inactiveMonths: 3, reminderDaysBefore: 2 },
      errors: [],
    });
    expect(parse("DISABLE_INACTIVE_USERS", { inactiveMonths: 3, reminderDaysBefore: 29 }).errors[0].message).toBe(
      "Allowed range for numeric property `reminderDaysBefore` is [1 to 28], but number given was 29",
    );
  });

  it("checks UIDs with E4014 and required lists with E4000", () => {
    expect(parse("MONITORING", { validationRuleGroups: ["bad"] }).errors[0]).toMatchObject({
      errorCode: "E4014",
      message: "Invalid UID `bad` for property `validationRuleGroups`",
    });
    expect(parse("AGGREGATE_DATA_EXCHANGE", {}).errors[0]).toMatchObject({
      errorCode: "E4000",
      message: "Missing required property `dataExchangeIds`",
    });
    expect(parse("PUSH_ANALYSIS", { pushAnalysis: ["jtcMAKhWwnc"] })).toEqual({ value: { pushAnalysis: ["jtcMAKhWwnc"] }, errors: [] });
    expect(parse("PUSH_ANALYSIS", {}).errors[0]).toMatchObject({
      errorCode: "E4014",
      message: "Invalid UID `[]` for property `pushAnalysis`",
    });
    const html = parse("HTML_PUSH_ANALYTICS", {});
    expect(html.errors.map((e) => e.args)).toEqual([["dashboard"], ["receivers"], ["mode"]]);
    expect(parse("HTML_PUSH_ANALYTICS", { dashboard: "jtcMAKhWwnc", receivers: "jtcMAKhWwnd", mode: "executor" })).toEqual({
      value: { dashboard: "jtcMAKhWwnc", receivers: "jtcMAKhWwnd", mode: "EXECUTOR" },
      errors: [],
    });
  });

  it("rejects values of the wrong type", () => {
    const r = parse("CONTINUOUS_ANALYTICS_TABLE", { fullUpdateHourOfDay: "four", skipTableTypes: ["NOPE"] });
    expect(r.errors.map((e) => [e.errorCode, e.errorProperty])).toEqual([
      ["E1003", "fullUpdateHourOfDay"],
      ["E1003", "skipTableTypes"],
    ]);
    expect(parse("CONTINUOUS_ANALYTICS_TABLE", { fullUpdateHourOfDay: 24 }).errors[0].errorCode).toBe("E4008");
    expect(parse("CONTINUOUS_ANALYTICS_TABLE", { fullUpdateHourOfDay: 4 })).toEqual({
      value: { fullUpdateHourOfDay: 4, skipTableTypes: [], skipOutliers: false },
      errors: [],
    });
    expect(parse("DATA_SYNC", [1]).errors[0].errorCode).toBe("E1003");
    expect(parse("DATA_SYNC", { pageSize: 1.5 }).errors[0].errorCode).toBe("E1003");
  });

  it("describes parameters as DHIS2 Properties", () => {
    const props = getJobType("ANALYTICS_TABLE")!.parameters!.properties;
    expect(props.map((p) => p.name)).toEqual(["lastYears", "skipTableTypes", "skipPrograms", "skipResourceTables", "skipOutliers"]);
    expect(props[1]).toMatchObject({
      name: "skipTableTypes",
      fieldName: "Skip table types",
      klass: "java.util.Set",
      itemKlass: "org.hisp.dhis.analytics.AnalyticsTableType",
      collection: true,
      required: false,
      defaultValue: [],
      relativeApiEndpoint: "/api/analytics/tableTypes",
    });
    expect(props[1].constants?.[0]).toBe("DATA_VALUE");
    expect(props[0]).toMatchObject({ fieldName: "Last years", klass: "java.lang.Integer", collection: false });
    expect(props[0].defaultValue).toBeUndefined();
    expect(props[3]).toMatchObject({ klass: "java.lang.Boolean", defaultValue: false });
    const md = getJobType("META_DATA_SYNC")!.parameters!.properties[0];
    expect(md).toMatchObject({ name: "dataValuesPageSize", fieldName: "Data values page size", defaultValue: 10000 });
    const mode = getJobType("HTML_PUSH_ANALYTICS")!.parameters!.properties[2];
    expect(mode).toMatchObject({ required: true, constants: ["EXECUTOR", "RECEIVER"] });
    const policy = getJobType("TEST")!.parameters!.properties.find((p) => p.name === "failWithPolicy");
    expect(policy?.constants).toEqual(["PARENT", "FAIL", "SKIP_STAGE", "SKIP_ITEM", "SKIP_ITEM_OUTLIER"]);
  });
});
