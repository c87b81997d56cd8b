/** Older cluster leader election job. */
import { defineJobType } from "./define";

export const LEADER_ELECTION = defineJobType({
  jobType: "LEADER_ELECTION",
  kind: "legacy",
  key: "leaderElectionJob",
  description: "Older cluster leader election job.",
});
