/** Removes orphaned file resources. */
import { defineJobType } from "./define";

export const FILE_RESOURCE_CLEANUP = defineJobType({
  jobType: "FILE_RESOURCE_CLEANUP",
  kind: "system",
  key: "fileResourceCleanUpJob",
  defaults: { uid: "pd6O228pqr0", name: "File resource clean up", cronExpression: "0 0 2 ? * *" },
  description: "Removes orphaned file resources.",
});
