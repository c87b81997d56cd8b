/**
 * Issue 14, point 4: no credential broader than its parent. A token created while authenticated with
 * a token keeps that token's IP / method / referrer restrictions (it may only narrow them), never
 * expires after it, and is revoked with it; the system setting apiTokenMaxLifetimeDays caps every
 * token's lifetime, new and old.
 */
import { env } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { ensureBootstrapAdmin } from "../../src/users/bootstrap";
import { api, json } from "../helpers";

const DAY = 24 * 3600 * 1000;
const IP = "203.0.113.10";

interface TokenRow {
  uid: string;
  expire: number | null;
  attributes: string | null;
  parent_uid: string | null;
}

async function createToken(auth: string | undefined, body: unknown, headers: Record<string, string> = {}) {
  const res = await api("/api/apiToken", { method: "POST", auth, body, headers });
  return { status: res.status, body: await json(res) };
}

const row = (uid: string) =>
  env.DB.prepare(`SELECT uid, expire, attributes, parent_uid FROM api_tokens WHERE uid = ?`).bind(uid).first<TokenRow>();

const asToken = (key: string) => `ApiToken ${key}`;

beforeAll(async () => {
  await ensureBootstrapAdmin(env, Date.now());
});

afterEach(async () => {
  await env.DB.prepare(`DELETE FROM system_settings WHERE key = 'apiTokenMaxLifetimeDays'`).run();
});

describe("a token created with a token", () => {
  async function restrictedParent() {
    const expire = Date.now() + DAY;
    const created = await createToken(undefined, {
      expire,
      attributes: [
        { type: "IpAllowedList", allowedIps: [IP] },
        { type: "MethodAllowedList", allowedMethods: ["GET", "POST"] },
      ],
    });
    expect(created.status).toBe(201);
    return { uid: created.body.response.uid as string, key: created.body.response.key as string, expire };
  }

  it("inherits the parent's restrictions and expiry", async () => {
    const parent = await restrictedParent();
    const child = await createToken(asToken(parent.key), {}, { "CF-Connecting-IP": IP });
    expect(child.status).toBe(201);
    const stored = (await row(child.body.response.uid))!;
    expect(stored.parent_uid).toBe(parent.uid);
    expect(stored.expire).toBe(parent.expire);
    expect(JSON.parse(stored.attributes!)).toEqual([
      { type: "IpAllowedList", allowedIps: [IP] },
      { type: "MethodAllowedList", allowedMethods: ["GET", "POST"] },
    ]);
    const key = child.body.response.key;
    expect((await api("/api/me", { auth: asToken(key), headers: { "CF-Connecting-IP": IP } })).status).toBe(200);
    expect((await api("/api/me", { auth: asToken(key), headers: { "CF-Connecting-IP": "203.0.113.99" } })).status).toBe(401);
    const del = await api(`/api/apiToken/${child.body.response.uid}`, {
      method: "DELETE",
      auth: asToken(key),
      headers: { "CF-Connecting-IP": IP },
    });
    expect(del.status).toBe(401);
  });

  it("may narrow the restrictions, not widen them, and may not outlive the parent", async () => {
    const parent = await restrictedParent();
    const headers = { "CF-Connecting-IP": IP };
    const wider = await createToken(
      asToken(parent.key),
      { attributes: [{ type: "MethodAllowedList", allowedMethods: ["GET", "DELETE"] }] },
      headers,
    );
    expect(wider.status).toBe(409);
    expect(wider.body.response.errorReports.map((e: any) => [e.errorCode, e.errorProperty])).toEqual([["E4027", "attributes"]]);
    expect(wider.body.response.errorReports[0].message).toContain("may only narrow its MethodAllowedList");

    const later = await createToken(asToken(parent.key), { expire: 253402300799999 }, headers);
    expect(later.status).toBe(409);
    expect(later.body.response.errorReports[0].message).toBe(
      `Property \`expire\` must not be later than ${parent.expire} (epoch milliseconds): the expiry of the token used to create this one.`,
    );

    const narrower = await createToken(
      asToken(parent.key),
      { expire: parent.expire - 1000, attributes: [{ type: "MethodAllowedList", allowedMethods: ["GET"] }] },
      headers,
    );
    expect(narrower.status).toBe(201);
    const stored = (await row(narrower.body.response.uid))!;
    expect(stored.expire).toBe(parent.expire - 1000);
    expect(JSON.parse(stored.attributes!)).toEqual([
      { type: "IpAllowedList", allowedIps: [IP] },
      { type: "MethodAllowedList", allowedMethods: ["GET"] },
    ]);
  });

  it("is revoked with its parent (and its own children with it)", async () => {
    const parent = await restrictedParent();
    const headers = { "CF-Connecting-IP": IP };
    const child = await createToken(asToken(parent.key), {}, headers);
    const grandchild = await createToken(asToken(child.body.response.key), {}, headers);
    expect(grandchild.status).toBe(201);
    expect((await api("/api/me", { auth: asToken(grandchild.body.response.key), headers })).status).toBe(200);
    expect((await api(`/api/apiToken/${parent.uid}`, { method: "DELETE" })).status).toBe(200);
    expect(await row(child.body.response.uid)).toBeNull();
    expect(await row(grandchild.body.response.uid)).toBeNull();
    expect((await api("/api/me", { auth: asToken(grandchild.body.response.key), headers })).status).toBe(401);
  });

  it("created with Basic or a session, a token has no parent", async () => {
    const created = await createToken(undefined, { expire: 253402300799999 });
    expect(created.status).toBe(201);
    expect((await row(created.body.response.uid))!.parent_uid).toBeNull();
  });
});

describe("apiTokenMaxLifetimeDays", () => {
  it("caps new tokens: a later expire is refused, the default is shortened", async () => {
    expect(
      (await api("/api/systemSettings/apiTokenMaxLifetimeDays", { method: "POST", body: "7", headers: { "Content-Type": "text/plain" } }))
        .status,
    ).toBe(200);
    const before = Date.now();
    const far = await createToken(undefined, { expire: before + 30 * DAY });
    expect(far.status).toBe(409);
    expect(far.body.response.errorReports[0].message).toMatch(
      /^Property `expire` must not be later than \d+ \(epoch milliseconds\): the longest token lifetime \(7 days\)\.$/,
    );
    const dflt = await createToken(undefined, {});
    expect(dflt.status).toBe(201);
    const expire = (await row(dflt.body.response.uid))!.expire!;
    expect(expire).toBeGreaterThanOrEqual(before + 7 * DAY);
    expect(expire).toBeLessThanOrEqual(Date.now() + 7 * DAY);
  });

  it("also stops older tokens that have reached the cap", async () => {
    const created = await createToken(undefined, { expire: 253402300799999 });
    const key = created.body.response.key;
    await env.DB.prepare(`UPDATE api_tokens SET created = ? WHERE uid = ?`)
      .bind(Date.now() - 8 * DAY, created.body.response.uid)
      .run();
    expect((await api("/api/me", { auth: asToken(key) })).status).toBe(200);
    await api("/api/systemSettings/apiTokenMaxLifetimeDays", { method: "POST", body: "7", headers: { "Content-Type": "text/plain" } });
    expect((await api("/api/me", { auth: asToken(key) })).status).toBe(401);
    await api("/api/systemSettings/apiTokenMaxLifetimeDays", { method: "DELETE" });
    expect((await api("/api/me", { auth: asToken(key) })).status).toBe(200);
  });
});
