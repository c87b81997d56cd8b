/** Pushes tracked entity program data to the remote server. */
import { defineJobType } from "./define";
import { defineParameters } from "./params";

const parameters = defineParameters({
  klass: "TrackerDataSynchronizationJobParameters",
  specs: [{ name: "pageSize", type: "int", default: 60, min: 5, max: 200 }],
});

export const TRACKED_ENTITY_DATA_SYNC = defineJobType({
  jobType: "TRACKED_ENTITY_DATA_SYNC",
  kind: "configurable",
  notifies: true,
  executedByCreator: true,
  description: "Pushes tracked entity program data to the remote server.",
  parameters,
});
