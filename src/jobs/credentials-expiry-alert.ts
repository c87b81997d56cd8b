/** Warns users whose password is about to expire. */
import { defineJobType } from "./define";

export const CREDENTIALS_EXPIRY_ALERT = defineJobType({
  jobType: "CREDENTIALS_EXPIRY_ALERT",
  kind: "system",
  key: "credentialsExpiryAlertJob",
  defaults: { uid: "sHMedQF7VYa", name: "Credentials expiry alert", cronExpression: "0 0 2 ? * *" },
  description: "Warns users whose password is about to expire.",
});
