/** Runs program rules after a tracker import. */
import { defineJobType } from "./define";

export const TRACKER_IMPORT_RULE_ENGINE_JOB = defineJobType({
  jobType: "TRACKER_IMPORT_RULE_ENGINE_JOB",
  kind: "programmatic",
  key: "trackerImportRuleEngineJob",
  description: "Runs program rules after a tracker import.",
});
