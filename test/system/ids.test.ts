import { describe, expect, it } from "vitest";
import { codeCount, MAX_CODES } from "../../src/system/ids";
import { NO_STORE } from "../../src/http/respond";
import { api, json } from "../helpers";

const UID = /^[a-zA-Z][a-zA-Z0-9]{10}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe("GET /api/system/id", () => {
  it("returns one UID by default, with the no-store header", async () => {
    const res = await api("/api/system/id");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/json;charset=UTF-8");
    expect(res.headers.get("Cache-Control")).toBe(NO_STORE);
    const body = await json(res);
    expect(Object.keys(body)).toEqual(["codes"]);
    expect(body.codes).toHaveLength(1);
    expect(body.codes[0]).toMatch(UID);
  });

  it("honours limit, and /uid is an alias", async () => {
    for (const path of ["/api/system/id?limit=3", "/api/system/uid?limit=3"]) {
      const body = await json(await api(path));
      expect(body.codes).toHaveLength(3);
      for (const c of body.codes) expect(c).toMatch(UID);
    }
  });

  it("caps limit at 10000 and gives 10000 distinct, well-formed UIDs", async () => {
    const body = await json(await api("/api/system/id?limit=20000"));
    expect(body.codes).toHaveLength(MAX_CODES);
    expect(new Set(body.codes).size).toBe(MAX_CODES);
    for (const c of body.codes) expect(c).toMatch(UID);
  });

  it("uses every allowed character in each position class (no skewed alphabet)", async () => {
    const body = await json(await api("/api/system/id?limit=10000"));
    const first = new Set(body.codes.map((c: string) => c[0]));
    const rest = new Set(body.codes.flatMap((c: string) => c.slice(1).split("")));
    expect(first.size).toBe(52);
    expect(rest.size).toBe(62);
  });

  it.each(["0", "-5", "-2147483648"])("limit=%s gives an empty list", async (limit) => {
    const res = await api(`/api/system/id?limit=${limit}`);
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({ codes: [] });
  });

  it("an empty limit falls back to the default, hexadecimal is accepted like Integer.decode", async () => {
    expect((await json(await api("/api/system/id?limit="))).codes).toHaveLength(1);
    expect((await json(await api("/api/system/id?limit=0x10"))).codes).toHaveLength(16);
  });

  it("ignores unknown parameters such as ?n=5", async () => {
    const body = await json(await api("/api/system/id.json?n=5"));
    expect(body.codes).toHaveLength(1);
  });

  it.each(["abc", "1.5", "99999999999", "1e3"])("limit=%s is a 400 WebMessage with DHIS2's wording", async (limit) => {
    const res = await api(`/api/system/id?limit=${encodeURIComponent(limit)}`);
    expect(res.status).toBe(400);
    expect(res.headers.get("Cache-Control")).toBe("no-cache, private");
    expect(await json(res)).toEqual({
      httpStatus: "Bad Request",
      httpStatusCode: 400,
      status: "ERROR",
      errorCode: "E1003",
      message: `Value '${limit}' is not valid for parameter limit. For input string: "${limit}"`,
    });
  });

  it("answers CSV for Accept: application/csv", async () => {
    const res = await api("/api/system/id?limit=4", { headers: { Accept: "application/csv" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/csv;charset=UTF-8");
    expect(res.headers.get("Cache-Control")).toBe(NO_STORE);
    const lines = (await res.text()).split("\n");
    expect(lines[0]).toBe("uid");
    expect(lines.slice(1, 5).every((l) => UID.test(l))).toBe(true);
    expect(lines.slice(5)).toEqual([""]);
  });

  it("answers CSV for the .csv suffix, also under a versioned path", async () => {
    for (const path of ["/api/system/id.csv?limit=2", "/api/41/system/uid.csv?limit=2"]) {
      const res = await api(path);
      expect(res.headers.get("Content-Type")).toBe("application/csv;charset=UTF-8");
      const lines = (await res.text()).trimEnd().split("\n");
      expect(lines).toHaveLength(3);
      expect(lines[0]).toBe("uid");
    }
  });

  it("CSV with limit=0 is the header line only", async () => {
    const res = await api("/api/system/id.csv?limit=0");
    expect(await res.text()).toBe("uid\n");
  });

  it("answers XML for the .xml suffix", async () => {
    const res = await api("/api/system/id.xml?limit=2");
    expect(res.headers.get("Content-Type")).toBe("application/xml;charset=UTF-8");
    expect(await res.text()).toMatch(
      /^<\?xml version='1.0' encoding='UTF-8'\?><codes><code>[a-zA-Z][a-zA-Z0-9]{10}<\/code><code>[a-zA-Z][a-zA-Z0-9]{10}<\/code><\/codes>$/,
    );
  });

  it("prefers JSON when the Accept header ranks it higher", async () => {
    const res = await api("/api/system/id", { headers: { Accept: "application/csv;q=0.5, application/json" } });
    expect(res.headers.get("Content-Type")).toBe("application/json;charset=UTF-8");
  });

  it("requires authentication", async () => {
    const res = await api("/api/system/id", { auth: null });
    expect(res.status).toBe(401);
  });

  it("codeCount applies default, floor and cap", () => {
    expect(codeCount(undefined)).toBe(1);
    expect(codeCount(0)).toBe(0);
    expect(codeCount(-1)).toBe(0);
    expect(codeCount(10_001)).toBe(10_000);
    expect(codeCount(7)).toBe(7);
  });
});

describe("GET /api/system/uuid", () => {
  it("returns version 4 UUIDs", async () => {
    const res = await api("/api/system/uuid?limit=5");
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe(NO_STORE);
    const body = await json(res);
    expect(body.codes).toHaveLength(5);
    for (const c of body.codes) expect(c).toMatch(UUID);
  });

  it("defaults to one, caps at 10000, and refuses a bad limit", async () => {
    expect((await json(await api("/api/system/uuid"))).codes).toHaveLength(1);
    expect((await json(await api("/api/system/uuid?limit=10001"))).codes).toHaveLength(10000);
    expect(await json(await api("/api/system/uuid?limit=-1"))).toEqual({ codes: [] });
    const bad = await api("/api/system/uuid?limit=x");
    expect(bad.status).toBe(400);
    expect((await json(bad)).message).toBe(`Value 'x' is not valid for parameter limit. For input string: "x"`);
  });

  it("answers CSV with a uuid header line", async () => {
    const res = await api("/api/system/uuid.csv?limit=2");
    const lines = (await res.text()).trimEnd().split("\n");
    expect(lines[0]).toBe("uuid");
    expect(lines[1]).toMatch(UUID);
  });
});
