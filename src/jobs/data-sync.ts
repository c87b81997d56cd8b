/** Pushes aggregate data values to the remote server. */
import { defineJobType } from "./define";
import { defineParameters } from "./params";

const parameters = defineParameters({
  klass: "DataSynchronizationJobParameters",
  specs: [{ name: "pageSize", type: "int", default: 10000, min: 50, max: 30000 }],
});

export const DATA_SYNC = defineJobType({
  jobType: "DATA_SYNC",
  kind: "configurable",
  notifies: true,
  description: "Pushes aggregate data values to the remote server.",
  parameters,
});
