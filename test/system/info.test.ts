import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { manualClock, setClock } from "../../src/http/clock";
import { NO_STORE } from "../../src/http/respond";
import { buildSystemInfo, nonSuperuserRule, PUBLIC_INFO_FIELDS, restrictSystemInfo, SENSITIVE_INFO_FIELDS } from "../../src/system/info";
import { forgetDatabaseFacts, SYSTEM_ID_KEY } from "../../src/system/system-id";
import { api, basic, json } from "../helpers";
import { fetchWith } from "./env";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}$/;
const T = Date.UTC(2026, 0, 15, 9, 30, 5, 123);

afterEach(() => setClock(null));

let plainCreated = false;
async function plainUser(): Promise<string> {
  if (!plainCreated) {
    const res = await api("/api/users", {
      method: "POST",
      body: { username: "viewer", password: "Str0ng!pass", firstName: "View", surname: "Er", authorities: ["F_SCHEDULING_ADMIN"] },
    });
    expect(res.status).toBe(201);
    plainCreated = true;
  }
  return basic("viewer", "Str0ng!pass");
}

describe("GET /api/system/info (superuser)", () => {
  it("returns every field, in the spec's order, with no-store", async () => {
    setClock(manualClock(T));
    const res = await api("/api/system/info", { headers: { "User-Agent": "vitest/1.0" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/json;charset=UTF-8");
    expect(res.headers.get("Cache-Control")).toBe(NO_STORE);
    const info = await json(res);
    const keys = Object.keys(info);
    // The local version (version_metadata binding): its id, and its timestamp as the build time.
    expect(keys.slice(0, 7)).toEqual([...PUBLIC_INFO_FIELDS]);
    expect(info).toMatchObject({
      contextPath: "http://localhost:8787",
      userAgent: "vitest/1.0",
      version: "2.42.0",
      revision: env.CF_VERSION_METADATA.tag || env.CF_VERSION_METADATA.id,
      serverDate: "2026-01-15T09:30:05.123",
      environmentVariable: "HRHIS4_HOME",
      calendar: "iso8601",
      dateFormat: "yyyy-mm-dd",
      serverTimeZoneId: "Etc/UTC",
      serverTimeZoneDisplayName: "Coordinated Universal Time",
      databaseInfo: { type: "Cloudflare D1", name: "hrhis4", spatialSupport: false, time: "2026-01-15T09:30:05.123" },
      runtime: "workerd",
      memoryInfo: "Isolate memory limit: 128 MB",
      readReplicaCount: 0,
      emailConfigured: false,
      redisEnabled: false,
      encryption: false,
      systemName: "HRHIS4 Edge",
      instanceBaseUrl: "http://localhost:8787",
      isMetadataVersionEnabled: false,
      isMetadataSyncEnabled: false,
    });
    expect(info.systemId).toMatch(UUID);
    expect(info.version).toMatch(/^2\.\d+\.\d+$/);
    expect(info.revision).toMatch(/^[0-9a-f-]{8,}$/);
    expect(info.buildTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$/);
    expect(info).not.toHaveProperty("javaVersion");
  });

  it("without a version_metadata binding: revision unknown, no buildTime", async () => {
    const info = await json(await fetchWith({ CF_VERSION_METADATA: undefined }, "/api/system/info"));
    expect(info.revision).toBe("unknown");
    expect(info).not.toHaveProperty("buildTime");
  });

  it("a personal access token sees the same full info as Basic (dhis2-java-client reads version, revision, systemId)", async () => {
    const created = await json(await api("/api/apiToken", { method: "POST", body: {} }));
    const res = await api("/api/system/info", { auth: `ApiToken ${created.response.key}` });
    expect(res.status).toBe(200);
    const info = await json(res);
    expect(info.version).toBe("2.42.0");
    expect(info.revision).toBe(env.CF_VERSION_METADATA.tag || env.CF_VERSION_METADATA.id);
    expect(info.systemId).toMatch(UUID);
    expect(info.environmentVariable).toBe("HRHIS4_HOME");
  });

  it("systemId is stored in D1 and stays the same after the in-memory copy is forgotten", async () => {
    const first = (await json(await api("/api/system/info"))).systemId;
    forgetDatabaseFacts();
    const second = (await json(await api("/api/system/info"))).systemId;
    expect(second).toBe(first);
    const row = await env.DB.prepare("SELECT value FROM system_settings WHERE key = ?").bind(SYSTEM_ID_KEY).first<{ value: string }>();
    expect(JSON.parse(row!.value)).toBe(first);
  });

  it("reads build metadata and the time zone from the environment", async () => {
    setClock(manualClock(T));
    const res = await fetchWith(
      {
        CF_VERSION_METADATA: { id: "5f0c7a52-7e1b-4b0e-9d5e-0a1b2c3d4e5f", tag: "0a1b2c3", timestamp: "2026-01-01T12:00:00Z" },
        SERVER_TIMEZONE: "Africa/Nairobi",
      },
      "/api/system/info",
      {
        headers: { "User-Agent": "ua" },
      },
    );
    const info = await json(res);
    expect(info).toMatchObject({
      revision: "0a1b2c3",
      buildTime: "2026-01-01T15:00:00.000",
      serverDate: "2026-01-15T12:30:05.123",
      serverTimeZoneId: "Africa/Nairobi",
      serverTimeZoneDisplayName: "East Africa Time",
    });
    expect(Object.keys(info).slice(0, 7)).toEqual([...PUBLIC_INFO_FIELDS]);
  });

  it("falls back to Etc/UTC for an invalid SERVER_TIMEZONE and ignores an unparsable version timestamp (no 500)", async () => {
    const res = await fetchWith(
      {
        SERVER_TIMEZONE: "Mars/Base",
        CF_VERSION_METADATA: { id: "5f0c7a52-7e1b-4b0e-9d5e-0a1b2c3d4e5f", tag: "", timestamp: "yesterday" },
      },
      "/api/system/info",
    );
    expect(res.status).toBe(200);
    const info = await json(res);
    expect(info.serverTimeZoneId).toBe("Etc/UTC");
    expect(info).not.toHaveProperty("buildTime");
  });

  it("uses the applicationTitle setting when SYSTEM_NAME is empty", async () => {
    const info = await json(await fetchWith({ SYSTEM_NAME: "" }, "/api/system/info"));
    expect(info.systemName).toBe("HRHIS4 Edge");
    await env.DB.prepare("INSERT OR REPLACE INTO system_settings (key, value) VALUES ('applicationTitle', ?)")
      .bind(JSON.stringify("My HIS"))
      .run();
    expect((await json(await fetchWith({ SYSTEM_NAME: "" }, "/api/system/info"))).systemName).toBe("My HIS");
    await env.DB.prepare("DELETE FROM system_settings WHERE key = 'applicationTitle'").run();
  });

  it("honours X-Forwarded-Proto/Host/Port in contextPath behind a trusted proxy (TRUST_FORWARDED_HEADERS)", async () => {
    const trusted = { TRUST_FORWARDED_HEADERS: "true" };
    const info = await json(
      await fetchWith(trusted, "/api/system/info?fields=contextPath", {
        headers: { "X-Forwarded-Proto": "https", "X-Forwarded-Host": "his.example.org:8443, proxy", "X-Forwarded-Port": "443" },
      }),
    );
    expect(info).toEqual({ contextPath: "https://his.example.org" });
    const withPort = await json(
      await fetchWith(trusted, "/api/system/info?fields=contextPath", {
        headers: { "X-Forwarded-Proto": "https", "X-Forwarded-Host": "his.example.org", "X-Forwarded-Port": "8443" },
      }),
    );
    expect(withPort.contextPath).toBe("https://his.example.org:8443");
  });

  it("filters with fields=, as the Android SDK asks", async () => {
    setClock(manualClock(T));
    const res = await api("/api/system/info?fields=serverDate,dateFormat,version,contextPath,systemName");
    expect(await json(res)).toEqual({
      contextPath: "http://localhost:8787",
      version: "2.42.0",
      serverDate: "2026-01-15T09:30:05.123",
      dateFormat: "yyyy-mm-dd",
      systemName: "HRHIS4 Edge",
    });
    const nested = await json(await api("/api/system/info?fields=databaseInfo[type,spatialSupport]"));
    expect(nested).toEqual({ databaseInfo: { type: "Cloudflare D1", spatialSupport: false } });
    const excl = await json(await api("/api/system/info?fields=*,!databaseInfo,!userAgent"));
    expect(excl).not.toHaveProperty("databaseInfo");
    expect(excl.version).toBe("2.42.0");
    expect(await json(await api("/api/system/info?fields=nonexistent"))).toEqual({});
  });

  it("answers on versioned paths and with the .json suffix", async () => {
    for (const path of ["/api/41/system/info", "/api/system/info.json", "/api/40/system/info.json"]) {
      const res = await api(path);
      expect(res.status, path).toBe(200);
      expect((await json(res)).version).toBe("2.42.0");
    }
  });

  it("requires authentication: 401 WebMessage, with WWW-Authenticate unless XHR", async () => {
    const res = await api("/api/system/info", { auth: null });
    expect(res.status).toBe(401);
    expect(res.headers.get("WWW-Authenticate")).toBe('Basic realm="HRHIS4"');
    expect(await json(res)).toEqual({ httpStatus: "Unauthorized", httpStatusCode: 401, status: "ERROR", message: "Unauthorized" });
    const xhr = await api("/api/system/info", { auth: null, headers: { "X-Requested-With": "XMLHttpRequest" } });
    expect(xhr.status).toBe(401);
    expect(xhr.headers.get("WWW-Authenticate")).toBeNull();
  });

  it("answers 405 with Allow for a wrong method", async () => {
    const res = await api("/api/system/info", { method: "POST", body: {} });
    expect(res.status).toBe(405);
    expect(res.headers.get("Allow")).toBe("GET, HEAD");
    expect(await json(res)).toMatchObject({
      httpStatus: "Method Not Allowed",
      httpStatusCode: 405,
      status: "ERROR",
      message: "Request method 'POST' is not supported",
    });
  });
});

describe("GET /api/system/info (not a superuser)", () => {
  it("default rule (spec): only the first seven properties", async () => {
    const auth = await plainUser();
    const res = await fetchWith({ CF_VERSION_METADATA: undefined }, "/api/system/info", { auth, headers: { "User-Agent": "ua" } });
    expect(res.status).toBe(200);
    const info = await json(res);
    expect(Object.keys(info)).toEqual(["contextPath", "userAgent", "version", "revision", "serverDate", "environmentVariable"]);
    const withBuild = await json(
      await fetchWith({ CF_VERSION_METADATA: { id: "v1", tag: "", timestamp: "2026-01-01T00:00:00Z" } }, "/api/system/info", {
        auth,
        headers: { "User-Agent": "ua" },
      }),
    );
    expect(Object.keys(withBuild)).toEqual([...PUBLIC_INFO_FIELDS]);
  });

  it("fields= cannot reveal hidden properties", async () => {
    const auth = await plainUser();
    const info = await json(await api("/api/system/info?fields=systemId,version,cpuCores", { auth }));
    expect(info).toEqual({ version: "2.42.0" });
  });

  it("SYSTEM_INFO_NON_SUPERUSER=dhis2: DHIS2 2.42's rule hides only the sensitive fields", async () => {
    const auth = await plainUser();
    const info = await json(await fetchWith({ SYSTEM_INFO_NON_SUPERUSER: "dhis2" }, "/api/system/info", { auth }));
    expect(info).toMatchObject({
      serverTimeZoneId: "Etc/UTC",
      calendar: "iso8601",
      systemName: "HRHIS4 Edge",
      redisEnabled: false,
      encryption: false,
    });
    expect(info.systemId).toMatch(UUID);
    for (const hidden of SENSITIVE_INFO_FIELDS) expect(info).not.toHaveProperty(hidden);
    expect(info.databaseInfo).toEqual({ type: "Cloudflare D1", spatialSupport: false, time: expect.stringMatching(DATE) });
    // A superuser still sees everything under that rule.
    const full = await json(await fetchWith({ SYSTEM_INFO_NON_SUPERUSER: "dhis2" }, "/api/system/info"));
    expect(full.environmentVariable).toBe("HRHIS4_HOME");
  });

  it("nonSuperuserRule reads the setting case-insensitively and defaults to the spec", () => {
    expect(nonSuperuserRule(undefined)).toBe("spec");
    expect(nonSuperuserRule("spec")).toBe("spec");
    expect(nonSuperuserRule(" DHIS2 ")).toBe("dhis2");
    expect(nonSuperuserRule("other")).toBe("spec");
  });

  it("restrictSystemInfo keeps order and never adds members", () => {
    const info = buildSystemInfo({
      contextPath: "http://x",
      now: T,
      timeZone: "Etc/UTC",
      systemId: "id",
      systemName: "n",
      buildTime: "2026-01-01",
    });
    expect(Object.keys(restrictSystemInfo(info, "spec"))).toEqual([
      "contextPath",
      "version",
      "revision",
      "buildTime",
      "serverDate",
      "environmentVariable",
    ]);
    const d = restrictSystemInfo(info, "dhis2");
    expect(Object.keys(d).every((k) => k in info)).toBe(true);
  });
});

describe("JSONP", () => {
  it("wraps info in the callback as application/javascript", async () => {
    const res = await api("/api/system/info?callback=handle&fields=version");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/javascript;charset=UTF-8");
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(res.headers.get("Cache-Control")).toBe(NO_STORE);
    expect(await res.text()).toBe('handle({"version":"2.42.0"});');
  });

  it("accepts dotted names and $; the .jsonp suffix defaults the name to callback", async () => {
    expect(await (await api("/api/system/info?callback=ns.$cb_1&fields=version")).text()).toBe('ns.$cb_1({"version":"2.42.0"});');
    const ctx = await api("/api/system/context.jsonp", { headers: { "User-Agent": "ExtJS" } });
    expect(ctx.headers.get("Content-Type")).toBe("application/javascript;charset=UTF-8");
    expect(await ctx.text()).toBe('callback({"contextPath":"http://localhost:8787","userAgent":"ExtJS"});');
  });

  it.each(["alert(1)", "a-b", "1abc", "a..b", "a.", "x".repeat(65), "</script>", "a b"])("refuses callback=%s with 400", async (cb) => {
    for (const path of ["/api/system/info", "/api/system/context"]) {
      const res = await api(`${path}?callback=${encodeURIComponent(cb)}`);
      expect(res.status).toBe(400);
      expect(res.headers.get("Content-Type")).toBe("application/json;charset=UTF-8");
      const body = await json(res);
      expect(body).toMatchObject({ httpStatusCode: 400, status: "ERROR", errorCode: "E1003" });
      expect(body.message).toBe(
        `Value '${cb}' is not valid for parameter callback. JSONP callback must be a JavaScript identifier (letters, digits, _ and $, dot-separated).`,
      );
    }
  });

  it("an empty callback means plain JSON", async () => {
    const res = await api("/api/system/info?callback=&fields=version");
    expect(res.headers.get("Content-Type")).toBe("application/json;charset=UTF-8");
  });
});

describe("GET /api/system/context", () => {
  it("returns contextPath and userAgent with no-store", async () => {
    const res = await fetchWith({ TRUST_FORWARDED_HEADERS: "true" }, "/api/system/context", {
      headers: { "User-Agent": "curl/8", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "h.example" },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe(NO_STORE);
    expect(await json(res)).toEqual({ contextPath: "https://h.example", userAgent: "curl/8" });
  });

  it("requires authentication", async () => {
    expect((await api("/api/system/context", { auth: null })).status).toBe(401);
  });
});
