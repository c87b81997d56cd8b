import { beforeAll, describe, expect, it } from "vitest";
import { api, basic, json } from "../helpers";
import { defaultSettings, getSetting, SETTINGS } from "../../src/settings/settings";
import { env } from "cloudflare:test";
import { createUser, PASSWORD } from "./users";

const plain = (path: string, value: string, auth?: string) =>
  api(path, { method: "POST", body: value, headers: { "Content-Type": "text/plain" }, ...(auth ? { auth } : {}) });

describe("GET /api/systemSettings", () => {
  it("answers every key with its default as {key: value}, no-store", async () => {
    const res = await api("/api/systemSettings");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/json;charset=UTF-8");
    expect(res.headers.get("Cache-Control")).toBe("no-cache, no-store, max-age=0, must-revalidate");
    const body = await json(res);
    expect(body).toEqual(defaultSettings());
    expect(body.applicationTitle).toBe("HRHIS4 Edge");
    expect(body.helpPageLink).toBe("https://docs.dhis2.org");
    expect(body.jobsMaxCronDelayHours).toBe(4);
    expect(body.keyUiLocale).toBe("en");
    expect(Object.keys(body).sort()).toEqual(Object.keys(SETTINGS).sort());
  });

  it("filters with ?key= and serves the versioned path", async () => {
    const res = await api("/api/41/systemSettings?key=applicationTitle&key=keyUiLocale&key=nope");
    expect(await json(res)).toEqual({ applicationTitle: "HRHIS4 Edge", keyUiLocale: "en" });
  });

  it("needs authentication", async () => {
    const res = await api("/api/systemSettings", { auth: null, headers: { "X-Requested-With": "XMLHttpRequest" } });
    expect(res.status).toBe(401);
  });
});

describe("/api/systemSettings/{key}", () => {
  it("reads one key as JSON, or as text with Accept: text/plain", async () => {
    const res = await api("/api/systemSettings/applicationTitle");
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ applicationTitle: "HRHIS4 Edge" });
    const text = await api("/api/systemSettings/jobsMaxCronDelayHours", { headers: { Accept: "text/plain" } });
    expect(text.headers.get("Content-Type")).toBe("text/plain;charset=UTF-8");
    expect(await text.text()).toBe("4");
    const suffixed = await api("/api/42/systemSettings/helpPageLink.json");
    expect(await json(suffixed)).toEqual({ helpPageLink: "https://docs.dhis2.org" });
  });

  it("answers 404 for an unknown key on GET, POST and DELETE", async () => {
    for (const method of ["GET", "POST", "DELETE"]) {
      const res = await api("/api/systemSettings/keyNoSuchThing", {
        method,
        ...(method === "POST" ? { body: "x", headers: { "Content-Type": "text/plain" } } : {}),
      });
      expect(res.status).toBe(404);
      expect(await json(res)).toEqual({
        httpStatus: "Not Found",
        httpStatusCode: 404,
        status: "ERROR",
        errorCode: "E1005",
        message: "Setting does not exist: keyNoSuchThing",
      });
    }
  });

  it("stores a text/plain value (what app-runtime sends) and answers DHIS2's WebMessage", async () => {
    const res = await plain("/api/systemSettings/applicationTitle", "My Scheduler");
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      httpStatus: "OK",
      httpStatusCode: 200,
      status: "OK",
      message: "System setting 'applicationTitle' set to value 'My Scheduler'.",
    });
    expect(await json(await api("/api/systemSettings/applicationTitle"))).toEqual({ applicationTitle: "My Scheduler" });
    expect(await getSetting(env.DB, "applicationTitle")).toBe("My Scheduler");
  });

  it("coerces numbers and booleans from text, ?value= and JSON bodies", async () => {
    expect((await plain("/api/systemSettings/jobsMaxCronDelayHours", "12")).status).toBe(200);
    expect(await getSetting(env.DB, "jobsMaxCronDelayHours")).toBe(12);
    expect((await api("/api/systemSettings/notifierGistOverview?value=false", { method: "POST" })).status).toBe(200);
    expect(await getSetting(env.DB, "notifierGistOverview")).toBe(false);
    const viaJson = await api("/api/systemSettings/notifierMaxAgeDays", { method: "POST", body: "30" });
    expect(viaJson.status).toBe(200);
    expect(await json(await api("/api/systemSettings/notifierMaxAgeDays"))).toEqual({ notifierMaxAgeDays: 30 });
    const jsonString = await api("/api/systemSettings/helpPageLink", { method: "POST", body: JSON.stringify("https://example.org/help") });
    expect(await json(jsonString)).toMatchObject({ message: "System setting 'helpPageLink' set to value 'https://example.org/help'." });
  });

  it("rejects values the key's schema refuses with 400 and keeps the old value", async () => {
    await plain("/api/systemSettings/jobsRescheduleAfterMinutes", "20");
    for (const bad of ["0", "abc", "1.5", "999999"]) {
      const res = await plain("/api/systemSettings/jobsRescheduleAfterMinutes", bad);
      expect(res.status).toBe(400);
      const body = await json(res);
      expect(body).toMatchObject({
        httpStatus: "Bad Request",
        httpStatusCode: 400,
        status: "ERROR",
        errorCode: "E1003",
        message: `Not a valid value for setting jobsRescheduleAfterMinutes: ${bad}`,
      });
      expect(typeof body.devMessage).toBe("string");
    }
    expect(await getSetting(env.DB, "jobsRescheduleAfterMinutes")).toBe(20);
    const badBool = await plain("/api/systemSettings/notifierGistOverview", "yes");
    expect(badBool.status).toBe(400);
    const badLocale = await plain("/api/systemSettings/keyUiLocale", "not a locale!");
    expect(badLocale.status).toBe(400);
    const badJson = await api("/api/systemSettings/jobsMaxCronDelayHours", { method: "POST", body: "{oops" });
    expect(badJson.status).toBe(400);
    const objectValue = await api("/api/systemSettings/applicationTitle", { method: "POST", body: { a: 1 } });
    expect(objectValue.status).toBe(400);
  });

  it("resets to the default on DELETE (204, no content type) and on an empty POST", async () => {
    await plain("/api/systemSettings/notifierMaxJobsPerType", "77");
    const del = await api("/api/systemSettings/notifierMaxJobsPerType", { method: "DELETE" });
    expect(del.status).toBe(204);
    expect(del.headers.get("Content-Type")).toBeNull();
    expect(await json(await api("/api/systemSettings/notifierMaxJobsPerType"))).toEqual({ notifierMaxJobsPerType: 500 });
    await plain("/api/systemSettings/loginPopup", "Welcome");
    const empty = await api("/api/systemSettings/loginPopup", { method: "POST" });
    expect(empty.status).toBe(200);
    expect(await json(await api("/api/systemSettings/loginPopup"))).toEqual({ loginPopup: "" });
  });

  it("DELETE ?key= resets several keys and needs at least one", async () => {
    await plain("/api/systemSettings/keyApplicationFooter", "a");
    await plain("/api/systemSettings/keyApplicationIntro", "b");
    const res = await api("/api/systemSettings?key=keyApplicationFooter&key=keyApplicationIntro&key=unknownKey", { method: "DELETE" });
    expect(res.status).toBe(204);
    const body = await json(await api("/api/systemSettings?key=keyApplicationFooter&key=keyApplicationIntro"));
    expect(body).toEqual({ keyApplicationFooter: "", keyApplicationIntro: "" });
    expect((await api("/api/systemSettings", { method: "DELETE" })).status).toBe(400);
  });

  it("POST /api/systemSettings sets several keys, all or nothing", async () => {
    const ok = await api("/api/systemSettings", {
      body: { keyApplicationNotification: "Maintenance at 18:00", notifierMaxMessagesPerJob: "250" },
    });
    expect(ok.status).toBe(200);
    expect(await json(ok)).toEqual({ httpStatus: "OK", httpStatusCode: 200, status: "OK", message: "System settings imported" });
    expect(await getSetting(env.DB, "notifierMaxMessagesPerJob")).toBe(250);
    const bad = await api("/api/systemSettings", { body: { keyApplicationNotification: "changed", notifierMaxMessagesPerJob: -1 } });
    expect(bad.status).toBe(400);
    expect(await getSetting(env.DB, "keyApplicationNotification")).toBe("Maintenance at 18:00");
    const unknown = await api("/api/systemSettings", { body: { keyApplicationNotification: "changed", noSuchKey: 1 } });
    expect(unknown.status).toBe(404);
    expect((await json(unknown)).message).toBe("Setting does not exist: noSuchKey");
    expect((await api("/api/systemSettings", { body: [1, 2] })).status).toBe(400);
  });
});

describe("system setting authority", () => {
  beforeAll(async () => {
    await createUser("ssReader001", "settings-reader", []);
    await createUser("ssWriter001", "settings-writer", ["F_SYSTEM_SETTING"]);
  });

  it("any user reads; writes need ALL or F_SYSTEM_SETTING", async () => {
    const reader = basic("settings-reader", PASSWORD);
    expect((await api("/api/systemSettings", { auth: reader })).status).toBe(200);
    expect((await api("/api/systemSettings/applicationTitle", { auth: reader })).status).toBe(200);
    const denied = await plain("/api/systemSettings/applicationTitle", "Hijacked", reader);
    expect(denied.status).toBe(403);
    expect(await json(denied)).toEqual({
      httpStatus: "Forbidden",
      httpStatusCode: 403,
      status: "ERROR",
      errorCode: "E1006",
      message: "Access is denied, requires one Authority from [F_SYSTEM_SETTING]",
    });
    expect((await api("/api/systemSettings/applicationTitle", { method: "DELETE", auth: reader })).status).toBe(403);
    expect((await api("/api/systemSettings", { body: { loginPopup: "x" }, auth: reader })).status).toBe(403);
    const writer = basic("settings-writer", PASSWORD);
    expect((await plain("/api/systemSettings/loginPopup", "Hello", writer)).status).toBe(200);
    expect(await getSetting(env.DB, "loginPopup")).toBe("Hello");
  });
});
