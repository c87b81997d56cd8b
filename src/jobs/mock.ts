/** A mock job used by tests. */
import { defineJobType } from "./define";
import { defineParameters } from "./params";

const parameters = defineParameters({
  klass: "MockJobParameters",
  specs: [{ name: "message", type: "String" }],
});

export const MOCK = defineJobType({
  jobType: "MOCK",
  kind: "programmatic",
  key: "mockJob",
  description: "A mock job used by tests.",
  parameters,
});
