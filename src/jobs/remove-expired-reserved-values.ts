/** Older name of REMOVE_USED_OR_EXPIRED_RESERVED_VALUES (before 2.37). */
import { defineJobType } from "./define";

export const REMOVE_EXPIRED_RESERVED_VALUES = defineJobType({
  jobType: "REMOVE_EXPIRED_RESERVED_VALUES",
  kind: "legacy",
  description: "Older name of REMOVE_USED_OR_EXPIRED_RESERVED_VALUES (before 2.37).",
});
