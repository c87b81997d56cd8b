/** Older task category: asynchronous tracked entity import. */
import { defineJobType } from "./define";

export const TEI_IMPORT = defineJobType({
  jobType: "TEI_IMPORT",
  kind: "legacy",
  description: "Older task category: asynchronous tracked entity import.",
});
