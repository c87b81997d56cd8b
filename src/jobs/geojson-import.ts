/** Imports GeoJSON geometries asynchronously. */
import { defineJobType } from "./define";

export const GEOJSON_IMPORT = defineJobType({
  jobType: "GEOJSON_IMPORT",
  kind: "programmatic",
  notifies: true,
  continuousExecution: true,
  description: "Imports GeoJSON geometries asynchronously.",
});
