/** Imports GML geometries asynchronously. */
import { defineJobType } from "./define";

export const GML_IMPORT = defineJobType({
  jobType: "GML_IMPORT",
  kind: "programmatic",
  description: "Imports GML geometries asynchronously.",
});
