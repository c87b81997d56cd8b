/** Runs data integrity checks and keeps their details. */
import { defineJobType } from "./define";
import { defineParameters } from "./params";

const parameters = defineParameters({
  klass: "DataIntegrityDetailsJobParameters",
  specs: [{ name: "checks", type: "Set", item: "String", endpoint: "/api/dataIntegrity" }],
});

export const DATA_INTEGRITY_DETAILS = defineJobType({
  jobType: "DATA_INTEGRITY_DETAILS",
  kind: "configurable",
  continuousExecution: true,
  description: "Runs data integrity checks and keeps their details.",
  parameters,
});
