/** Regenerates the resource tables. */
import { defineJobType } from "./define";

export const RESOURCE_TABLE = defineJobType({
  jobType: "RESOURCE_TABLE",
  kind: "configurable",
  notifies: true,
  description: "Regenerates the resource tables.",
});
