import type { ExecutorEnv } from "./executor/config";

/** Bindings and variables of the Worker (see wrangler.toml and README "Configuration"). */
export interface Env extends ExecutorEnv {
  DB: D1Database;
  TASKS: KVNamespace;
  JOBS: DurableObjectNamespace;
  /** IANA zone used for cron evaluation and for every date in the API. Default Etc/UTC. */
  SERVER_TIMEZONE?: string;
  SYSTEM_NAME?: string;
  /** Comma-separated list of allowed browser origins, or "*". Empty: no CORS headers. */
  CORS_ALLOWED_ORIGINS?: string;
  /** "spec" (default): non-superusers see the first seven system info fields; "dhis2": DHIS2 2.42's rule. */
  SYSTEM_INFO_NON_SUPERUSER?: string;
  /** Largest accepted request body in bytes (default 1 MiB). */
  MAX_BODY_BYTES?: string;
  ADMIN_USERNAME?: string;
  ADMIN_PASSWORD?: string;
  /** Build metadata, injected at deploy time (optional). */
  BUILD_REVISION?: string;
  BUILD_TIME?: string;
}
