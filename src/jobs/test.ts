/** A test job with configurable stages, items, durations and failures. */
import { defineJobType } from "./define";
import { defineParameters } from "./params";

const parameters = defineParameters({
  klass: "TestJobParameters",
  specs: [
    // Caps beyond DHIS2's: a test job must not be able to occupy the worker for hours.
    { name: "waitMillis", type: "Long", min: 0, max: 3_600_000 },
    { name: "stages", type: "Integer", min: 0, max: 1000 },
    { name: "failAtStage", type: "Integer" },
    { name: "items", type: "Integer", min: 0, max: 10_000 },
    { name: "failAtItem", type: "Integer" },
    { name: "itemDuration", type: "Long", min: 0, max: 3_600_000 },
    { name: "failWithMessage", type: "String", maxLength: 1024 },
    { name: "failWithException", type: "boolean" },
    { name: "failWithPostCondition", type: "boolean" },
    {
      name: "failWithPolicy",
      type: "enum",
      klass: "org.hisp.dhis.scheduling.JobProgress$FailurePolicy",
      constants: ["PARENT", "FAIL", "SKIP_STAGE", "SKIP_ITEM", "SKIP_ITEM_OUTLIER"],
    },
    { name: "runStagesParallel", type: "boolean" },
  ],
});

export const TEST = defineJobType({
  jobType: "TEST",
  kind: "configurable",
  independentRuns: true,
  description: "A test job with configurable stages, items, durations and failures.",
  parameters,
});
