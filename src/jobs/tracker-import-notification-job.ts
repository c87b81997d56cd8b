/** Sends tracker import notifications. */
import { defineJobType } from "./define";

export const TRACKER_IMPORT_NOTIFICATION_JOB = defineJobType({
  jobType: "TRACKER_IMPORT_NOTIFICATION_JOB",
  kind: "programmatic",
  key: "trackerImportNotificationJob",
  description: "Sends tracker import notifications.",
});
