/** Sends an SMS to a list of recipients. */
import { defineJobType } from "./define";
import { defineParameters } from "./params";

const parameters = defineParameters({
  klass: "SmsJobParameters",
  specs: [
    { name: "smsSubject", type: "String" },
    { name: "recipientsList", type: "List", item: "String", default: [] },
    { name: "message", type: "String" },
  ],
});

export const SMS_SEND = defineJobType({
  jobType: "SMS_SEND",
  kind: "programmatic",
  key: "sendSmsJob",
  notifies: true,
  description: "Sends an SMS to a list of recipients.",
  parameters,
});
