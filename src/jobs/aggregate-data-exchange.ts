/** Runs aggregate data exchanges. */
import { defineJobType } from "./define";
import { defineParameters } from "./params";

const parameters = defineParameters({
  klass: "AggregateDataExchangeJobParameters",
  specs: [{ name: "dataExchangeIds", type: "List", item: "String", required: true, endpoint: "/api/aggregateDataExchanges" }],
});

export const AGGREGATE_DATA_EXCHANGE = defineJobType({
  jobType: "AGGREGATE_DATA_EXCHANGE",
  kind: "configurable",
  executedByCreator: true,
  description: "Runs aggregate data exchanges.",
  parameters,
});
