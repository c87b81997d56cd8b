/**
 * Error and not-found handling: every failure leaves as a WebMessage, never a stack trace. An
 * unexpected error is logged as one JSON line (`unhandled_error`: method, path, error name, message
 * and stack) for Workers Logs; the request's headers, query string and body are never logged.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { logEvent } from "./log";
import { webMessageResponse } from "./respond";
import { ApiError, echo, type WebMessage, webMessage } from "./webmessage";

/**
 * The longest text an error WebMessage carries in any one string (message, devMessage, an error
 * report's members): a last guard behind `echo`, which repeats at most ECHO_MAX_CHARS of an input.
 */
export const ERROR_TEXT_MAX_CHARS = 4096;

const capString = (text: string) => (text.length > ERROR_TEXT_MAX_CHARS ? `${text.slice(0, ERROR_TEXT_MAX_CHARS)}…` : text);

function capText(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return capString(value);
  if (depth > 6 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((v) => capText(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, capText(v, depth + 1)]));
}

/** An error WebMessage with every string within ERROR_TEXT_MAX_CHARS. */
export function cappedWebMessage(msg: WebMessage): WebMessage {
  const out: WebMessage = { ...msg };
  if (out.message !== undefined) out.message = capString(out.message);
  if (out.devMessage !== undefined) out.devMessage = capString(out.devMessage);
  if (out.response !== undefined) out.response = capText(out.response);
  return out;
}

/** The request an error came from, as logged. */
export interface ErrorOrigin {
  method: string;
  /** The path without its query string (which may carry credentials such as a `password` parameter). */
  path: string;
}

export function errorResponse(err: unknown, origin?: ErrorOrigin): Response {
  if (err instanceof ApiError) return webMessageResponse(cappedWebMessage(err.toWebMessage()), err.headers);
  if (err instanceof HTTPException) {
    const status = err.status;
    return webMessageResponse(webMessage(status, { message: err.message || undefined }));
  }
  logEvent("error", "unhandled_error", { method: origin?.method, path: origin?.path, error: err });
  return webMessageResponse(webMessage(500, { message: "An internal error occurred." }));
}

/** `app.onError`: the error response, logged with the request's method and path. */
export function onError(err: unknown, c: Context): Response {
  return errorResponse(err, { method: c.req.method, path: new URL(c.req.url).pathname });
}

type RouteInfo = { method: string; pattern: RegExp };

function toPattern(path: string): RegExp {
  const escaped = path
    .split("/")
    .map((seg) => {
      if (seg === "*") return ".*";
      if (seg.startsWith(":")) {
        const custom = /^:[^{]+\{(.+)\}\??$/.exec(seg);
        return custom ? `(?:${custom[1]})` : "[^/]+";
      }
      return seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("/");
  return new RegExp(`^${escaped}$`);
}

/** 404 for unknown paths, 405 (with `Allow`) when the path exists for other methods. */
export function notFoundHandler(routes: () => { method: string; path: string }[]) {
  let compiled: RouteInfo[] | undefined;
  return (c: Context) => {
    compiled ??= routes()
      .filter((r) => r.method !== "ALL")
      .map((r) => ({ method: r.method, pattern: toPattern(r.path) }));
    const path = c.req.path;
    const allowed = [...new Set(compiled.filter((r) => r.pattern.test(path)).map((r) => r.method))];
    if (allowed.length > 0) {
      if (allowed.includes("GET")) allowed.push("HEAD");
      return webMessageResponse(webMessage(405, { message: `Request method '${echo(c.req.method)}' is not supported` }), {
        Allow: allowed.join(", "),
      });
    }
    return webMessageResponse(webMessage(404, { message: `No endpoint ${echo(c.req.method)} ${echo(path)} found.` }));
  };
}
