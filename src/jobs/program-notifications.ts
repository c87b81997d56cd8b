/** Sends scheduled program notifications. */
import { defineJobType } from "./define";

export const PROGRAM_NOTIFICATIONS = defineJobType({
  jobType: "PROGRAM_NOTIFICATIONS",
  kind: "configurable",
  errorNotification: true,
  description: "Sends scheduled program notifications.",
});
