/** Older task category: analytics table update. */
import { defineJobType } from "./define";

export const ANALYTICSTABLE_UPDATE = defineJobType({
  jobType: "ANALYTICSTABLE_UPDATE",
  kind: "legacy",
  description: "Older task category: analytics table update.",
});
