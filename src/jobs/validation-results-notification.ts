/** Sends validation result notifications. */
import { defineJobType } from "./define";

export const VALIDATION_RESULTS_NOTIFICATION = defineJobType({
  jobType: "VALIDATION_RESULTS_NOTIFICATION",
  kind: "system",
  key: "validationResultNotificationJob",
  notifies: true,
  errorNotification: true,
  defaults: { uid: "Js3vHn2AVuG", name: "Validation result notification", cronExpression: "0 0 7 ? * *" },
  description: "Sends validation result notifications.",
});
