/** Maintains the trigram indexes of searchable tracked entity attributes. */
import { defineJobType } from "./define";
import { defineParameters } from "./params";

const parameters = defineParameters({
  klass: "TrackerTrigramIndexJobParameters",
  specs: [{ name: "runAnalyze", type: "boolean" }],
});

export const TRACKER_TRIGRAM_INDEX_MAINTENANCE = defineJobType({
  jobType: "TRACKER_TRIGRAM_INDEX_MAINTENANCE",
  kind: "configurable",
  description: "Maintains the trigram indexes of searchable tracked entity attributes.",
  parameters,
});
