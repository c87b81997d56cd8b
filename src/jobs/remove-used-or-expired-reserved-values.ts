/** Removes used or expired reserved values. */
import { defineJobType } from "./define";

export const REMOVE_USED_OR_EXPIRED_RESERVED_VALUES = defineJobType({
  jobType: "REMOVE_USED_OR_EXPIRED_RESERVED_VALUES",
  kind: "system",
  defaults: { uid: "uwWCT2BMmlq", name: "Remove expired or used reserved values", cronExpression: "0 0 2 ? * *" },
  description: "Removes used or expired reserved values.",
});
