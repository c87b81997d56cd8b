/** Older name of TRACKED_ENTITY_DATA_SYNC (before 2.42). */
import { defineJobType } from "./define";

export const TRACKER_PROGRAMS_DATA_SYNC = defineJobType({
  jobType: "TRACKER_PROGRAMS_DATA_SYNC",
  kind: "legacy",
  key: "trackerProgramsDataSyncJob",
  description: "Older name of TRACKED_ENTITY_DATA_SYNC (before 2.42).",
});
