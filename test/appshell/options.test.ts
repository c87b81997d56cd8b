import { afterEach, describe, expect, it, vi } from "vitest";
import { api, json } from "../helpers";
import {
  ANALYTICS_TABLE_TYPES,
  bridgedOptionSource,
  emptyOptionSource,
  OPTION_LISTS,
  setOptionSourceFactory,
} from "../../src/appshell/options";

afterEach(() => setOptionSourceFactory(null));

describe("option lists without a DHIS2 bridge", () => {
  it("analytics/tableTypes answers DHIS2's AnalyticsTableType enum as a bare array", async () => {
    const res = await api("/api/41/analytics/tableTypes", {
      headers: { "X-Requested-With": "XMLHttpRequest", Accept: "application/json" },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/json;charset=UTF-8");
    expect(await json(res)).toEqual([
      "DATA_VALUE",
      "COMPLETENESS",
      "COMPLETENESS_TARGET",
      "ORG_UNIT_TARGET",
      "VALIDATION_RESULT",
      "EVENT",
      "ENROLLMENT",
      "OWNERSHIP",
      "TRACKED_ENTITY_INSTANCE_EVENTS",
      "TRACKED_ENTITY_INSTANCE_ENROLLMENTS",
      "TRACKED_ENTITY_INSTANCE",
    ]);
  });

  it("dataIntegrity answers an empty bare array", async () => {
    const res = await api("/api/41/dataIntegrity");
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual([]);
  });

  it.each(OPTION_LISTS)("%s answers an empty DHIS2 list, with pager by default and without it for paging=false", async (name) => {
    const paged = await api(`/api/41/${name}`);
    expect(paged.status).toBe(200);
    expect(paged.headers.get("Cache-Control")).toBe("no-cache, private");
    expect(await json(paged)).toEqual({ pager: { page: 1, total: 0, pageSize: 50, pageCount: 1 }, [name]: [] });
    const flat = await api(`/api/41/${name}?paging=false&fields=id,displayName`);
    expect(await json(flat)).toEqual({ [name]: [] });
    const suffix = await api(`/api/${name}.json?paging=false`);
    expect(await json(suffix)).toEqual({ [name]: [] });
  });

  it("validates paging parameters like DHIS2 (400 WebMessage)", async () => {
    const res = await api("/api/predictors?paging=maybe");
    expect(res.status).toBe(400);
    expect((await json(res)).message).toBe("Value 'maybe' is not valid for parameter paging. Invalid boolean value 'maybe'");
    expect((await api("/api/predictors?page=x")).status).toBe(400);
  });

  it("needs authentication", async () => {
    for (const path of ["/api/analytics/tableTypes", "/api/dataIntegrity", "/api/userGroups"]) {
      const res = await api(path, { auth: null, headers: { "X-Requested-With": "XMLHttpRequest" } });
      expect(res.status).toBe(401);
      expect(await json(res)).toEqual({ httpStatus: "Unauthorized", httpStatusCode: 401, status: "ERROR", message: "Unauthorized" });
    }
  });

  it("the empty source answers empty lists", async () => {
    expect(await emptyOptionSource.list("dashboards")).toEqual([]);
    expect(await emptyOptionSource.dataIntegrityChecks()).toEqual([]);
    expect(ANALYTICS_TABLE_TYPES).toHaveLength(11);
  });
});

describe("option lists from a DHIS2 bridge", () => {
  const groups = [
    { id: "aaaaaaaaaa1", displayName: "ANC" },
    { id: "aaaaaaaaaa2", displayName: "Immunisation", code: "IMM" },
    { id: 42, displayName: "broken entry" },
  ];

  it("answers the bridge's entries as {id, displayName}, pages them, and caches", async () => {
    const calls: string[] = [];
    let now = 1_000_000;
    const source = bridgedOptionSource(
      async (path) => {
        calls.push(path);
        return { pager: { page: 1 }, validationRuleGroups: groups };
      },
      { now: () => now, ttlMs: 60_000 },
    );
    setOptionSourceFactory(() => source);
    const res = await api("/api/validationRuleGroups?paging=false");
    expect(await json(res)).toEqual({
      validationRuleGroups: [
        { id: "aaaaaaaaaa1", displayName: "ANC" },
        { id: "aaaaaaaaaa2", displayName: "Immunisation" },
      ],
    });
    const page2 = await json(await api("/api/validationRuleGroups?pageSize=1&page=2"));
    expect(page2.pager).toMatchObject({ page: 2, total: 2, pageSize: 1, pageCount: 2 });
    expect(page2.pager.prevPage).toBe("http://localhost:8787/api/validationRuleGroups?pageSize=1&page=1");
    expect(page2.pager.nextPage).toBeUndefined();
    expect(page2.validationRuleGroups).toEqual([{ id: "aaaaaaaaaa2", displayName: "Immunisation" }]);
    expect(calls).toEqual(["/api/validationRuleGroups?fields=id,displayName&paging=false"]);
    now += 61_000;
    await api("/api/validationRuleGroups");
    expect(calls).toHaveLength(2);
  });

  it("a failing bridge answers an empty list and logs a warning, never a 5xx", async () => {
    const warnings: string[] = [];
    const source = bridgedOptionSource(
      async () => {
        throw new Error("connection refused");
      },
      { now: () => 0, warn: (m) => warnings.push(m) },
    );
    setOptionSourceFactory(() => source);
    const res = await api("/api/dashboards");
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ pager: { page: 1, total: 0, pageSize: 50, pageCount: 1 }, dashboards: [] });
    const checks = await api("/api/dataIntegrity");
    expect(await json(checks)).toEqual([]);
    expect(warnings).toEqual([
      "Option list dashboards: DHIS2 bridge failed (connection refused); answering an empty list",
      "Option list dataIntegrity: DHIS2 bridge failed (connection refused); answering an empty list",
    ]);
  });

  it("a slow bridge times out into an empty list; a wrong shape too", async () => {
    const warnings: string[] = [];
    const slow = bridgedOptionSource((_, signal) => new Promise((resolve) => signal.addEventListener("abort", () => resolve({}))), {
      now: () => 0,
      timeoutMs: 20,
      warn: (m) => warnings.push(m),
    });
    expect(await slow.list("programs")).toEqual([]);
    expect(warnings[0]).toBe("Option list programs: DHIS2 bridge failed (timed out after 20 ms); answering an empty list");
    const wrong = bridgedOptionSource(async () => ({ unexpected: true }), { now: () => 0, warn: (m) => warnings.push(m) });
    expect(await wrong.list("userGroups")).toEqual([]);
    expect(await wrong.dataIntegrityChecks()).toEqual([]);
    expect(warnings.slice(1)).toEqual([
      "Option list userGroups: DHIS2 bridge failed (unexpected response shape); answering an empty list",
      "Option list dataIntegrity: DHIS2 bridge failed (unexpected response shape); answering an empty list",
    ]);
  });

  it("the default warning goes to console.warn", async () => {
    const spy = vi.spyOn(console, "warn").mockImplementation(() => {});
    const source = bridgedOptionSource(async () => null, { now: () => 0 });
    expect(await source.list("predictorGroups")).toEqual([]);
    expect(spy).toHaveBeenCalledWith(
      "Option list predictorGroups: DHIS2 bridge failed (unexpected response shape); answering an empty list",
    );
    spy.mockRestore();
  });

  it("passes data integrity checks through", async () => {
    const check = { name: "orgunits_invalid_geometry", displayName: "Invalid geometry", severity: "WARNING", isSlow: false };
    const source = bridgedOptionSource(async () => [check, { bogus: 1 }], { now: () => 0 });
    setOptionSourceFactory(() => source);
    expect(await json(await api("/api/dataIntegrity"))).toEqual([check]);
  });
});
