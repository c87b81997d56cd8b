/** Runs data integrity checks (summary, details or the classic report). */
import { defineJobType } from "./define";
import { defineParameters } from "./params";

const parameters = defineParameters({
  klass: "DataIntegrityJobParameters",
  specs: [
    {
      name: "type",
      type: "enum",
      klass: "org.hisp.dhis.scheduling.parameters.DataIntegrityJobParameters$DataIntegrityReportType",
      constants: ["REPORT", "SUMMARY", "DETAILS"],
    },
    { name: "checks", type: "Set", item: "String", endpoint: "/api/dataIntegrity" },
  ],
});

export const DATA_INTEGRITY = defineJobType({
  jobType: "DATA_INTEGRITY",
  kind: "configurable",
  continuousExecution: true,
  description: "Runs data integrity checks (summary, details or the classic report).",
  parameters,
});
