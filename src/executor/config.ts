/**
 * Per-deployment executor configuration (docs/EXECUTOR.md "Configuration"):
 * - `EXECUTOR` service binding, or `EXECUTOR_URL` (https; http only for localhost),
 * - `EXECUTOR_SECRET`, the shared HMAC secret (wrangler secret),
 * - `EXECUTOR_CALLBACK_URL`, this service's public base URL (required with EXECUTOR_URL),
 * - `EXECUTOR_HEARTBEAT_TIMEOUT_SECONDS` (default 120), `EXECUTOR_START_ATTEMPTS` (default 5).
 */
import type { FetchLike } from "./protocol";

/** The members of the Worker's executor settings in its generated `Env` (worker-configuration.d.ts). */
type ExecutorVars = "EXECUTOR_SECRET" | "EXECUTOR_CALLBACK_URL" | "EXECUTOR_HEARTBEAT_TIMEOUT_SECONDS" | "EXECUTOR_START_ATTEMPTS";

/**
 * The executor members of the Worker environment, from the generated `Env`: all optional, since an
 * environment without an executor has none of them; the `EXECUTOR` service binding (a `Fetcher`) as
 * the part of it used here, so tests can bind any `fetch`.
 */
export type ExecutorEnv = Partial<Pick<Env, ExecutorVars>> & {
  EXECUTOR?: FetchLike;
  /** An executor outside Cloudflare (`--var` or the dashboard): no environment of wrangler.jsonc sets it. */
  EXECUTOR_URL?: string;
};

export interface ExecutorConfig {
  fetcher: FetchLike;
  /** Base URL requests are built on (`https://executor.internal` for a service binding). */
  baseUrl: string;
  secret: string;
  /** Base of the callback URL handed to the executor: `{callbackBase}/api/executor/runs/{runId}`. */
  callbackBase: string;
  heartbeatTimeoutMs: number;
  startAttempts: number;
}

export type ExecutorConfigResult = { ok: true; config: ExecutorConfig } | { ok: false; missing: string[]; message: string };

/** Used as the host of requests over a service binding (the host is not routed, the path is). */
export const BINDING_BASE_URL = "https://executor.internal";
/** Callback base when none is configured: only reachable over a service binding back to this Worker. */
export const DEFAULT_CALLBACK_BASE = "https://hrhis4-edge.internal";

let transportOverride: FetchLike | null = null;
let secretOverride: string | null = null;

/**
 * Tests: routes every executor request to `fetcher` (as if `EXECUTOR` were bound to it) and, given
 * `secret`, uses it where EXECUTOR_SECRET is unset (the test environment configures no executor).
 */
export function setExecutorTransport(fetcher: FetchLike | null, secret: string | null = null): void {
  transportOverride = fetcher;
  secretOverride = fetcher ? secret : null;
}

function isLocalHost(host: string): boolean {
  return host === "localhost" || host === "127.0.0.1" || host === "[::1]";
}

function positiveInt(raw: string | undefined, fallback: number, min: number, max: number): number {
  const n = raw === undefined || raw === "" ? NaN : Number(raw);
  return Number.isInteger(n) && n >= min && n <= max ? n : fallback;
}

export function readExecutorConfig(env: ExecutorEnv): ExecutorConfigResult {
  const missing: string[] = [];
  const problems: string[] = [];
  const url = env.EXECUTOR_URL?.trim() || "";
  const binding = env.EXECUTOR ?? transportOverride ?? undefined;
  let baseUrl = BINDING_BASE_URL;
  if (url) {
    try {
      const u = new URL(url);
      if (u.protocol !== "https:" && !(u.protocol === "http:" && isLocalHost(u.hostname))) problems.push("EXECUTOR_URL must use https");
      baseUrl = u.origin + u.pathname.replace(/\/$/, "");
    } catch {
      problems.push("EXECUTOR_URL is not a valid URL");
    }
  } else if (!binding) {
    missing.push("EXECUTOR_URL");
  }
  const secret = env.EXECUTOR_SECRET || secretOverride || "";
  if (!secret) missing.push("EXECUTOR_SECRET");
  else if (secret.length < 16) problems.push("EXECUTOR_SECRET must be at least 16 characters");
  const callback = env.EXECUTOR_CALLBACK_URL?.trim() || "";
  let callbackBase = DEFAULT_CALLBACK_BASE;
  if (callback) {
    try {
      const u = new URL(callback);
      callbackBase = u.origin + u.pathname.replace(/\/$/, "").replace(/\/api$/, "");
    } catch {
      problems.push("EXECUTOR_CALLBACK_URL is not a valid URL");
    }
  } else if (url && !binding) {
    missing.push("EXECUTOR_CALLBACK_URL");
  }
  if (missing.length || problems.length) {
    const parts: string[] = [];
    if (missing.length) parts.push(`no executor configured (${missing.join("/")})`);
    parts.push(...problems);
    return { ok: false, missing, message: parts.join("; ") };
  }
  const fetcher: FetchLike = binding ?? { fetch: (input, init) => fetch(input, init) };
  return {
    ok: true,
    config: {
      fetcher,
      baseUrl,
      secret,
      callbackBase,
      heartbeatTimeoutMs: positiveInt(env.EXECUTOR_HEARTBEAT_TIMEOUT_SECONDS, 120, 5, 24 * 3600) * 1000,
      startAttempts: positiveInt(env.EXECUTOR_START_ATTEMPTS, 5, 1, 20),
    },
  };
}
