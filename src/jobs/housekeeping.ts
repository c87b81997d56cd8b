/** Keeps the scheduler healthy: resets stale runs, removes finished run-once jobs, recreates system jobs. */
import { defineJobType } from "./define";

export const HOUSEKEEPING = defineJobType({
  jobType: "HOUSEKEEPING",
  kind: "system",
  defaults: { uid: "DHIS2rocks1", name: "Housekeeping", delay: 20 },
  description: "Keeps the scheduler healthy: resets stale runs, removes finished run-once jobs, recreates system jobs.",
});
