import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { api, basic, json } from "../helpers";
import { passwordViolations } from "../../src/users/policy";
import { BOOTSTRAP_ADMIN_UID, SUPERUSER_ROLE_UID } from "../../src/users/bootstrap";

const KLASS = "org.hisp.dhis.user.User";
const GOOD = "Str0ng!pass";

async function create(body: Record<string, unknown>) {
  return api("/api/users", { method: "POST", body });
}

async function createOk(username: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await create({ username, password: GOOD, firstName: "Test", surname: "User", ...extra });
  expect(res.status).toBe(201);
  return (await json(res)).response.uid;
}

describe("POST /api/users", () => {
  it("creates a user: 201 ObjectReport with the uid and a Location header", async () => {
    const res = await create({ username: "alice", password: GOOD, firstName: "Alice", surname: "Smith", email: "alice@example.org" });
    expect(res.status).toBe(201);
    expect(res.headers.get("Content-Type")).toBe("application/json;charset=UTF-8");
    const body = await json(res);
    expect(body).toEqual({
      httpStatus: "Created",
      httpStatusCode: 201,
      status: "OK",
      response: { responseType: "ObjectReport", uid: expect.stringMatching(/^[a-zA-Z][a-zA-Z0-9]{10}$/), klass: KLASS, errorReports: [] },
    });
    expect(res.headers.get("Location")).toBe(`http://localhost:8787/api/users/${body.response.uid}`);
    const user = await json(await api(`/api/users/${body.response.uid}`));
    expect(user).toMatchObject({
      id: body.response.uid,
      username: "alice",
      firstName: "Alice",
      surname: "Smith",
      name: "Alice Smith",
      displayName: "Alice Smith",
      email: "alice@example.org",
      disabled: false,
      accountNonLocked: true,
      userRoles: [],
      authorities: [],
      effectiveAuthorities: [],
    });
    expect(user.created).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}$/);
    expect(user).not.toHaveProperty("password");
    expect(JSON.stringify(user)).not.toContain("pbkdf2");
    // The new user can log in.
    const me = await api("/api/me", { auth: basic("alice", GOOD) });
    expect(me.status).toBe(200);
  });

  it("accepts a client-chosen id, roles, direct authorities and DHIS2's nested userCredentials", async () => {
    const res = await create({
      id: "Abcdefghij1",
      firstName: "Nested",
      surname: "Creds",
      authorities: ["F_SCHEDULING_ADMIN"],
      userCredentials: { username: "nested", password: GOOD, userRoles: [{ id: SUPERUSER_ROLE_UID }] },
    });
    expect(res.status).toBe(201);
    expect((await json(res)).response.uid).toBe("Abcdefghij1");
    const user = await json(await api("/api/users/Abcdefghij1"));
    expect(user.userRoles).toEqual([{ id: SUPERUSER_ROLE_UID }]);
    expect(user.authorities).toEqual(["F_SCHEDULING_ADMIN"]);
    expect(user.effectiveAuthorities).toEqual(["ALL", "F_SCHEDULING_ADMIN"]);
    const again = await create({ id: "Abcdefghij1", username: "other1", password: GOOD, firstName: "a", surname: "b" });
    expect(again.status).toBe(409);
    expect((await json(again)).response.errorReports[0].errorCode).toBe("E5000");
  });

  it("refuses a duplicate username with 409 E5003", async () => {
    await createOk("dupe");
    const res = await create({ username: "dupe", password: GOOD, firstName: "D", surname: "U" });
    expect(res.status).toBe(409);
    const body = await json(res);
    expect(body).toMatchObject({
      httpStatus: "Conflict",
      httpStatusCode: 409,
      status: "ERROR",
      message: "One or more errors occurred, please see full details in import report.",
      response: { responseType: "ObjectReport", klass: KLASS },
    });
    expect(body.response.errorReports).toHaveLength(1);
    expect(body.response.errorReports[0]).toMatchObject({ errorCode: "E5003", errorProperty: "username", mainKlass: KLASS, value: "dupe" });
    expect(body.response.errorReports[0].message).toContain("Property `username` with value `dupe`");
  });

  it("reports every missing required property at once (E4000)", async () => {
    const res = await create({});
    expect(res.status).toBe(409);
    const reports = (await json(res)).response.errorReports;
    expect(reports.map((r: any) => [r.errorCode, r.errorProperty])).toEqual([
      ["E4000", "username"],
      ["E4000", "firstName"],
      ["E4000", "surname"],
      ["E4000", "password"],
    ]);
    expect(reports[0].message).toBe("Missing required property `username`.");
  });

  it.each([
    ["short", "Ab1!", "E4002", "Allowed length range for property `password` is [8 to 256], but given length was 4."],
    ["no upper", "str0ng!pass", "E4005", "Password must contain at least one upper-case letter."],
    ["no digit", "Strong!pass", "E4005", "Password must contain at least one digit."],
    ["no special", "Str0ngpass", "E4005", "Password must contain at least one special character."],
    ["contains username", "Xbobby1!zz", "E4005", "Password must not contain the username."],
    ["too long", `A1!${"a".repeat(254)}`, "E4002", "Allowed length range for property `password` is [8 to 256], but given length was 257."],
  ])("password policy: %s → 409 %s", async (_label, password, code, message) => {
    const res = await create({ username: "bobby", password, firstName: "B", surname: "B" });
    expect(res.status).toBe(409);
    const reports = (await json(res)).response.errorReports;
    expect(reports).toContainEqual(expect.objectContaining({ errorCode: code, message, errorProperty: "password" }));
    expect(JSON.stringify(reports)).not.toContain(password);
  });

  it("validates username, email, roles, authorities and types", async () => {
    const res = await create({
      username: "bad:name",
      password: GOOD,
      firstName: 5,
      surname: "S",
      email: "not-an-email",
      disabled: "maybe",
      userRoles: [{ id: "short" }],
      authorities: ["OK_ONE", "bad authority"],
    });
    expect(res.status).toBe(409);
    const codes = (await json(res)).response.errorReports.map((r: any) => `${r.errorCode}:${r.errorProperty}`);
    expect(codes).toEqual([
      "E4049:username",
      "E4027:firstName",
      "E4000:firstName",
      "E4003:email",
      "E4027:disabled",
      "E4027:authorities",
      "E4014:userRoles",
    ]);
  });

  it("accountExpiry: a date or epoch ms is stored; an impossible instant is refused (no 500 later)", async () => {
    const ok = await create({
      username: "expiring",
      password: GOOD,
      firstName: "E",
      surname: "X",
      accountExpiry: "2030-01-02T03:04:05.000",
    });
    expect(ok.status).toBe(201);
    const user = await json(await api(`/api/users/${(await json(ok)).response.uid}`));
    expect(user.accountExpiry).toBe("2030-01-02T03:04:05.000");
    for (const accountExpiry of [1e20, -5, "not a date", 1.5]) {
      const res = await create({ username: "expiring2", password: GOOD, firstName: "E", surname: "X", accountExpiry });
      expect(res.status, String(accountExpiry)).toBe(409);
      expect((await json(res)).response.errorReports[0]).toMatchObject({ errorCode: "E4027", errorProperty: "accountExpiry" });
    }
  });

  it("an expired account is refused with 401 Account expired", async () => {
    await create({ username: "expired", password: GOOD, firstName: "E", surname: "X", accountExpiry: 1000 });
    const res = await api("/api/me", { auth: basic("expired", GOOD) });
    expect(res.status).toBe(401);
    expect((await json(res)).message).toBe("Account expired");
  });

  it("refuses an unknown role with E5002", async () => {
    const res = await create({ username: "norole", password: GOOD, firstName: "N", surname: "R", userRoles: [{ id: "Zzzzzzzzzz1" }] });
    expect(res.status).toBe(409);
    expect((await json(res)).response.errorReports[0]).toMatchObject({ errorCode: "E5002", errorKlass: "org.hisp.dhis.user.UserRole" });
  });

  it("answers 400 for malformed JSON and for a non-object body, 413 for an oversized one", async () => {
    const bad = await api("/api/users", { method: "POST", body: "{not json" });
    expect(bad.status).toBe(400);
    expect((await json(bad)).message).toMatch(/^Invalid JSON in request body/);
    const arr = await api("/api/users", { method: "POST", body: "[1,2]" });
    expect(arr.status).toBe(400);
    expect((await json(arr)).message).toBe("Request body must be a JSON object.");
    const big = await api("/api/users", { method: "POST", body: JSON.stringify({ username: "x".repeat(1024 * 1024 + 10) }) });
    expect(big.status).toBe(413);
    expect(await json(big)).toMatchObject({ httpStatusCode: 413, httpStatus: "Payload Too Large", status: "ERROR" });
  });
});

describe("GET /api/users", () => {
  it("lists users with a pager and default fields, honours query, fields and paging=false", async () => {
    await createOk("listme1");
    await createOk("listme2");
    const res = await api("/api/users?query=listme&pageSize=1");
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.pager).toEqual({ page: 1, pageCount: 2, total: 2, pageSize: 1 });
    expect(body.users).toEqual([{ id: expect.any(String), username: "listme1", displayName: "Test User" }]);
    const page2 = await json(await api("/api/users?query=listme&pageSize=1&page=2"));
    expect(page2.users[0].username).toBe("listme2");
    const all = await json(await api("/api/users?paging=false&fields=username,disabled"));
    expect(all).not.toHaveProperty("pager");
    expect(all.users).toContainEqual({ username: "admin", disabled: false });
  });

  it("rejects bad paging values", async () => {
    expect((await api("/api/users?page=0")).status).toBe(400);
    expect((await api("/api/users?pageSize=5000")).status).toBe(400);
    const res = await api("/api/users?page=x");
    expect(res.status).toBe(400);
    expect((await json(res)).message).toBe(`Value 'x' is not valid for parameter page. For input string: "x"`);
  });

  it("a LIKE wildcard in query is matched literally", async () => {
    const body = await json(await api("/api/users?query=%25"));
    expect(body.users).toEqual([]);
  });

  it("GET /api/users/{id}: 404 for an unknown uid, 400 for a malformed one", async () => {
    const missing = await api("/api/users/Zzzzzzzzzz9");
    expect(missing.status).toBe(404);
    expect(await json(missing)).toEqual({
      httpStatus: "Not Found",
      httpStatusCode: 404,
      status: "ERROR",
      errorCode: "E1005",
      message: "User with id Zzzzzzzzzz9 could not be found.",
    });
    const bad = await api("/api/users/nope");
    expect(bad.status).toBe(400);
    expect((await json(bad)).message).toBe(
      "Value 'nope' is not valid for path parameter id. UID must be an alphanumeric string of 11 characters",
    );
  });
});

describe("PUT and DELETE /api/users/{id}", () => {
  it("changing the password makes the old one fail immediately and the new one work", async () => {
    const uid = await createOk("carol");
    const old = basic("carol", GOOD);
    expect((await api("/api/me", { auth: old })).status).toBe(200);
    expect((await api("/api/me", { auth: old })).status).toBe(200); // now cached
    const res = await api(`/api/users/${uid}`, {
      method: "PUT",
      body: { username: "carol", firstName: "C", surname: "L", password: "N3w!password" },
    });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      httpStatus: "OK",
      httpStatusCode: 200,
      status: "OK",
      response: { responseType: "ObjectReport", uid, klass: KLASS, errorReports: [] },
    });
    expect((await api("/api/me", { auth: old })).status).toBe(401);
    expect((await api("/api/me", { auth: basic("carol", "N3w!password") })).status).toBe(200);
  });

  it("PUT without a password keeps it and replaces the other fields", async () => {
    const uid = await createOk("dave", { email: "d@example.org", authorities: ["F_JOB_LOG_READ"] });
    const res = await api(`/api/users/${uid}`, { method: "PUT", body: { firstName: "David", surname: "Jones" } });
    expect(res.status).toBe(200);
    const user = await json(await api(`/api/users/${uid}`));
    expect(user).toMatchObject({ username: "dave", firstName: "David", surname: "Jones", authorities: [] });
    expect(user).not.toHaveProperty("email");
    expect((await api("/api/me", { auth: basic("dave", GOOD) })).status).toBe(200);
  });

  it("disabling a user refuses their cached credentials at once with 401 Account disabled", async () => {
    const uid = await createOk("erin");
    const auth = basic("erin", GOOD);
    expect((await api("/api/system/ping", { auth })).status).toBe(200);
    await api(`/api/users/${uid}`, { method: "PUT", body: { firstName: "E", surname: "R", disabled: true } });
    const res = await api("/api/system/ping", { auth });
    expect(res.status).toBe(401);
    expect((await json(res)).message).toBe("Account disabled");
  });

  it("PUT validates like POST: 409 for a taken username, 404 for an unknown user, 400 for bad JSON", async () => {
    await createOk("frank");
    const uid = await createOk("gina");
    const dup = await api(`/api/users/${uid}`, { method: "PUT", body: { username: "frank", firstName: "G", surname: "G" } });
    expect(dup.status).toBe(409);
    expect((await json(dup)).response.errorReports[0].errorCode).toBe("E5003");
    const weak = await api(`/api/users/${uid}`, { method: "PUT", body: { firstName: "G", surname: "G", password: "weak" } });
    expect(weak.status).toBe(409);
    expect((await api("/api/users/Zzzzzzzzzz8", { method: "PUT", body: { firstName: "a", surname: "b" } })).status).toBe(404);
    expect((await api(`/api/users/${uid}`, { method: "PUT", body: "{" })).status).toBe(400);
  });

  it("DELETE removes the user and their tokens; the credentials stop working", async () => {
    const uid = await createOk("henry");
    const auth = basic("henry", GOOD);
    const tok = await json(await api("/api/apiToken", { method: "POST", body: {}, auth }));
    expect((await api("/api/me", { auth })).status).toBe(200);
    const res = await api(`/api/users/${uid}`, { method: "DELETE" });
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      httpStatus: "OK",
      httpStatusCode: 200,
      status: "OK",
      response: { responseType: "ObjectReport", uid, klass: KLASS, errorReports: [] },
    });
    expect((await api("/api/me", { auth })).status).toBe(401);
    expect((await api("/api/me", { auth: `ApiToken ${tok.response.key}` })).status).toBe(401);
    expect((await api(`/api/users/${uid}`, { method: "DELETE" })).status).toBe(404);
  });

  it("the last enabled superuser cannot be deleted, disabled or demoted", async () => {
    // Demote the other superuser created above, leaving the bootstrap admin as the only one.
    expect((await api("/api/users/Abcdefghij1", { method: "PUT", body: { firstName: "N", surname: "C" } })).status).toBe(200);
    const del = await api(`/api/users/${BOOTSTRAP_ADMIN_UID}`, { method: "DELETE" });
    expect(del.status).toBe(409);
    expect((await json(del)).response.errorReports[0].errorCode).toBe("E4030");
    const demote = await api(`/api/users/${BOOTSTRAP_ADMIN_UID}`, { method: "PUT", body: { firstName: "S", surname: "A" } });
    expect(demote.status).toBe(409);
    const disable = await api(`/api/users/${BOOTSTRAP_ADMIN_UID}`, {
      method: "PUT",
      body: { firstName: "S", surname: "A", disabled: true, userRoles: [{ id: SUPERUSER_ROLE_UID }] },
    });
    expect(disable.status).toBe(409);
    const keep = await api(`/api/users/${BOOTSTRAP_ADMIN_UID}`, {
      method: "PUT",
      body: { firstName: "System", surname: "Administrator", userRoles: [{ id: SUPERUSER_ROLE_UID }] },
    });
    expect(keep.status).toBe(200);
  });

  it("allows demoting a superuser while another enabled one remains", async () => {
    const uid = await createOk("second", { userRoles: [{ id: SUPERUSER_ROLE_UID }] });
    const res = await api(`/api/users/${uid}`, { method: "PUT", body: { firstName: "S", surname: "U" } });
    expect(res.status).toBe(200);
    expect((await json(await api(`/api/users/${uid}`))).effectiveAuthorities).toEqual([]);
  });
});

describe("user management needs ALL", () => {
  it("a user without ALL gets 403 on every /api/users operation", async () => {
    const uid = await createOk("plain", { authorities: ["F_SCHEDULING_ADMIN"] });
    const auth = basic("plain", GOOD);
    const cases: [string, string, unknown?][] = [
      ["GET", "/api/users"],
      ["GET", `/api/users/${uid}`],
      ["POST", "/api/users", { username: "x1", password: GOOD, firstName: "a", surname: "b" }],
      ["PUT", `/api/users/${uid}`, { firstName: "a", surname: "b", authorities: ["ALL"] }],
      ["DELETE", `/api/users/${uid}`],
    ];
    for (const [method, path, body] of cases) {
      const res = await api(path, { method, auth, body });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(await json(res)).toMatchObject({ httpStatus: "Forbidden", httpStatusCode: 403, status: "ERROR", errorCode: "E1006" });
    }
    const row = await env.DB.prepare("SELECT authorities FROM users WHERE uid = ?").bind(uid).first<{ authorities: string }>();
    expect(row?.authorities).toBe('["F_SCHEDULING_ADMIN"]');
  });
});

describe("passwordViolations", () => {
  it("accepts a policy-compliant password and reports nothing", () => {
    expect(passwordViolations(GOOD, "someone")).toEqual([]);
  });
  it("counts characters, not UTF-16 units", () => {
    expect(passwordViolations("Ä1!ääää", "x")[0].message).toContain("given length was 7");
  });
});
