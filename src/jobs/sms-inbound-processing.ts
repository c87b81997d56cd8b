/** Processes an inbound SMS. */
import { defineJobType } from "./define";

export const SMS_INBOUND_PROCESSING = defineJobType({
  jobType: "SMS_INBOUND_PROCESSING",
  kind: "programmatic",
  continuousExecution: true,
  description: "Processes an inbound SMS.",
});
