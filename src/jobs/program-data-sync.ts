/** Older task category: program data synchronisation. */
import { defineJobType } from "./define";

export const PROGRAM_DATA_SYNC = defineJobType({
  jobType: "PROGRAM_DATA_SYNC",
  kind: "legacy",
  description: "Older task category: program data synchronisation.",
});
