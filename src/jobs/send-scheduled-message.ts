/** Sends scheduled program messages. */
import { defineJobType } from "./define";

export const SEND_SCHEDULED_MESSAGE = defineJobType({
  jobType: "SEND_SCHEDULED_MESSAGE",
  kind: "configurable",
  notifies: true,
  description: "Sends scheduled program messages.",
});
