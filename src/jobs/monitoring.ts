/** Runs validation rule analysis (monitoring). */
import { defineJobType } from "./define";
import { defineParameters } from "./params";

const parameters = defineParameters({
  klass: "MonitoringJobParameters",
  specs: [
    { name: "relativeStart", type: "int" },
    { name: "relativeEnd", type: "int" },
    { name: "validationRuleGroups", type: "List", item: "String", default: [], uid: true, endpoint: "/api/validationRuleGroups" },
    { name: "sendNotifications", type: "boolean" },
    { name: "persistResults", type: "boolean" },
  ],
});

export const MONITORING = defineJobType({
  jobType: "MONITORING",
  kind: "configurable",
  notifies: true,
  description: "Runs validation rule analysis (monitoring).",
  parameters,
});
