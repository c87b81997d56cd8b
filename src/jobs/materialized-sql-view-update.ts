/** Refreshes materialized SQL views. */
import { defineJobType } from "./define";
import { defineParameters } from "./params";

const parameters = defineParameters({
  klass: "SqlViewUpdateParameters",
  specs: [{ name: "sqlViews", type: "List", item: "String", default: [] }],
});

export const MATERIALIZED_SQL_VIEW_UPDATE = defineJobType({
  jobType: "MATERIALIZED_SQL_VIEW_UPDATE",
  kind: "configurable",
  description: "Refreshes materialized SQL views.",
  parameters,
});
