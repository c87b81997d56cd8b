/** Older task category: asynchronous enrollment import. */
import { defineJobType } from "./define";

export const ENROLLMENT_IMPORT = defineJobType({
  jobType: "ENROLLMENT_IMPORT",
  kind: "legacy",
  description: "Older task category: asynchronous enrollment import.",
});
