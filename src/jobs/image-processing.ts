/** Creates resized copies of uploaded images. */
import { defineJobType } from "./define";

export const IMAGE_PROCESSING = defineJobType({
  jobType: "IMAGE_PROCESSING",
  kind: "programmatic",
  key: "imageProcessingJob",
  description: "Creates resized copies of uploaded images.",
});
