/** Older cluster leader renewal job. */
import { defineJobType } from "./define";

export const LEADER_RENEWAL = defineJobType({
  jobType: "LEADER_RENEWAL",
  kind: "legacy",
  key: "leaderRenewalJob",
  description: "Older cluster leader renewal job.",
});
