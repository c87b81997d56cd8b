/** Disables users who have not logged in for a number of months. */
import { defineJobType } from "./define";
import { defineParameters } from "./params";

const parameters = defineParameters({
  klass: "DisableInactiveUsersJobParameters",
  specs: [
    { name: "inactiveMonths", type: "int", required: true, min: 1, max: 24 },
    { name: "reminderDaysBefore", type: "Integer", min: 1, max: 28 },
  ],
});

export const DISABLE_INACTIVE_USERS = defineJobType({
  jobType: "DISABLE_INACTIVE_USERS",
  kind: "configurable",
  description: "Disables users who have not logged in for a number of months.",
  parameters,
});
