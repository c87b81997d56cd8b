/**
 * `GET /api/system/info` and `/api/system/context`.
 *
 * The info object is built in the order of the spec's example, so "the first seven properties"
 * (contextPath, userAgent, version, revision, buildTime, serverDate, environmentVariable) are exactly
 * what a non-superuser sees by default. SYSTEM_INFO_NON_SUPERUSER=dhis2 selects DHIS2 2.42's rule
 * instead: only the sensitive fields are removed (serverTimeZoneId, calendar, systemId… stay).
 *
 * Java/OS fields have no meaning on Workers; their analogues are `runtime` (workerd),
 * `runtimeUserAgent` (navigator.userAgent), `nodeId` (the Cloudflare colo serving the request),
 * `cpuCores` (navigator.hardwareConcurrency) and `memoryInfo` (the isolate memory limit).
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import pkg from "../../package.json";
import { currentUser } from "../users/auth";
import { clock } from "../http/clock";
import { formatDate, isValidTimeZone, parseDate, serverTimeZone } from "../http/dates";
import { applyFields, parseFields } from "../http/fields";
import { contextPath } from "../http/respond";
import type { AppEnv } from "../http/router";
import { callbackParam, COMMON_ERRORS, fieldsParam, jsonOrJsonp, SECURITY } from "./negotiate";
import { databaseFacts } from "./system-id";
import { getSetting } from "../settings/settings";

/** `2.<minor>.<patch>`: clients take the API version from the minor part. */
export const VERSION: string = pkg.version;
export const DEFAULT_REVISION = "unknown";
export const ENVIRONMENT_VARIABLE = "HRHIS4_HOME";
export const DATABASE_NAME = "hrhis4";
export const ISOLATE_MEMORY = "Isolate memory limit: 128 MB";

/** The properties a non-superuser sees under the spec's rule, in order. */
export const PUBLIC_INFO_FIELDS = [
  "contextPath",
  "userAgent",
  "version",
  "revision",
  "buildTime",
  "serverDate",
  "environmentVariable",
] as const;

/** DHIS2 2.42 `SystemInfo.withoutSensitiveInfo()`, plus this service's runtime analogues. */
export const SENSITIVE_INFO_FIELDS = [
  "jasperReportsVersion",
  "environmentVariable",
  "fileStoreProvider",
  "readOnlyMode",
  "nodeId",
  "javaVersion",
  "javaVendor",
  "javaOpts",
  "osName",
  "osArchitecture",
  "osVersion",
  "externalDirectory",
  "readReplicaCount",
  "memoryInfo",
  "cpuCores",
  "systemMonitoringUrl",
  "redisHostname",
  "clusterHostname",
  "runtime",
  "runtimeUserAgent",
] as const;

export type NonSuperuserRule = "spec" | "dhis2";

export function nonSuperuserRule(setting: string | undefined): NonSuperuserRule {
  return setting?.trim().toLowerCase() === "dhis2" ? "dhis2" : "spec";
}

export interface InfoInput {
  contextPath: string;
  userAgent?: string;
  now: number;
  timeZone: string;
  revision?: string;
  buildTime?: string;
  systemId: string;
  systemName: string;
  databaseVersion?: string;
  nodeId?: string;
  cpuCores?: number;
  runtimeUserAgent?: string;
}

/** "Coordinated Universal Time" for Etc/UTC, "Central European Standard Time" for Europe/Oslo in winter. */
const zoneNameFormats = new Map<string, Intl.DateTimeFormat>();

export function timeZoneDisplayName(timeZone: string, now: number): string {
  let f = zoneNameFormats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { timeZone, timeZoneName: "long" });
    zoneNameFormats.set(timeZone, f);
  }
  const part = f.formatToParts(new Date(now)).find((p) => p.type === "timeZoneName");
  return part?.value ?? timeZone;
}

/** The full info object (superuser view). Absent values are omitted. */
export function buildSystemInfo(input: InfoInput): Record<string, unknown> {
  const tz = input.timeZone;
  const buildMs = input.buildTime ? parseDate(input.buildTime, "Etc/UTC") : null;
  const info: Record<string, unknown> = {
    contextPath: input.contextPath,
    userAgent: input.userAgent,
    version: VERSION,
    revision: input.revision || DEFAULT_REVISION,
    buildTime: buildMs === null ? undefined : formatDate(buildMs, tz),
    serverDate: formatDate(input.now, tz),
    environmentVariable: ENVIRONMENT_VARIABLE,
    calendar: "iso8601",
    dateFormat: "yyyy-mm-dd",
    serverTimeZoneId: tz,
    serverTimeZoneDisplayName: timeZoneDisplayName(tz, input.now),
    databaseInfo: {
      type: "Cloudflare D1",
      name: DATABASE_NAME,
      databaseVersion: input.databaseVersion,
      spatialSupport: false,
      time: formatDate(input.now, tz),
    },
    runtime: "workerd",
    runtimeUserAgent: input.runtimeUserAgent,
    nodeId: input.nodeId,
    cpuCores: input.cpuCores,
    memoryInfo: ISOLATE_MEMORY,
    readReplicaCount: 0,
    emailConfigured: false,
    redisEnabled: false,
    encryption: false,
    systemId: input.systemId,
    systemName: input.systemName,
    instanceBaseUrl: input.contextPath,
    isMetadataVersionEnabled: false,
    isMetadataSyncEnabled: false,
  };
  return dropUndefined(info);
}

function dropUndefined(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v === undefined) continue;
    out[k] = v !== null && typeof v === "object" && !Array.isArray(v) ? dropUndefined(v as Record<string, unknown>) : v;
  }
  return out;
}

/** What a user without `ALL` may see, under the configured rule. */
export function restrictSystemInfo(info: Record<string, unknown>, rule: NonSuperuserRule): Record<string, unknown> {
  if (rule === "spec") {
    const out: Record<string, unknown> = {};
    for (const k of PUBLIC_INFO_FIELDS) if (info[k] !== undefined) out[k] = info[k];
    return out;
  }
  const hidden = new Set<string>(SENSITIVE_INFO_FIELDS);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(info)) {
    if (hidden.has(k)) continue;
    if (k === "redisEnabled" || k === "encryption") out[k] = false;
    else if (k === "databaseInfo" && v && typeof v === "object") {
      const { name: _n, user: _u, url: _url, databaseVersion: _dv, ...rest } = v as Record<string, unknown>;
      out[k] = rest;
    } else out[k] = v;
  }
  return out;
}

const InfoSchema = z
  .object({
    contextPath: z.string(),
    userAgent: z.string().optional(),
    version: z.string(),
    revision: z.string(),
    buildTime: z.string().optional(),
    serverDate: z.string(),
    environmentVariable: z.string().optional(),
    calendar: z.string().optional(),
    dateFormat: z.string().optional(),
    serverTimeZoneId: z.string().optional(),
    serverTimeZoneDisplayName: z.string().optional(),
    systemId: z.string().optional(),
    systemName: z.string().optional(),
  })
  .passthrough()
  .openapi("SystemInfo");

const infoRoute = createRoute({
  method: "get",
  path: "/system/info",
  summary: "System information (non-superusers see a reduced set)",
  tags: ["system"],
  security: SECURITY,
  request: { query: z.object({ fields: fieldsParam(), callback: callbackParam() }) },
  responses: {
    200: {
      description: "System info (JSON, or JSONP with `callback=`)",
      content: { "application/json": { schema: InfoSchema }, "application/javascript": { schema: z.string() } },
    },
    ...COMMON_ERRORS,
  },
});

const contextRoute = createRoute({
  method: "get",
  path: "/system/context",
  summary: "The context path and user agent of this request",
  tags: ["system"],
  security: SECURITY,
  request: { query: z.object({ callback: callbackParam() }) },
  responses: {
    200: {
      description: "Context (JSON, or JSONP with `callback=`)",
      content: {
        "application/json": { schema: z.object({ contextPath: z.string(), userAgent: z.string().optional() }) },
        "application/javascript": { schema: z.string() },
      },
    },
    ...COMMON_ERRORS,
  },
});

interface Navigatorish {
  userAgent?: string;
  hardwareConcurrency?: number;
}

/**
 * The deployed Worker version (the `version_metadata` binding): `revision` is the version's tag
 * (`npm run deploy` tags it with the git commit) or else its id; `buildTime` its upload time.
 * Under `wrangler dev` and in tests the binding describes the local version.
 */
export function buildOf(meta: WorkerVersionMetadata | undefined): { revision?: string; buildTime?: string } {
  if (!meta) return {};
  return { revision: meta.tag || meta.id || undefined, buildTime: meta.timestamp || undefined };
}

export function registerInfoRoutes(router: OpenAPIHono<AppEnv>): void {
  router.openapi(infoRoute, async (c) => {
    const user = currentUser(c);
    const { fields, callback } = c.req.valid("query");
    const now = clock.now();
    const configured = serverTimeZone(c.env);
    const timeZone = isValidTimeZone(configured) ? configured : "Etc/UTC";
    const facts = await databaseFacts(c.env.DB);
    const nav = (globalThis as { navigator?: Navigatorish }).navigator;
    const colo = (c.req.raw as { cf?: { colo?: unknown } }).cf?.colo;
    const systemName = c.env.SYSTEM_NAME || (await getSetting(c.env.DB, "applicationTitle"));
    let info = buildSystemInfo({
      contextPath: contextPath(c.req.raw, c.env),
      userAgent: c.req.header("User-Agent"),
      now,
      timeZone,
      ...buildOf(c.env.CF_VERSION_METADATA),
      systemId: facts.systemId,
      systemName,
      databaseVersion: facts.databaseVersion,
      nodeId: typeof colo === "string" && colo ? colo : undefined,
      cpuCores: typeof nav?.hardwareConcurrency === "number" ? nav.hardwareConcurrency : undefined,
      runtimeUserAgent: nav?.userAgent,
    });
    if (!user.isSuper) info = restrictSystemInfo(info, nonSuperuserRule(c.env.SYSTEM_INFO_NON_SUPERUSER));
    const body = fields === undefined ? info : applyFields(info, parseFields(fields));
    return jsonOrJsonp(c, body, callback);
  });

  router.openapi(contextRoute, (c) => {
    currentUser(c);
    const { callback } = c.req.valid("query");
    const body: Record<string, string> = { contextPath: contextPath(c.req.raw, c.env) };
    const ua = c.req.header("User-Agent");
    if (ua !== undefined) body.userAgent = ua;
    return jsonOrJsonp(c, body, callback);
  });
}
