/** Removes expired data set lock exceptions. */
import { defineJobType } from "./define";
import { defineParameters } from "./params";

const parameters = defineParameters({
  klass: "LockExceptionCleanupJobParameters",
  specs: [{ name: "expiresAfterMonths", type: "Integer", min: 1, max: 12 }],
});

export const LOCK_EXCEPTION_CLEANUP = defineJobType({
  jobType: "LOCK_EXCEPTION_CLEANUP",
  kind: "configurable",
  description: "Removes expired data set lock exceptions.",
  parameters,
});
