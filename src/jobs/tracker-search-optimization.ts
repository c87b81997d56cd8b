/** Older name of TRACKER_TRIGRAM_INDEX_MAINTENANCE (2.38 to 2.41). */
import { defineJobType } from "./define";

export const TRACKER_SEARCH_OPTIMIZATION = defineJobType({
  jobType: "TRACKER_SEARCH_OPTIMIZATION",
  kind: "legacy",
  description: "Older name of TRACKER_TRIGRAM_INDEX_MAINTENANCE (2.38 to 2.41).",
});
