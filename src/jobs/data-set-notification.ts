/** Sends data set completion notifications. */
import { defineJobType } from "./define";

export const DATA_SET_NOTIFICATION = defineJobType({
  jobType: "DATA_SET_NOTIFICATION",
  kind: "system",
  key: "dataSetNotificationJob",
  notifies: true,
  errorNotification: true,
  defaults: { uid: "YvAwAmrqAtN", name: "Dataset notification", cronExpression: "0 0 2 ? * *" },
  description: "Sends data set completion notifications.",
});
