/** Checks for a newer software version (the seeded cron picks a random time between 3 and 5 am). */
import { defineJobType } from "./define";

export const SYSTEM_VERSION_UPDATE_CHECK = defineJobType({
  jobType: "SYSTEM_VERSION_UPDATE_CHECK",
  kind: "system",
  notifies: true,
  errorNotification: true,
  defaults: { uid: "vt21671bgno", name: "System version update check notification", cronExpression: "0 0 4 ? * *" },
  description: "Checks for a newer software version (the seeded cron picks a random time between 3 and 5 am).",
});
