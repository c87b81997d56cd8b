/**
 * JSON bodies for routes that declare their body as a zod schema (`createRoute` `request.body`): a route
 * middleware reads the body once with the service's rules (size limit while streaming, strict UTF-8,
 * `__proto__`/`constructor`/`prototype` keys dropped, malformed JSON a 400 WebMessage) and hands the
 * parsed value to the route's zod validator. `rawJsonBody(c)` gives the body as received to a
 * validation hook, which reports problems against the values the client sent.
 *
 * A body without a JSON content type is left to the route's media-type check (415).
 */
import type { Context, MiddlewareHandler } from "hono";
import { readJsonBody } from "./body";

const JSON_MEDIA = /^application\/([\w.-]+\+)?json$/i;

const received = new WeakMap<Request, unknown>();

export const jsonBody: MiddlewareHandler = async (c, next) => {
  const type = (c.req.header("Content-Type") ?? "").split(";")[0].trim();
  if (JSON_MEDIA.test(type)) {
    const body = await readJsonBody(c);
    received.set(c.req.raw, body);
    // Hono's validators read `c.req.json()`, which answers from this cache: the body is read once.
    c.req.bodyCache.json = Promise.resolve(body);
  }
  await next();
};

/** The JSON body `jsonBody` read for this request (undefined: none, or not JSON). */
export function rawJsonBody(c: Context): unknown {
  return received.get(c.req.raw);
}
