/** Sends push analysis reports (replaced by HTML push analytics in 2.42). */
import { defineJobType } from "./define";
import { defineParameters } from "./params";

const parameters = defineParameters({
  klass: "PushAnalysisJobParameters",
  specs: [{ name: "pushAnalysis", type: "List", item: "String", default: [], endpoint: "/api/pushAnalysis" }],
  // DHIS2 reports an empty list as an invalid UID (E4014), not as a missing property.
  validate: (value, ctx) => {
    const list = value.pushAnalysis as string[] | undefined;
    return !list || list.length === 0 ? [ctx.invalidUid("pushAnalysis", list ?? [])] : [];
  },
});

export const PUSH_ANALYSIS = defineJobType({
  jobType: "PUSH_ANALYSIS",
  kind: "configurable",
  notifies: true,
  description: "Sends push analysis reports (replaced by HTML push analytics in 2.42).",
  parameters,
});
