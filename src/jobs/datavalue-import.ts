/** Imports data values asynchronously. */
import { defineJobType } from "./define";

export const DATAVALUE_IMPORT = defineJobType({
  jobType: "DATAVALUE_IMPORT",
  kind: "programmatic",
  notifies: true,
  errorNotification: true,
  description: "Imports data values asynchronously.",
});
