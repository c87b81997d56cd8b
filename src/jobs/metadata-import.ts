/** Imports metadata asynchronously. */
import { defineJobType } from "./define";

export const METADATA_IMPORT = defineJobType({
  jobType: "METADATA_IMPORT",
  kind: "programmatic",
  notifies: true,
  errorNotification: true,
  continuousExecution: true,
  description: "Imports metadata asynchronously.",
});
