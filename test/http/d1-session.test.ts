/**
 * D1 Sessions API (src/http/d1-session.ts): every request's reads and writes go through a session
 * that starts from the client's `x-d1-bookmark`, and every response returns the session's bookmark.
 * Locally D1 has no replicas, but its bookmarks are real: they advance with each write, and a session
 * started from a bookmark never reports an older one, which is what the round trip relies on.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { sessionDatabase } from "../../src/http/d1-session";
import { api, json } from "../helpers";
import { fetchWith } from "../reliability/support";

const BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/;
const bookmarkOf = (res: Response) => res.headers.get("x-d1-bookmark") ?? "";

let n = 0;
const jobBody = () => ({ name: `Bookmark job ${++n}`, jobType: "TEST", cronExpression: "0 0 3 * * ?" });

describe("D1 sessions and bookmarks", () => {
  it("a read returns a bookmark; a write returns a newer one; sending it back, the client reads its write", async () => {
    const first = await api("/api/jobConfigurations?fields=id&pageSize=1");
    expect(first.status).toBe(200);
    const b0 = bookmarkOf(first);
    expect(b0).toMatch(BOOKMARK);

    const created = await api("/api/jobConfigurations", { body: jobBody(), headers: { "x-d1-bookmark": b0 } });
    expect(created.status).toBe(201);
    const b1 = bookmarkOf(created);
    expect(b1).toMatch(BOOKMARK);
    expect(b1 > b0).toBe(true);
    const uid = (await json(created)).response.uid;

    const read = await api(`/api/jobConfigurations/${uid}?fields=id,name`, { headers: { "x-d1-bookmark": b1 } });
    expect(read.status).toBe(200);
    expect(await json(read)).toEqual({ id: uid, name: `Bookmark job ${n}` });
    expect(bookmarkOf(read) >= b1).toBe(true);
  });

  it("the session starts from the client's bookmark: its position is kept in the answer", async () => {
    // Newer than anything this local database has reached: the session cannot report an older one.
    const ahead = "0000ffff-00000000-00000000-00000000000000000000000000000000";
    const res = await api("/api/jobConfigurations?fields=id&pageSize=1", { headers: { "x-d1-bookmark": ahead } });
    expect(res.status).toBe(200);
    expect(bookmarkOf(res)).toBe(ahead);
  });

  it("a request that reads nothing from D1 echoes the client's bookmark", async () => {
    const given = "00000000-00000001-00000000-00000000000000000000000000000000";
    const res = await api("/api/ping", { auth: null, headers: { "x-d1-bookmark": given } });
    expect(res.status).toBe(200);
    expect(bookmarkOf(res)).toBe(given);
  });

  it("errors carry the bookmark too", async () => {
    const res = await api("/api/jobConfigurations/aaaaaaaaaaa");
    expect(res.status).toBe(404);
    expect(bookmarkOf(res)).toMatch(BOOKMARK);
  });

  it("a malformed bookmark is a 400 WebMessage, never a 500", async () => {
    for (const bad of [
      "garbage",
      "first-primary",
      "00000000-00000000-00000000",
      `${"0".repeat(8)}-${"0".repeat(8)}-${"0".repeat(8)}-${"g".repeat(32)}`,
    ]) {
      const res = await api("/api/jobConfigurations", { headers: { "x-d1-bookmark": bad } });
      expect(res.status, bad).toBe(400);
      expect(await json(res)).toEqual({
        httpStatus: "Bad Request",
        httpStatusCode: 400,
        status: "ERROR",
        errorCode: "E1003",
        message: "Invalid x-d1-bookmark header: send back a bookmark this service returned",
      });
    }
  });

  it("browsers on allowed origins may read the header", async () => {
    const res = await fetchWith({ CORS_ALLOWED_ORIGINS: "https://app.example.org" }, "GET", "/api/system/info", {
      headers: { Origin: "https://app.example.org" },
    });
    expect(res.headers.get("Access-Control-Expose-Headers")).toBe("Location, WWW-Authenticate, x-d1-bookmark");
    expect(bookmarkOf(res)).toMatch(BOOKMARK);
  });

  it("sessionDatabase: statements and batches run in the session, which then holds a bookmark", async () => {
    const session = env.DB.withSession("first-primary");
    const db = sessionDatabase(env.DB, session);
    expect(session.getBookmark()).toBeNull();
    expect(await db.prepare("SELECT 1 AS one").first()).toEqual({ one: 1 });
    const afterRead = session.getBookmark();
    expect(afterRead).toMatch(BOOKMARK);
    await db.batch([db.prepare("INSERT INTO metric_counters (name, labels, value, updated) VALUES ('session_test_total', '{}', 1, 0)")]);
    expect((session.getBookmark() ?? "") > (afterRead ?? "")).toBe(true);
  });
});
