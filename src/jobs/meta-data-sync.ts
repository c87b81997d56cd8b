/** Pulls metadata from the remote server and pushes data. */
import { defineJobType } from "./define";
import { defineParameters } from "./params";

const parameters = defineParameters({
  klass: "MetadataSyncJobParameters",
  specs: [{ name: "dataValuesPageSize", type: "int", default: 10000, min: 50, max: 30000 }],
});

export const META_DATA_SYNC = defineJobType({
  jobType: "META_DATA_SYNC",
  kind: "configurable",
  key: "metadataSyncJob",
  executedByCreator: true,
  description: "Pulls metadata from the remote server and pushes data.",
  parameters,
});
