/** Imports complete data set registrations asynchronously. */
import { defineJobType } from "./define";

export const COMPLETE_DATA_SET_REGISTRATION_IMPORT = defineJobType({
  jobType: "COMPLETE_DATA_SET_REGISTRATION_IMPORT",
  kind: "programmatic",
  notifies: true,
  description: "Imports complete data set registrations asynchronously.",
});
