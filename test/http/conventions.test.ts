import { describe, expect, it } from "vitest";
import { DEFAULT_MAX_BODY_BYTES } from "../../src/http/body";
import { allowedOrigin } from "../../src/http/cors";
import { splitPath } from "../../src/http/path";
import { api, json } from "../helpers";
import { fetchWith } from "../system/env";

describe("CORS", () => {
  it("allowedOrigin: exact matches, * echoes the origin, nothing without a setting", () => {
    expect(allowedOrigin("https://a.example, https://b.example", "https://b.example")).toBe("https://b.example");
    expect(allowedOrigin("https://a.example", "https://evil.example")).toBeNull();
    expect(allowedOrigin("*", "https://any.example")).toBe("https://any.example");
    expect(allowedOrigin("", "https://a.example")).toBeNull();
    expect(allowedOrigin(undefined, "https://a.example")).toBeNull();
    expect(allowedOrigin("https://a.example", undefined)).toBeNull();
    expect(allowedOrigin("https://a.example", "https://a.example.evil")).toBeNull();
  });

  const ORIGINS = { CORS_ALLOWED_ORIGINS: "https://apps.example" };

  it("answers a preflight for an allowed origin without credentials", async () => {
    const res = await fetchWith(ORIGINS, "/api/system/info", {
      method: "OPTIONS",
      auth: null,
      headers: {
        Origin: "https://apps.example",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe("https://apps.example");
    expect(res.headers.get("Access-Control-Allow-Credentials")).toBe("true");
    expect(res.headers.get("Access-Control-Allow-Methods")).toContain("GET");
    expect(res.headers.get("Access-Control-Allow-Headers")).toBe("authorization");
    expect(res.headers.get("Content-Type")).toBeNull();
  });

  it("adds CORS headers to responses (including /api/ping and errors) for allowed origins only", async () => {
    const ok = await fetchWith(ORIGINS, "/api/ping", { auth: null, headers: { Origin: "https://apps.example" } });
    expect(ok.headers.get("Access-Control-Allow-Origin")).toBe("https://apps.example");
    expect(ok.headers.get("Vary")).toContain("Origin");
    const info = await fetchWith(ORIGINS, "/api/system/info", { headers: { Origin: "https://apps.example" } });
    expect(info.headers.get("Access-Control-Allow-Origin")).toBe("https://apps.example");
    expect(info.headers.get("Access-Control-Expose-Headers")).toContain("Location");
    const other = await fetchWith(ORIGINS, "/api/ping", { auth: null, headers: { Origin: "https://evil.example" } });
    expect(other.headers.get("Access-Control-Allow-Origin")).toBeNull();
    const none = await api("/api/ping", { auth: null, headers: { Origin: "https://apps.example" } });
    expect(none.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });
});

describe("paths", () => {
  it("splitPath strips versions 28-99 and the format suffix", () => {
    expect(splitPath("/api/41/system/info")).toEqual({ path: "/api/system/info", format: undefined });
    expect(splitPath("/api/system/id.csv")).toEqual({ path: "/api/system/id", format: "csv" });
    expect(splitPath("/api/99/system/info.json")).toEqual({ path: "/api/system/info", format: "json" });
    expect(splitPath("/api/27/system/info").path).toBe("/api/27/system/info");
  });

  it("versioned paths 28..99 are served, others are 404", async () => {
    for (const v of ["28", "41", "42", "99"]) expect((await api(`/api/${v}/system/ping`)).status, v).toBe(200);
    for (const v of ["27", "100", "4"]) expect((await api(`/api/${v}/system/ping`)).status, v).toBe(404);
  });

  it("a trailing slash is tolerated", async () => {
    expect((await api("/api/system/info/")).status).toBe(200);
  });

  it("unknown routes are a 404 WebMessage naming the path", async () => {
    const res = await api("/api/system/nothing");
    expect(res.status).toBe(404);
    expect(await json(res)).toEqual({
      httpStatus: "Not Found",
      httpStatusCode: 404,
      status: "ERROR",
      message: "No endpoint GET /api/system/nothing found.",
    });
  });

  it("a wrong method is a 405 WebMessage with Allow", async () => {
    for (const [method, path, allow] of [
      ["DELETE", "/api/system/id", "GET, HEAD"],
      ["POST", "/api/me", "GET, HEAD"],
      ["PATCH", "/api/users", "GET, POST, HEAD"],
      ["PUT", "/api/apiToken", "POST, GET, HEAD"],
    ] as const) {
      const res = await api(path, { method, body: method === "DELETE" ? undefined : {} });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get("Allow")).toBe(allow);
      expect((await json(res)).message).toBe(`Request method '${method}' is not supported`);
    }
  });
});

describe("request bodies", () => {
  it(`a body over ${DEFAULT_MAX_BODY_BYTES} bytes is a 413 WebMessage`, async () => {
    const body = JSON.stringify({ expire: Date.now() + 60_000, name: "x".repeat(DEFAULT_MAX_BODY_BYTES) });
    const res = await api("/api/apiToken", { method: "POST", body });
    expect(res.status).toBe(413);
    expect(await json(res)).toEqual({
      httpStatus: "Payload Too Large",
      httpStatusCode: 413,
      status: "ERROR",
      errorCode: "E1003",
      message: `Request body exceeds the limit of ${DEFAULT_MAX_BODY_BYTES} bytes.`,
    });
  });

  it("a streamed body without Content-Length over the limit is still a 413", async () => {
    const chunk = new TextEncoder().encode("a".repeat(64 * 1024));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > DEFAULT_MAX_BODY_BYTES) return controller.close();
        sent += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    const res = await fetchWith({}, "/api/users", {
      method: "POST",
      body: stream,
      headers: { "Content-Type": "application/json" },
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
  });

  it("malformed JSON is a 400 WebMessage naming the problem", async () => {
    const res = await api("/api/apiToken", { method: "POST", body: '{"expire": ' });
    expect(res.status).toBe(400);
    const body = await json(res);
    expect(body).toMatchObject({ httpStatus: "Bad Request", httpStatusCode: 400, status: "ERROR", errorCode: "E1003" });
    expect(body.message).toMatch(/^Invalid JSON in request body: /);
  });

  it("invalid UTF-8 is a 400", async () => {
    const res = await fetchWith({}, "/api/apiToken", {
      method: "POST",
      body: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]),
      headers: { "Content-Type": "application/json" },
    });
    expect(res.status).toBe(400);
  });
});
