/** Regenerates the analytics tables. */
import { defineJobType } from "./define";
import { ANALYTICS_TABLE_TYPES } from "./constants";
import { defineParameters } from "./params";

const parameters = defineParameters({
  klass: "AnalyticsJobParameters",
  specs: [
    { name: "lastYears", type: "Integer", min: 0, max: 1000 },
    {
      name: "skipTableTypes",
      type: "Set",
      item: { klass: "org.hisp.dhis.analytics.AnalyticsTableType", constants: ANALYTICS_TABLE_TYPES },
      default: [],
      endpoint: "/api/analytics/tableTypes",
    },
    { name: "skipPrograms", type: "Set", item: "String", default: [], endpoint: "/api/programs" },
    { name: "skipResourceTables", type: "boolean" },
    { name: "skipOutliers", type: "boolean" },
  ],
});

export const ANALYTICS_TABLE = defineJobType({
  jobType: "ANALYTICS_TABLE",
  kind: "configurable",
  notifies: true,
  errorNotification: true,
  description: "Regenerates the analytics tables.",
  parameters,
});
