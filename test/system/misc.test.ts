import { describe, expect, it } from "vitest";
import { NO_STORE } from "../../src/http/respond";
import { FLAGS, STYLES } from "../../src/system/appearance";
import { api, basic, json } from "../helpers";

describe("GET /api/system/ping", () => {
  it("answers 200 pong as text/plain with no-store for good credentials", async () => {
    const res = await api("/api/system/ping");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("text/plain;charset=UTF-8");
    expect(res.headers.get("Cache-Control")).toBe(NO_STORE);
    expect(await res.text()).toBe("pong");
  });

  it("HEAD answers 200 without a body", async () => {
    const res = await api("/api/system/ping", { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("");
  });

  it("answers 401 for missing, wrong and malformed credentials", async () => {
    for (const auth of [
      null,
      basic("admin", "wrong"),
      basic("nobody", "x"),
      "Basic !!!notbase64",
      `Basic ${btoa("nocolon")}`,
      "Bearer abc",
      "Basic",
    ]) {
      const res = await api("/api/system/ping", { auth });
      expect(res.status, String(auth)).toBe(401);
      expect(await json(res)).toEqual({ httpStatus: "Unauthorized", httpStatusCode: 401, status: "ERROR", message: "Unauthorized" });
    }
  });

  it("works on versioned paths", async () => {
    expect(await (await api("/api/41/system/ping")).text()).toBe("pong");
  });
});

describe("GET /api/ping", () => {
  it("is public: 200, empty body, no content type", async () => {
    const res = await api("/api/ping", { auth: null });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBeNull();
    expect(await res.text()).toBe("");
  });

  it("still answers 200 when credentials are wrong (it checks nothing)", async () => {
    const res = await api("/api/ping", { auth: basic("admin", "wrong") });
    expect(res.status).toBe(200);
  });

  it("answers on a versioned path and for HEAD", async () => {
    expect((await api("/api/42/ping", { auth: null })).status).toBe(200);
    expect((await api("/api/ping", { auth: null, method: "HEAD" })).status).toBe(200);
  });

  it("POST is a 405", async () => {
    const res = await api("/api/ping", { method: "POST", body: {} });
    expect(res.status).toBe(405);
  });
});

describe("GET /api/system/flags", () => {
  it("returns DHIS2's full flag list: sorted, unique keys, name/key/path", async () => {
    const res = await api("/api/system/flags");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/json;charset=UTF-8");
    expect(res.headers.get("Cache-Control")).toBe(NO_STORE);
    const flags = await json<{ name: string; key: string; path: string }[]>(res);
    expect(flags.length).toBe(297);
    const keys = flags.map((f) => f.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect([...keys].sort()).toEqual(keys);
    for (const f of flags) {
      expect(Object.keys(f)).toEqual(["name", "key", "path"]);
      expect(f.path).toBe(`${f.key}.png`);
      expect(f.name.length).toBeGreaterThan(0);
    }
    expect(flags[0]).toEqual({ name: "Afghanistan", key: "afghanistan", path: "afghanistan.png" });
    expect(flags.at(-1)).toEqual({ name: "Zimbabwe", key: "zimbabwe", path: "zimbabwe.png" });
    expect(flags).toContainEqual({ name: "WHO", key: "who", path: "who.png" });
    expect(flags).toContainEqual({
      name: "Côte d'Ivoire (Ivory Coast)",
      key: "cote_d_ivoire_ivory_coast",
      path: "cote_d_ivoire_ivory_coast.png",
    });
    expect(flags).toEqual(FLAGS);
  });
});

describe("GET /api/system/styles", () => {
  it("returns the five styles sorted by key", async () => {
    const res = await api("/api/system/styles");
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe(NO_STORE);
    expect(await json(res)).toEqual([
      { name: "Green", key: "green", path: "green/green.css" },
      { name: "India", key: "india", path: "india/india.css" },
      { name: "Light Blue", key: "light_blue", path: "light_blue/light_blue.css" },
      { name: "Myanmar", key: "myanmar", path: "myanmar/myanmar.css" },
      { name: "Vietnam", key: "vietnam", path: "vietnam/vietnam.css" },
    ]);
    expect(STYLES).toHaveLength(5);
  });

  it("flags and styles need authentication", async () => {
    expect((await api("/api/system/flags", { auth: null })).status).toBe(401);
    expect((await api("/api/system/styles", { auth: null })).status).toBe(401);
  });
});

describe("the system routes never answer 500 for odd input", () => {
  it.each([
    "/api/system/id?limit=%00",
    "/api/system/id?limit=1&limit=2",
    "/api/system/id?limit=%E0%A4%A",
    `/api/system/id?limit=${"9".repeat(400)}`,
    `/api/system/info?fields=${"[".repeat(500)}`,
    "/api/system/info?fields=a[b[c[d[e[f[g[h[i[j[k]]]]]]]]]]",
    "/api/system/info?callback=a&callback=b",
    "/api/system/info?fields=!*",
    "/api/system/%E0%A4%A",
    "/api/system/info.xml",
    "/api/system/uuid?limit=-0x10",
    `/api/me?fields=${",".repeat(1000)}`,
  ])("%s", async (path) => {
    const res = await api(path);
    expect(res.status).toBeLessThan(500);
  });
});

describe("OpenAPI document", () => {
  it("lists the system and user routes", async () => {
    const res = await api("/api/openapi.json", { auth: null });
    expect(res.status).toBe(200);
    const doc = await json(res);
    for (const p of [
      "/api/system/id",
      "/api/system/uid",
      "/api/system/uuid",
      "/api/system/info",
      "/api/system/context",
      "/api/system/ping",
      "/api/ping",
      "/api/system/flags",
      "/api/system/styles",
    ]) {
      expect(doc.paths, p).toHaveProperty([p, "get"]);
    }
    expect(doc.paths).toHaveProperty(["/api/users", "post"]);
    expect(doc.paths).toHaveProperty(["/api/users/{id}", "put"]);
    expect(doc.paths).toHaveProperty(["/api/apiToken/{id}", "delete"]);
    expect(doc.paths).toHaveProperty(["/api/me", "get"]);
  });
});
