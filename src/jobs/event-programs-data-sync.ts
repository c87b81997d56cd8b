/** Older name of SINGLE_EVENT_DATA_SYNC (before 2.42). */
import { defineJobType } from "./define";

export const EVENT_PROGRAMS_DATA_SYNC = defineJobType({
  jobType: "EVENT_PROGRAMS_DATA_SYNC",
  kind: "legacy",
  key: "eventProgramsDataSyncJob",
  description: "Older name of SINGLE_EVENT_DATA_SYNC (before 2.42).",
});
