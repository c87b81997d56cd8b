import { env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { manualClock, setClock } from "../../src/http/clock";
import { isWellFormedTokenKey } from "../../src/users/tokens";
import { api, basic, json } from "../helpers";

const GOOD = "Str0ng!pass";
const KLASS = "org.hisp.dhis.security.apikey.ApiToken";

afterEach(() => setClock(null));

async function makeUser(username: string, authorities: string[] = []) {
  const res = await api("/api/users", { method: "POST", body: { username, password: GOOD, firstName: "T", surname: "U", authorities } });
  expect(res.status).toBe(201);
  return { uid: (await json(res)).response.uid as string, auth: basic(username, GOOD) };
}

describe("POST /api/apiToken", () => {
  it("answers 201 with the key once in response.key, stores only a hash, and the key authenticates", async () => {
    const expire = Date.now() + 3600_000;
    const res = await api("/api/apiToken", { method: "POST", body: { expire, attributes: [] } });
    expect(res.status).toBe(201);
    const body = await json(res);
    expect(body).toEqual({
      httpStatus: "Created",
      httpStatusCode: 201,
      status: "OK",
      response: {
        responseType: "ApiTokenCreationResponse",
        uid: expect.stringMatching(/^[a-zA-Z][a-zA-Z0-9]{10}$/),
        klass: KLASS,
        errorReports: [],
        key: expect.stringMatching(/^d2pat_[0-9a-zA-Z]{32}\d{10}$/),
      },
    });
    expect(isWellFormedTokenKey(body.response.key)).toBe(true);
    expect(res.headers.get("Location")).toBe(`http://localhost:8787/api/apiToken/${body.response.uid}`);
    const row = await env.DB.prepare("SELECT * FROM api_tokens WHERE uid = ?").bind(body.response.uid).first<any>();
    expect(row.expire).toBe(expire);
    expect(JSON.stringify(row)).not.toContain(body.response.key);
    const me = await api("/api/me", { auth: `ApiToken ${body.response.key}` });
    expect(me.status).toBe(200);
    expect((await json(me)).username).toBe("admin");
  });

  it("accepts an empty body (30-day default expiry) and a numeric-string expire", async () => {
    const before = Date.now();
    const res = await api("/api/apiToken", { method: "POST" });
    expect(res.status).toBe(201);
    const uid = (await json(res)).response.uid;
    const row = await env.DB.prepare("SELECT expire FROM api_tokens WHERE uid = ?").bind(uid).first<{ expire: number }>();
    expect(row!.expire - before).toBeGreaterThanOrEqual(30 * 24 * 3600_000 - 1000);
    const str = await api("/api/apiToken", { method: "POST", body: { expire: String(Date.now() + 60_000) } });
    expect(str.status).toBe(201);
  });

  it("stores the token's restrictions (normalized, empty lists dropped) and shows them", async () => {
    const res = await api("/api/apiToken", {
      method: "POST",
      body: {
        attributes: [
          { type: "MethodAllowedList", allowedMethods: ["get", "GET"] },
          { type: "IpAllowedList", allowedIps: [] },
          { type: "RefererAllowedList", allowedReferrers: ["https://Apps.example.org/Dashboard"] },
        ],
      },
    });
    expect(res.status).toBe(201);
    const uid = (await json(res)).response.uid;
    const token = await json(await api(`/api/apiToken/${uid}`));
    expect(token.attributes).toEqual([
      { type: "MethodAllowedList", allowedMethods: ["GET"] },
      { type: "RefererAllowedList", allowedReferrers: ["https://apps.example.org/dashboard"] },
    ]);
    const open = await api("/api/apiToken", { method: "POST", body: { attributes: [{ type: "IpAllowedList", allowedIps: [] }] } });
    const row = await env.DB.prepare("SELECT attributes FROM api_tokens WHERE uid = ?")
      .bind((await json(open)).response.uid)
      .first<{ attributes: string | null }>();
    expect(row!.attributes).toBeNull();
  });

  it("enforces the restrictions at every request (401 with DHIS2's message)", async () => {
    const create = async (attributes: unknown[]) =>
      (await json(await api("/api/apiToken", { method: "POST", body: { attributes } }))).response.key as string;
    const call = (key: string, headers: Record<string, string> = {}, method = "GET") =>
      api("/api/system/ping", { auth: `ApiToken ${key}`, headers, method });
    const refused = async (res: Response, message: string) => {
      expect(res.status).toBe(401);
      expect(await json(res)).toMatchObject({ httpStatusCode: 401, status: "ERROR", message });
    };

    const byIp = await create([{ type: "IpAllowedList", allowedIps: ["203.0.113.7", "2001:DB8::1"] }]);
    expect((await call(byIp, { "CF-Connecting-IP": "203.0.113.7" })).status).toBe(200);
    expect((await call(byIp, { "CF-Connecting-IP": "2001:db8::1" })).status).toBe(200);
    await refused(
      await call(byIp, { "CF-Connecting-IP": "198.51.100.1" }),
      "Failed to authenticate API token, request ip address is not allowed.",
    );
    await refused(await call(byIp), "Failed to authenticate API token, request ip address is not allowed.");

    const getOnly = await create([{ type: "MethodAllowedList", allowedMethods: ["GET"] }]);
    expect((await call(getOnly)).status).toBe(200);
    await refused(
      await api("/api/apiToken", { method: "POST", auth: `ApiToken ${getOnly}`, body: {} }),
      "Failed to authenticate API token, request http method is not allowed.",
    );

    const fromApp = await create([{ type: "RefererAllowedList", allowedReferrers: ["https://apps.example.org/dashboard"] }]);
    expect((await call(fromApp, { Referer: "https://APPS.example.org/dashboard" })).status).toBe(200);
    await refused(await call(fromApp), "Failed to authenticate API token, request http referrer is missing or not allowed.");
    await refused(
      await call(fromApp, { Referer: "https://evil.example.org/" }),
      "Failed to authenticate API token, request http referrer is missing or not allowed.",
    );
  });

  it.each([
    [[{ type: "IpAllowedList", allowedIps: ["10.0.0.300"] }], "Not a valid ip address, value=10.0.0.300"],
    [[{ type: "IpAllowedList", allowedIps: ["localhost"] }], "Not a valid ip address, value=localhost"],
    [
      [{ type: "MethodAllowedList", allowedMethods: ["TRACE"] }],
      "Not a valid http method, value=TRACE; allowed: GET, POST, PUT, PATCH, DELETE",
    ],
    [
      [{ type: "GeoAllowedList", allowed: ["NO"] }],
      "Unknown token attribute type `GeoAllowedList`; expected one of IpAllowedList, MethodAllowedList, RefererAllowedList.",
    ],
    [[{ type: "IpAllowedList", allowedIps: "10.0.0.1" }], "Property `allowedIps` of IpAllowedList must be a list of strings."],
    [
      [{ type: "IpAllowedList", allowedIps: Array.from({ length: 101 }, (_, i) => `10.0.${Math.floor(i / 250)}.${i % 250}`) }],
      "A token may carry at most 100 attribute entries.",
    ],
  ])("refuses the attributes %j with 409", async (attributes, message) => {
    const res = await api("/api/apiToken", { method: "POST", body: { attributes } });
    expect(res.status).toBe(409);
    expect((await json(res)).response.errorReports[0]).toMatchObject({
      errorCode: "E4027",
      errorProperty: "attributes",
      mainKlass: KLASS,
      message,
    });
  });

  it.each([
    [{ expire: 1000 }, "Property `expire` must be a time in the future (epoch milliseconds)."],
    [{ expire: "tomorrow" }, "Value `tomorrow` is not valid for property `expire` (epoch milliseconds)."],
    [{ expire: 1.5e15 + 0.5 }, "Value `1500000000000000.5` is not valid for property `expire` (epoch milliseconds)."],
    [{ attributes: "x" }, "Property `attributes` must be a list."],
    [{ expire: 9e15 }, "Value `9000000000000000` is not valid for property `expire` (epoch milliseconds)."],
  ])("refuses %j with 409", async (body, message) => {
    const res = await api("/api/apiToken", { method: "POST", body });
    expect(res.status).toBe(409);
    const msg = await json(res);
    expect(msg).toMatchObject({ httpStatusCode: 409, status: "ERROR", response: { responseType: "ObjectReport", klass: KLASS } });
    expect(msg.response.errorReports[0].message).toBe(message);
  });

  it("refuses malformed JSON with 400 and a JSON array with 400", async () => {
    expect((await api("/api/apiToken", { method: "POST", body: "{x" })).status).toBe(400);
    expect((await api("/api/apiToken", { method: "POST", body: "[]" })).status).toBe(400);
  });

  it("an expired token is refused with 401", async () => {
    const res = await api("/api/apiToken", { method: "POST", body: { expire: Date.now() + 60_000 } });
    const key = (await json(res)).response.key;
    expect((await api("/api/system/ping", { auth: `ApiToken ${key}` })).status).toBe(200);
    setClock(manualClock(Date.now() + 120_000));
    const late = await api("/api/system/ping", { auth: `ApiToken ${key}` });
    expect(late.status).toBe(401);
    expect(await json(late)).toMatchObject({ httpStatusCode: 401, message: "Unauthorized" });
  });

  it("a made-up or mangled token is refused with 401", async () => {
    for (const auth of ["ApiToken d2pat_abc", `ApiToken d2pat_${"a".repeat(32)}0000000000`, "ApiToken "]) {
      const res = await api("/api/system/ping", { auth });
      expect(res.status).toBe(401);
      expect(res.headers.get("WWW-Authenticate")).toBe('Basic realm="HRHIS4"');
    }
  });
});

describe("GET and DELETE /api/apiToken", () => {
  it("lists only the caller's tokens, never the key or hash", async () => {
    const alice = await makeUser("tokalice");
    const created = await json(await api("/api/apiToken", { method: "POST", body: { name: "ci" }, auth: alice.auth }));
    await api("/api/apiToken", { method: "POST", body: {} }); // admin's token
    const res = await api("/api/apiToken", { auth: alice.auth });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.pager).toEqual({ page: 1, pageCount: 1, total: 1, pageSize: 1 });
    expect(body.apiToken).toEqual([
      {
        id: created.response.uid,
        name: "ci",
        type: "PERSONAL_ACCESS_TOKEN",
        version: 1,
        created: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}$/),
        expire: expect.any(Number),
        attributes: [],
        createdBy: { id: alice.uid, username: "tokalice" },
      },
    ]);
    expect(JSON.stringify(body)).not.toContain("d2pat_");
    const filtered = await json(await api("/api/apiToken?fields=id,expire", { auth: alice.auth }));
    expect(Object.keys(filtered.apiToken[0])).toEqual(["id", "expire"]);
    const one = await api(`/api/apiToken/${created.response.uid}`, { auth: alice.auth });
    expect((await json(one)).id).toBe(created.response.uid);
  });

  it("DELETE by the owner revokes the token at once", async () => {
    const bob = await makeUser("tokbob");
    const created = await json(await api("/api/apiToken", { method: "POST", body: {}, auth: bob.auth }));
    const tokenAuth = `ApiToken ${created.response.key}`;
    expect((await api("/api/me", { auth: tokenAuth })).status).toBe(200);
    const res = await api(`/api/apiToken/${created.response.uid}`, { method: "DELETE", auth: bob.auth });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      httpStatus: "OK",
      httpStatusCode: 200,
      status: "OK",
      response: { responseType: "ObjectReport", uid: created.response.uid, klass: KLASS, errorReports: [] },
    });
    expect((await api("/api/me", { auth: tokenAuth })).status).toBe(401);
    expect((await api(`/api/apiToken/${created.response.uid}`, { method: "DELETE", auth: bob.auth })).status).toBe(404);
  });

  it("another user's token is a 404 (read or delete); a superuser may delete it", async () => {
    const carl = await makeUser("tokcarl");
    const dora = await makeUser("tokdora");
    const created = await json(await api("/api/apiToken", { method: "POST", body: {}, auth: carl.auth }));
    const id = created.response.uid;
    const read = await api(`/api/apiToken/${id}`, { auth: dora.auth });
    expect(read.status).toBe(404);
    expect(await json(read)).toMatchObject({ httpStatusCode: 404, message: `ApiToken with id ${id} could not be found.` });
    expect((await api(`/api/apiToken/${id}`, { method: "DELETE", auth: dora.auth })).status).toBe(404);
    expect((await api(`/api/apiToken/${id}`, { method: "DELETE" })).status).toBe(200);
  });

  it("bad ids: 400 for a malformed uid, 404 for an unknown one", async () => {
    expect((await api("/api/apiToken/bad")).status).toBe(400);
    expect((await api("/api/apiToken/Zzzzzzzzzz1", { method: "DELETE" })).status).toBe(404);
  });

  it("a disabled user's token stops working", async () => {
    const eve = await makeUser("tokeve");
    const created = await json(await api("/api/apiToken", { method: "POST", body: {}, auth: eve.auth }));
    await api(`/api/users/${eve.uid}`, { method: "PUT", body: { firstName: "E", surname: "V", disabled: true } });
    const res = await api("/api/me", { auth: `ApiToken ${created.response.key}` });
    expect(res.status).toBe(401);
    expect((await json(res)).message).toBe("Account disabled");
  });
});
