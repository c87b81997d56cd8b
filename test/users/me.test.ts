import { describe, expect, it } from "vitest";
import { BOOTSTRAP_ADMIN_UID, SUPERUSER_ROLE_UID } from "../../src/users/bootstrap";
import { api, basic, json } from "../helpers";

describe("GET /api/me", () => {
  it("describes the admin with effective authorities, roles and UI settings", async () => {
    const res = await api("/api/me");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/json;charset=UTF-8");
    expect(res.headers.get("Cache-Control")).toBe("no-cache, private");
    expect(await json(res)).toEqual({
      id: BOOTSTRAP_ADMIN_UID,
      username: "admin",
      name: "System Administrator",
      displayName: "System Administrator",
      firstName: "System",
      surname: "Administrator",
      authorities: ["ALL"],
      userRoles: [{ id: SUPERUSER_ROLE_UID }],
      settings: expect.objectContaining({
        keyUiLocale: "en",
        keyUiLanguageTag: "en",
        keyDbLocale: "en",
        keyStyle: "light_blue/light_blue.css",
      }),
    });
  });

  it("carries the user's own UI settings (the app shell reads settings.keyUiLocale)", async () => {
    expect(
      (await api("/api/userSettings/keyUiLocale", { method: "POST", body: "pt_BR", headers: { "Content-Type": "text/plain" } })).status,
    ).toBeLessThan(300);
    expect(await json(await api("/api/me?fields=settings[keyUiLocale,keyUiLanguageTag]"))).toEqual({
      settings: { keyUiLocale: "pt_BR", keyUiLanguageTag: "pt-BR" },
    });
    await api("/api/userSettings/keyUiLocale", { method: "POST", body: "en", headers: { "Content-Type": "text/plain" } });
  });

  it("honours fields=, including nested selections and exclusions", async () => {
    expect(await json(await api("/api/me?fields=id,authorities"))).toEqual({ id: BOOTSTRAP_ADMIN_UID, authorities: ["ALL"] });
    expect(await json(await api("/api/me?fields=settings[keyUiLocale]"))).toEqual({ settings: { keyUiLocale: "en" } });
    const all = await json(await api("/api/me?fields=*,!settings"));
    expect(all).not.toHaveProperty("settings");
    expect(all.username).toBe("admin");
  });

  it("works on versioned paths and with the .json suffix", async () => {
    for (const path of ["/api/41/me", "/api/me.json", "/api/42/me.json"]) {
      const res = await api(path);
      expect(res.status, path).toBe(200);
      expect((await json(res)).username).toBe("admin");
    }
  });

  it("shows a non-superuser's direct authorities and email", async () => {
    await api("/api/users", {
      method: "POST",
      body: {
        username: "sched",
        password: "Str0ng!pass",
        firstName: "Sch",
        surname: "Eduler",
        email: "s@example.org",
        authorities: ["F_SCHEDULING_ADMIN", "F_JOB_LOG_READ"],
      },
    });
    const me = await json(await api("/api/me", { auth: basic("sched", "Str0ng!pass") }));
    expect(me).toMatchObject({
      username: "sched",
      email: "s@example.org",
      authorities: ["F_JOB_LOG_READ", "F_SCHEDULING_ADMIN"],
      userRoles: [],
    });
    const yes = await api("/api/me/authorization/F_SCHEDULING_ADMIN", { auth: basic("sched", "Str0ng!pass") });
    expect(await json(yes)).toBe(true);
    const no = await api("/api/me/authorization/F_PERFORM_MAINTENANCE", { auth: basic("sched", "Str0ng!pass") });
    expect(await json(no)).toBe(false);
    expect(await json(await api("/api/me/authorization", { auth: basic("sched", "Str0ng!pass") }))).toEqual([
      "F_JOB_LOG_READ",
      "F_SCHEDULING_ADMIN",
    ]);
    expect(await json(await api("/api/me/authorization/ANYTHING"))).toBe(true);
  });

  it("is 401 without credentials", async () => {
    const res = await api("/api/me", { auth: null });
    expect(res.status).toBe(401);
    expect(await json(res)).toEqual({ httpStatus: "Unauthorized", httpStatusCode: 401, status: "ERROR", message: "Unauthorized" });
  });
});

describe("GET /api/me/dashboard", () => {
  it("answers zero counters", async () => {
    const res = await api("/api/me/dashboard");
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ unreadInterpretations: 0, unreadMessageConversations: 0 });
  });
});
