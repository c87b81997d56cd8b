/**
 * D1 read replication through the Sessions API, one session per request: the request's D1 binding is
 * replaced by a session that starts from the client's bookmark (`x-d1-bookmark` request header), so
 * its reads come from a replica at least as new as what the client saw last, and its writes go to the
 * primary. The response carries the session's bookmark in the same header; a client that sends it
 * back always sees its own writes. Without a bookmark, reads (GET/HEAD) may start on any replica
 * (`first-unconstrained`) and other methods start on the primary (`first-primary`), so a write is
 * validated against the newest data. Only the request's binding changes: Durable Objects and the
 * Cron Trigger have their own environment and keep using the primary. Without read replication
 * enabled on the database every session is served by the primary, as before.
 */
import type { Context, MiddlewareHandler } from "hono";
import { ApiError } from "./webmessage";

export const BOOKMARK_HEADER = "x-d1-bookmark";

/** A D1 bookmark: four hex groups, lexicographically ordered from oldest to newest. */
const BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/;

/** `primary` as a D1Database whose statements run in `session` (`exec`, which sessions lack, on the primary). */
export function sessionDatabase(primary: D1Database, session: D1DatabaseSession): D1Database {
  return {
    prepare: (query) => session.prepare(query),
    batch: (statements) => session.batch(statements),
    exec: (query) => primary.exec(query),
    withSession: (constraintOrBookmark) => primary.withSession(constraintOrBookmark),
    dump: () => primary.dump(),
  };
}

function setHeader(c: Context, name: string, value: string): void {
  try {
    c.res.headers.set(name, value);
  } catch {
    // Immutable headers (a response passed through from a fetch): copy the response first.
    c.res = new Response(c.res.body, c.res);
    c.res.headers.set(name, value);
  }
}

/** The middleware for the D1 binding named `binding`. */
export function d1Sessions<B extends string>(binding: B): MiddlewareHandler<{ Bindings: Record<B, D1Database> }> {
  return async (c, next) => {
    const given = c.req.header(BOOKMARK_HEADER)?.trim() || undefined;
    if (given !== undefined && !BOOKMARK.test(given)) {
      throw new ApiError(400, `Invalid ${BOOKMARK_HEADER} header: send back a bookmark this service returned`, { errorCode: "E1003" });
    }
    const primary = c.env[binding];
    const method = c.req.method;
    const session = primary.withSession(given ?? (method === "GET" || method === "HEAD" ? "first-unconstrained" : "first-primary"));
    const env = { ...c.env };
    env[binding] = sessionDatabase(primary, session);
    c.env = env;
    await next();
    const bookmark = session.getBookmark() ?? given;
    if (bookmark) setHeader(c, BOOKMARK_HEADER, bookmark);
  };
}
