/** Pushes single-event program data to the remote server. */
import { defineJobType } from "./define";
import { defineParameters } from "./params";

const parameters = defineParameters({
  klass: "SingleEventDataSynchronizationJobParameters",
  specs: [{ name: "pageSize", type: "int", default: 60, min: 5, max: 200 }],
});

export const SINGLE_EVENT_DATA_SYNC = defineJobType({
  jobType: "SINGLE_EVENT_DATA_SYNC",
  kind: "configurable",
  notifies: true,
  executedByCreator: true,
  description: "Pushes single-event program data to the remote server.",
  parameters,
});
