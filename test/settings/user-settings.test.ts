import { beforeAll, describe, expect, it } from "vitest";
import { api, basic, json } from "../helpers";
import { createUser, PASSWORD } from "./users";

const DEFAULTS = {
  keyUiLocale: "en",
  keyDbLocale: "en",
  keyStyle: "light_blue/light_blue.css",
  keyAnalysisDisplayProperty: "name",
  keyMessageEmailNotification: false,
  keyMessageSmsNotification: false,
  keyTrackerDashboardLayout: "",
  keyUiLanguageTag: "en",
};

const text = (path: string, value: string, auth: string) =>
  api(path, { method: "POST", body: value, headers: { "Content-Type": "text/plain", "X-Requested-With": "XMLHttpRequest" }, auth });

describe("/api/userSettings", () => {
  const alice = basic("us-alice", PASSWORD);
  const bob = basic("us-bob", PASSWORD);
  beforeAll(async () => {
    await createUser("usAlice0001", "us-alice");
    await createUser("usBob000001", "us-bob");
  });

  it("answers every key with defaults (private, no-cache)", async () => {
    const res = await api("/api/41/userSettings", { auth: alice });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/json;charset=UTF-8");
    expect(res.headers.get("Cache-Control")).toBe("no-cache, private");
    expect(await json(res)).toEqual(DEFAULTS);
  });

  it("reads one key as text/plain", async () => {
    const res = await api("/api/userSettings/keyUiLocale", { auth: alice });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("text/plain;charset=UTF-8");
    expect(await res.text()).toBe("en");
    expect(await (await api("/api/userSettings/keyMessageEmailNotification", { auth: alice })).text()).toBe("false");
    expect(await (await api("/api/userSettings/keyUiLanguageTag", { auth: alice })).text()).toBe("en");
  });

  it("stores a value per user; keyUiLanguageTag follows keyUiLocale", async () => {
    const res = await text("/api/userSettings/keyUiLocale", "pt_BR", alice);
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ httpStatus: "OK", httpStatusCode: 200, status: "OK", message: "User setting saved" });
    const mine = await json(await api("/api/userSettings", { auth: alice }));
    expect(mine.keyUiLocale).toBe("pt_BR");
    expect(mine.keyUiLanguageTag).toBe("pt-BR");
    const theirs = await json(await api("/api/userSettings", { auth: bob }));
    expect(theirs.keyUiLocale).toBe("en");
    expect(await json(await api("/api/userSettings?useFallback=false", { auth: alice }))).toEqual({
      keyUiLocale: "pt_BR",
      keyUiLanguageTag: "pt-BR",
    });
    expect(await json(await api("/api/userSettings?useFallback=false", { auth: bob }))).toEqual({});
    expect(await (await api("/api/userSettings/keyDbLocale?useFallback=false", { auth: bob })).text()).toBe("");
  });

  it("accepts ?value=, JSON bodies and coerces booleans", async () => {
    expect((await api("/api/userSettings/keyMessageEmailNotification?value=true", { method: "POST", auth: bob })).status).toBe(200);
    expect((await api("/api/userSettings/keyAnalysisDisplayProperty", { body: JSON.stringify("SHORTNAME"), auth: bob })).status).toBe(200);
    const settings = await json(await api("/api/userSettings", { auth: bob }));
    expect(settings.keyMessageEmailNotification).toBe(true);
    expect(settings.keyAnalysisDisplayProperty).toBe("shortName");
  });

  it("falls back to the system setting of the same name", async () => {
    const set = await api("/api/systemSettings/keyUiLocale", { method: "POST", body: "fr", headers: { "Content-Type": "text/plain" } });
    expect(set.status).toBe(200);
    const bobs = await json(await api("/api/userSettings", { auth: bob }));
    expect(bobs.keyUiLocale).toBe("fr");
    expect(bobs.keyUiLanguageTag).toBe("fr");
    expect((await json(await api("/api/userSettings", { auth: alice }))).keyUiLocale).toBe("pt_BR");
    await api("/api/systemSettings/keyUiLocale", { method: "DELETE" });
  });

  it("DELETE removes the user's value (200, empty)", async () => {
    await text("/api/userSettings/keyStyle", "green/green.css", alice);
    const del = await api("/api/userSettings/keyStyle", { method: "DELETE", auth: alice });
    expect(del.status).toBe(200);
    expect(del.headers.get("Content-Type")).toBeNull();
    expect(await del.text()).toBe("");
    expect((await json(await api("/api/userSettings", { auth: alice }))).keyStyle).toBe("light_blue/light_blue.css");
  });

  it("refuses unknown keys, empty values, bad values and the derived key", async () => {
    const unknown = await text("/api/userSettings/keyNope", "x", alice);
    expect(unknown.status).toBe(404);
    expect((await json(unknown)).message).toBe("Setting does not exist: keyNope");
    expect((await api("/api/userSettings/keyNope", { auth: alice })).status).toBe(404);
    const empty = await api("/api/userSettings/keyUiLocale", { method: "POST", auth: alice });
    expect(empty.status).toBe(409);
    expect(await json(empty)).toEqual({
      httpStatus: "Conflict",
      httpStatusCode: 409,
      status: "ERROR",
      errorCode: "E1004",
      message: "You need to specify a new value",
    });
    const bad = await text("/api/userSettings/keyMessageSmsNotification", "maybe", alice);
    expect(bad.status).toBe(400);
    expect((await json(bad)).message).toBe("Not a valid value for setting keyMessageSmsNotification: maybe");
    expect((await text("/api/userSettings/keyUiLocale", "../../etc", alice)).status).toBe(400);
    expect((await text("/api/userSettings/keyUiLanguageTag", "en", alice)).status).toBe(409);
  });

  it("only superusers touch other users' settings", async () => {
    const denied = await api("/api/userSettings?user=us-alice", { auth: bob });
    expect(denied.status).toBe(403);
    const asAdmin = await json(await api("/api/userSettings?user=us-alice"));
    expect(asAdmin.keyUiLocale).toBe("pt_BR");
    const byId = await api("/api/userSettings/keyDbLocale?userId=usBob000001", {
      method: "POST",
      body: "nb",
      headers: { "Content-Type": "text/plain" },
    });
    expect(byId.status).toBe(200);
    expect((await json(await api("/api/userSettings", { auth: bob }))).keyDbLocale).toBe("nb");
    expect((await api("/api/userSettings?userId=noSuchUser1")).status).toBe(404);
    expect((await api("/api/userSettings?user=us-bob", { auth: bob })).status).toBe(200);
  });

  it("needs authentication", async () => {
    expect((await api("/api/userSettings", { auth: null, headers: { "X-Requested-With": "XMLHttpRequest" } })).status).toBe(401);
  });
});
