/**
 * Response-format helpers for the system resource: content negotiation between JSON, CSV and XML
 * (path suffix first, then the Accept header), JSONP wrapping with a strictly checked callback name,
 * and the OpenAPI fragments the routes share.
 */
import { z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { requestFormat } from "../http/path";
import { NO_STORE } from "../http/respond";
import { SECURED } from "../http/router";

export const SECURITY = SECURED;

export type Negotiated = "json" | "csv" | "xml" | "jsonp";

const ACCEPT_TYPES: Record<string, Negotiated> = {
  "application/json": "json",
  "application/csv": "csv",
  "text/csv": "csv",
  "application/xml": "xml",
  "text/xml": "xml",
  "application/javascript": "jsonp",
  "text/javascript": "jsonp",
  "application/x-javascript": "jsonp",
};

/** The format of a request: a path suffix wins, then the highest-ranked known Accept type, else JSON. */
export function negotiate(req: Request, supported: readonly Negotiated[]): Negotiated {
  const suffix = requestFormat(req);
  if (suffix && (supported as readonly string[]).includes(suffix)) return suffix;
  if (suffix === "json") return "json";
  const accept = req.headers.get("Accept");
  if (!accept) return "json";
  let best: { type: Negotiated; q: number } | undefined;
  for (const part of accept.split(",")) {
    const [media, ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    const type = ACCEPT_TYPES[media];
    if (!type || !supported.includes(type)) continue;
    const qp = params.find((p) => p.startsWith("q="));
    const q = qp ? Number(qp.slice(2)) : 1;
    if (!Number.isFinite(q) || q <= 0) continue;
    if (!best || q > best.q) best = { type, q };
  }
  return best?.type ?? "json";
}

/** A JavaScript identifier path (`cb`, `jQuery123_456`, `ns.handler`): nothing that could inject code. */
export const JSONP_CALLBACK = /^[A-Za-z_$][\w$]{0,63}(?:\.[A-Za-z_$][\w$]{0,63}){0,7}$/;

export const callbackParam = () =>
  z
    .string()
    .optional()
    .refine((v) => v === undefined || v === "" || JSONP_CALLBACK.test(v), {
      message: "JSONP callback must be a JavaScript identifier (letters, digits, _ and $, dot-separated).",
    })
    .openapi({ description: "JSONP: wrap the JSON in a call to this function", example: "callback" });

export const fieldsParam = () =>
  z
    .union([z.string(), z.array(z.string())])
    .optional()
    .openapi({ type: "string", description: "DHIS2 field filter, e.g. `version,revision`", example: "version,serverTimeZoneId" });

/**
 * JSON, or JSONP when a callback is given (or the path ends in `.jsonp`, then named `callback`).
 * JSONP is served as `application/javascript` with `nosniff`.
 */
export function jsonOrJsonp(c: Context, body: unknown, callback: string | undefined): Response {
  const name = callback || (requestFormat(c.req.raw) === "jsonp" ? "callback" : undefined);
  if (name) {
    return new Response(`${name}(${JSON.stringify(body)});`, {
      status: 200,
      headers: {
        "Content-Type": "application/javascript;charset=UTF-8",
        "Cache-Control": NO_STORE,
        "X-Content-Type-Options": "nosniff",
      },
    });
  }
  return new Response(JSON.stringify(body), {
    status: 200,
    headers: { "Content-Type": "application/json;charset=UTF-8", "Cache-Control": NO_STORE },
  });
}

export function textResponse(body: string, contentType: string): Response {
  return new Response(body, { status: 200, headers: { "Content-Type": contentType, "Cache-Control": NO_STORE } });
}

/** Error responses every protected system route documents (no content: shared WebMessage shape). */
export const COMMON_ERRORS = {
  400: { description: "Bad parameter value (WebMessage)" },
  401: { description: "Missing or bad credentials (WebMessage)" },
} as const;
