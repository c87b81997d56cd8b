/** Updates the latest analytics partition continuously, with a full update once a day. */
import { defineJobType } from "./define";
import { ANALYTICS_TABLE_TYPES } from "./constants";
import { defineParameters } from "./params";

const parameters = defineParameters({
  klass: "ContinuousAnalyticsJobParameters",
  specs: [
    { name: "fullUpdateHourOfDay", type: "Integer", default: 0, min: 0, max: 23 },
    { name: "lastYears", type: "Integer", min: 0, max: 1000 },
    {
      name: "skipTableTypes",
      type: "Set",
      item: { klass: "org.hisp.dhis.analytics.AnalyticsTableType", constants: ANALYTICS_TABLE_TYPES },
      default: [],
      endpoint: "/api/analytics/tableTypes",
    },
    { name: "skipOutliers", type: "Boolean", default: false },
  ],
});

export const CONTINUOUS_ANALYTICS_TABLE = defineJobType({
  jobType: "CONTINUOUS_ANALYTICS_TABLE",
  kind: "configurable",
  schedulingType: "FIXED_DELAY",
  notifies: true,
  description: "Updates the latest analytics partition continuously, with a full update once a day.",
  parameters,
});
