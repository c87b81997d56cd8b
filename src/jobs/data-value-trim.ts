/** Trims soft-deleted data values. */
import { defineJobType } from "./define";

export const DATA_VALUE_TRIM = defineJobType({
  jobType: "DATA_VALUE_TRIM",
  kind: "system",
  defaults: { uid: "D2datatrim8", name: "Data value trim", cronExpression: "0 0 1 ? * *" },
  description: "Trims soft-deleted data values.",
});
