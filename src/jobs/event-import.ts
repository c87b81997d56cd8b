/** Older task category: asynchronous event import. */
import { defineJobType } from "./define";

export const EVENT_IMPORT = defineJobType({
  jobType: "EVENT_IMPORT",
  kind: "legacy",
  description: "Older task category: asynchronous event import.",
});
