/** Older Kafka tracker import category (2.30). */
import { defineJobType } from "./define";

export const KAFKA_TRACKER = defineJobType({
  jobType: "KAFKA_TRACKER",
  kind: "legacy",
  key: "kafkaTrackerJob",
  description: "Older Kafka tracker import category (2.30).",
});
