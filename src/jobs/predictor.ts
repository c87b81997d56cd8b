/** Runs predictors. */
import { defineJobType } from "./define";
import { defineParameters } from "./params";

const parameters = defineParameters({
  klass: "PredictorJobParameters",
  specs: [
    { name: "relativeStart", type: "int" },
    { name: "relativeEnd", type: "int" },
    { name: "predictors", type: "List", item: "String", default: [], endpoint: "/api/predictors" },
    { name: "predictorGroups", type: "List", item: "String", default: [], endpoint: "/api/predictorGroups" },
  ],
});

export const PREDICTOR = defineJobType({
  jobType: "PREDICTOR",
  kind: "configurable",
  notifies: true,
  description: "Runs predictors.",
  parameters,
});
