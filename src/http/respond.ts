import type { WebMessage } from "./webmessage";

/** DHIS2's "no store" header, sent by the system endpoints. */
export const NO_STORE = "no-cache, no-store, max-age=0, must-revalidate";
/** Sent with every 4xx/5xx WebMessage. */
export const ERROR_CACHE = "no-cache, private";

export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json;charset=UTF-8", ...headers },
  });
}

export function noStoreJson(body: unknown, status = 200): Response {
  return jsonResponse(body, status, { "Cache-Control": NO_STORE });
}

/** The response for a WebMessage: status from httpStatusCode, DHIS2's cache header on errors. */
export function webMessageResponse(msg: WebMessage, headers: Record<string, string> = {}): Response {
  const extra: Record<string, string> = { ...headers };
  if (msg.httpStatusCode >= 400) extra["Cache-Control"] = ERROR_CACHE;
  return jsonResponse(msg, msg.httpStatusCode, extra);
}

/** 204 or an empty 200: no body and, deliberately, no JSON content type (DHIS2 clients parse it otherwise). */
export function emptyResponse(status: 200 | 204 = 204, headers: Record<string, string> = {}): Response {
  return new Response(null, { status, headers });
}

/** Absolute URL of an API path for this request (see `contextPath`). */
export function apiUrl(c: { req: { raw: Request }; env: BaseUrlConfig }, path: string): string {
  return `${contextPath(c.req.raw, c.env)}/api${path.startsWith("/") ? path : `/${path}`}`;
}

/** The configuration that decides a request's base URL (wrangler.jsonc vars). */
export type BaseUrlConfig = Partial<Pick<Env, "PUBLIC_BASE_URL" | "TRUST_FORWARDED_HEADERS">>;

/** PUBLIC_BASE_URL as `scheme://host[:port][/path]`, or null when unset or not a plain http(s) URL. */
export function publicBaseUrl(value: string | undefined): string | null {
  const text = value?.trim();
  if (!text) return null;
  try {
    const url = new URL(text);
    if ((url.protocol !== "https:" && url.protocol !== "http:") || url.username || url.password || url.search || url.hash) return null;
    return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
  } catch {
    return null;
  }
}

/**
 * `scheme://host[:port]` as DHIS2 computes it: PUBLIC_BASE_URL when configured; else the request's
 * own origin. X-Forwarded-Proto/Host/Port count only when TRUST_FORWARDED_HEADERS is "true" (the
 * Worker sits behind a proxy that sets them): otherwise any client could choose them.
 */
export function contextPath(req: Request, config: BaseUrlConfig): string {
  const configured = publicBaseUrl(config.PUBLIC_BASE_URL);
  if (configured) return configured;
  const url = new URL(req.url);
  if (config.TRUST_FORWARDED_HEADERS !== "true") return url.origin;
  const first = (v: string | null) => (v ? v.split(",")[0].trim() : "");
  const proto = first(req.headers.get("X-Forwarded-Proto")) || url.protocol.replace(":", "");
  const fwdHost = first(req.headers.get("X-Forwarded-Host"));
  let host: string;
  let port: string;
  if (fwdHost) {
    host = fwdHost.replace(/:\d+$/, "");
    port = first(req.headers.get("X-Forwarded-Port"));
  } else {
    host = url.hostname.includes(":") ? `[${url.hostname}]` : url.hostname;
    port = first(req.headers.get("X-Forwarded-Port")) || url.port;
  }
  if (!/^https?$/i.test(proto)) return `${url.protocol}//${url.host}`;
  if (!/^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])$/.test(host)) host = url.hostname;
  // A forwarded port that is no TCP port (e.g. 99999) is ignored, as is a non-numeric one: the URL must parse.
  const defaultPort = port === "" || port === "80" || port === "443" || !/^\d{1,5}$/.test(port) || Number(port) > 65535;
  return `${proto.toLowerCase()}://${host}${defaultPort ? "" : `:${port}`}`;
}

/**
 * The one escape hatch from route-typed answers. A handler answers with `c.json(body, status, headers)`
 * or `c.body(null, 204)`, so its route's schema types what it returns; where the schema cannot type the
 * body — a field-filtered object or list (`?fields=` selects any members, DHIS2's default field lists
 * too) or a streamed list — the handler returns `untypedResponse(res)` instead; so does a handler that
 * may hand the request on to the next route (`next()`, no answer of its own). Such answers are still
 * checked against the published document on every cell of the access matrix (test/openapi/contract.ts).
 */
export function untypedResponse<Typed>(res: Response | void): Typed {
  return res as Typed;
}
