/** Imports data values asynchronously (internal). */
import { defineJobType } from "./define";

export const DATAVALUE_IMPORT_INTERNAL = defineJobType({
  jobType: "DATAVALUE_IMPORT_INTERNAL",
  kind: "programmatic",
  description: "Imports data values asynchronously (internal).",
});
