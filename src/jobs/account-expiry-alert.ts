/** Warns users whose account is about to expire. */
import { defineJobType } from "./define";

export const ACCOUNT_EXPIRY_ALERT = defineJobType({
  jobType: "ACCOUNT_EXPIRY_ALERT",
  kind: "system",
  defaults: { uid: "fUWM1At1TUx", name: "User account expiry alert", cronExpression: "0 0 2 ? * *" },
  description: "Warns users whose account is about to expire.",
});
