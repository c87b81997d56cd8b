/** Imports tracker data asynchronously. */
import { defineJobType } from "./define";

export const TRACKER_IMPORT_JOB = defineJobType({
  jobType: "TRACKER_IMPORT_JOB",
  kind: "programmatic",
  key: "trackerImportJob",
  notifies: true,
  continuousExecution: true,
  description: "Imports tracker data asynchronously.",
});
