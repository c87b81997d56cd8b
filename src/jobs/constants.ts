/** Enum constants shared by several parameter classes, in DHIS2's declaration order. */

/** org.hisp.dhis.analytics.AnalyticsTableType */
export const ANALYTICS_TABLE_TYPES = [
  "DATA_VALUE",
  "COMPLETENESS",
  "COMPLETENESS_TARGET",
  "ORG_UNIT_TARGET",
  "VALIDATION_RESULT",
  "EVENT",
  "ENROLLMENT",
  "OWNERSHIP",
  "TRACKED_ENTITY_INSTANCE_EVENTS",
  "TRACKED_ENTITY_INSTANCE_ENROLLMENTS",
  "TRACKED_ENTITY_INSTANCE",
] as const;
