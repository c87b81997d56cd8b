/** Collects usage statistics. */
import { defineJobType } from "./define";

export const DATA_STATISTICS = defineJobType({
  jobType: "DATA_STATISTICS",
  kind: "system",
  key: "dataStatisticsJob",
  defaults: { uid: "BFa3jDsbtdO", name: "Data statistics", cronExpression: "0 0 2 ? * *" },
  description: "Collects usage statistics.",
});
