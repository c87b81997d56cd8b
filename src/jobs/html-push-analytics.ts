/** Sends a dashboard as an HTML e-mail to a user group. */
import { defineJobType } from "./define";
import { defineParameters } from "./params";

const parameters = defineParameters({
  klass: "HtmlPushAnalyticsJobParameters",
  specs: [
    { name: "dashboard", type: "String", required: true, endpoint: "/api/dashboards" },
    { name: "receivers", type: "String", required: true, endpoint: "/api/userGroups" },
    {
      name: "mode",
      type: "enum",
      klass: "org.hisp.dhis.scheduling.parameters.HtmlPushAnalyticsJobParameters$ViewMode",
      constants: ["EXECUTOR", "RECEIVER"],
      required: true,
    },
  ],
});

export const HTML_PUSH_ANALYTICS = defineJobType({
  jobType: "HTML_PUSH_ANALYTICS",
  kind: "configurable",
  executedByCreator: true,
  description: "Sends a dashboard as an HTML e-mail to a user group.",
  parameters,
});
