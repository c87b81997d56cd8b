/**
 * `/api/scheduler/alerts`: create, read, replace, delete, deliveries; secrets write-only; every
 * problem of a body in one 409 ObjectReport; 400/413/415 for bodies that are not a JSON object;
 * F_SCHEDULING_ADMIN (or ALL) for everything, checked before the input.
 */
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import { api, json } from "../helpers";
import { userWith } from "../scheduling/support";
import { clearAlerts, createRule, RECEIVER, SECRET, webhookRule } from "./support";

beforeEach(async () => {
  await clearAlerts();
  await env.DB.prepare(`DELETE FROM job_configurations WHERE name LIKE 'alert route %'`).run();
});

const K = "org.hisp.hrhis4.alerts.AlertRule";

async function dbRule(uid: string) {
  return env.DB.prepare(`SELECT * FROM alert_rules WHERE uid = ?`).bind(uid).first<Record<string, unknown>>();
}

/** The error reports of a 409, as [errorCode, errorProperty, message]. */
async function reports(res: Response): Promise<[string, string, string][]> {
  expect(res.status).toBe(409);
  const msg = await json(res);
  expect(msg).toMatchObject({
    httpStatus: "Conflict",
    httpStatusCode: 409,
    status: "ERROR",
    response: { responseType: "ObjectReport", klass: K },
  });
  return msg.response.errorReports.map((r: any) => [r.errorCode, r.errorProperty, r.message]);
}

describe("alert rules: create and read", () => {
  it("POST answers 201 with the rule's Location; reads show the webhook's origin, never its path or secret", async () => {
    const res = await api("/api/scheduler/alerts", { method: "POST", body: webhookRule({ name: "ops", conditions: { failed: true } }) });
    expect(res.status).toBe(201);
    const msg = await json(res);
    const uid = msg.response.uid;
    expect(msg).toEqual({
      httpStatus: "Created",
      httpStatusCode: 201,
      status: "OK",
      response: { responseType: "ObjectReport", uid, klass: K, errorReports: [] },
    });
    expect(res.headers.get("Location")).toBe(`http://localhost:8787/api/scheduler/alerts/${uid}`);
    const one = await api(`/api/scheduler/alerts/${uid}`);
    const text = await one.text();
    expect(JSON.parse(text)).toEqual({
      id: uid,
      name: "ops",
      enabled: true,
      scope: "ALL_JOBS",
      conditions: { failed: true },
      channel: { type: "WEBHOOK", url: `${RECEIVER}/…`, secretSet: true },
      created: expect.any(String),
      lastUpdated: expect.any(String),
      createdBy: expect.any(String),
      lastUpdatedBy: expect.any(String),
    });
    const list = await (await api("/api/scheduler/alerts")).text();
    for (const body of [text, list]) {
      expect(body).not.toContain(SECRET);
      expect(body).not.toContain("T000");
    }
    expect(JSON.parse(list).alertRules.map((r: any) => r.id)).toEqual([uid]);
  });

  it("a client id, job types, jobs and an e-mail channel are kept as given", async () => {
    const job = await api("/api/jobConfigurations", {
      method: "POST",
      body: { name: "alert route job", jobType: "DATA_INTEGRITY", cronExpression: "0 0 4 ? * *" },
    });
    const jobUid = (await json(job)).response.uid;
    await createRule(
      webhookRule({ id: "ruleByTypes", name: "by types", scope: "JOB_TYPES", jobTypes: ["ANALYTICS_TABLE", "HOUSEKEEPING"] }),
    );
    await createRule(
      webhookRule({
        id: "ruleByJobs1",
        name: "by jobs",
        scope: "JOBS",
        jobs: [jobUid],
        channel: { type: "EMAIL", address: "ops@example.org" },
      }),
    );
    const { alertRules } = await json(await api("/api/scheduler/alerts"));
    expect(alertRules.map((r: any) => [r.id, r.scope, r.jobTypes, r.jobs, r.channel])).toEqual([
      ["ruleByJobs1", "JOBS", undefined, [jobUid], { type: "EMAIL", address: "ops@example.org" }],
      [
        "ruleByTypes",
        "JOB_TYPES",
        ["ANALYTICS_TABLE", "HOUSEKEEPING"],
        undefined,
        { type: "WEBHOOK", url: `${RECEIVER}/…`, secretSet: true },
      ],
    ]);
  });

  it("http is accepted for localhost only, in local development (the test Worker is: ENVIRONMENT development on localhost)", async () => {
    const local = await api("/api/scheduler/alerts", {
      method: "POST",
      body: webhookRule({ channel: { type: "WEBHOOK", url: "http://localhost:8866/alerts", secret: SECRET } }),
    });
    expect(local.status).toBe(201);
    const remote = await api("/api/scheduler/alerts", {
      method: "POST",
      body: webhookRule({ channel: { type: "WEBHOOK", url: "http://hooks.example.org/alerts", secret: SECRET } }),
    });
    expect(await reports(remote)).toEqual([
      [
        "E1003",
        "channel.url",
        "Invalid value for property `channel.url`: webhook URL must use https (http only for localhost in local development)",
      ],
    ]);
  });
});

describe("alert rules: validation", () => {
  it("every shape problem of one body in one 409 ObjectReport", async () => {
    const res = await api("/api/scheduler/alerts", {
      method: "POST",
      body: {
        name: "x".repeat(231),
        scope: "SOME_JOBS",
        conditions: { failedd: true, lateSeconds: 1, failuresInARow: 1000 },
        channel: { type: "WEBHOOK", url: "https://hooks.example.org/a", secret: "short" },
      },
    });
    expect(await reports(res)).toEqual([
      ["E4001", "name", "Maximum length of property `name`is 230, but given length was 231"],
      ["E1003", "scope", 'Invalid value for property `scope`: valid values are ["ALL_JOBS","JOB_TYPES","JOBS"]'],
      ["E4008", "conditions.lateSeconds", "Property `conditions.lateSeconds` is at least 5, but number given was 1"],
      ["E4008", "conditions.failuresInARow", "Property `conditions.failuresInARow` is at most 100, but number given was 1000"],
      [
        "E1003",
        "conditions.failedd",
        "Unknown condition `failedd`: valid conditions are [failed, lost, lateSeconds, failuresInARow, recovered]",
      ],
      ["E4002", "channel.secret", "Property `channel.secret` needs at least 16 characters, but given length was 5"],
    ]);
  });

  it("missing members are E4000; an unknown channel type names the valid ones", async () => {
    const res = await api("/api/scheduler/alerts", { method: "POST", body: { channel: { type: "PIGEON" } } });
    expect(await reports(res)).toEqual([
      ["E4000", "name", "Missing required property `name`"],
      ["E4000", "scope", "Missing required property `scope`"],
      ["E4000", "conditions", "Missing required property `conditions`"],
      ["E1003", "channel.type", 'Invalid value for property `channel.type`: valid values are ["WEBHOOK","EMAIL"]'],
    ]);
  });

  it("every problem against the server in one 409: scope lists, unknown jobs, conditions, URL", async () => {
    const res = await api("/api/scheduler/alerts", {
      method: "POST",
      body: {
        id: "not a uid",
        name: "bad",
        scope: "JOBS",
        jobs: ["abcdefghijk", "bad"],
        jobTypes: ["ANALYTICS_TABLE"],
        conditions: { failed: true, failuresInARow: 3 },
        channel: { type: "WEBHOOK", url: "https://user:pw@hooks.example.org/a", secret: SECRET },
      },
    });
    expect(await reports(res)).toEqual([
      ["E4014", "id", "Invalid UID `not a uid` for property `id`"],
      ["E1003", "jobTypes", "Invalid value for property `jobTypes`: only scope JOB_TYPES takes job types"],
      ["E4014", "jobs", "Invalid UID `bad` for property `jobs`"],
      ["E5002", "jobs", "Invalid reference `abcdefghijk` on object AlertRule for association `jobs`"],
      [
        "E1003",
        "conditions.failuresInARow",
        "Invalid value for property `conditions.failuresInARow`: has no effect with `failed`, which alerts at the first failure",
      ],
      ["E1003", "channel.url", "Invalid value for property `channel.url`: webhook URL must not carry credentials (user:password@)"],
    ]);
    expect(await env.DB.prepare(`SELECT COUNT(*) AS n FROM alert_rules`).first("n")).toBe(0);
  });

  it("a rule needs a condition that opens an episode, a known job type, and a unique name", async () => {
    const none = await api("/api/scheduler/alerts", { method: "POST", body: webhookRule({ conditions: { recovered: true } }) });
    expect(await reports(none)).toEqual([
      ["E4000", "conditions", "An alert rule needs a condition that opens an episode: failed, lost, lateSeconds or failuresInARow"],
    ]);
    const types = await api("/api/scheduler/alerts", { method: "POST", body: webhookRule({ scope: "JOB_TYPES", jobTypes: ["NOPE"] }) });
    expect(await reports(types)).toEqual([["E1003", "jobTypes", "Invalid value for property `jobTypes`: unknown job type `NOPE`"]]);
    const first = await createRule(webhookRule({ name: "twice" }));
    const dup = await api("/api/scheduler/alerts", { method: "POST", body: webhookRule({ id: "secondRule1", name: "twice" }) });
    expect(await reports(dup)).toEqual([
      ["E5003", "name", `Property \`name\` with value \`twice\` on object secondRule1 already exists on object ${first}`],
    ]);
  });

  it("bodies that are not a JSON object: 400; not JSON at all: 415; over the size limit: 413", async () => {
    for (const body of ["[]", '"text"', "null", "42"]) {
      const res = await api("/api/scheduler/alerts", { method: "POST", body });
      expect(res.status, body).toBe(400);
      expect((await json(res)).message).toBe("Request body must be a JSON object.");
    }
    const malformed = await api("/api/scheduler/alerts", { method: "POST", body: '{"name":' });
    expect(malformed.status).toBe(400);
    expect((await json(malformed)).message).toMatch(/^Invalid JSON in request body/);
    const form = await api("/api/scheduler/alerts", {
      method: "POST",
      body: "name=x",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
    expect(form.status).toBe(415);
    expect(await json(form)).toMatchObject({ httpStatusCode: 415, status: "ERROR" });
    const huge = await api("/api/scheduler/alerts", { method: "POST", body: JSON.stringify(webhookRule({ name: "x".repeat(1_100_000) })) });
    expect(huge.status).toBe(413);
    expect(await env.DB.prepare(`SELECT COUNT(*) AS n FROM alert_rules`).first("n")).toBe(0);
  });

  it("e-mail rules need the send_email binding and a sender: refused where ALERT_EMAIL_FROM is not an address", async () => {
    // The test Worker has both; the refusal itself is unit-tested (validate.test.ts). Here: the address is checked.
    const res = await api("/api/scheduler/alerts", {
      method: "POST",
      body: webhookRule({ channel: { type: "EMAIL", address: "not an address" } }),
    });
    expect(await reports(res)).toEqual([
      ["E1003", "channel.address", "Invalid value for property `channel.address`: not an e-mail address"],
    ]);
  });

  it("at most 100 rules", async () => {
    const stmts = Array.from({ length: 100 }, (_, i) =>
      env.DB.prepare(
        `INSERT INTO alert_rules (uid, name, enabled, scope, conditions, channel_type, email_address, created, last_updated)
         VALUES (?, ?, 0, 'ALL_JOBS', '{"failed":true}', 'EMAIL', 'a@example.org', 0, 0)`,
      ).bind(`capRule${String(i).padStart(4, "0")}`, `cap ${i}`),
    );
    await env.DB.batch(stmts);
    const res = await api("/api/scheduler/alerts", { method: "POST", body: webhookRule() });
    expect(res.status).toBe(409);
    expect((await json(res)).message).toBe("At most 100 alert rules can exist; delete one first.");
  });
});

describe("alert rules: replace and delete", () => {
  it("PUT without the channel's URL and secret keeps them; sending back what GET showed keeps them too", async () => {
    const uid = await createRule(webhookRule({ name: "before" }));
    const stored = await dbRule(uid);
    const put = await api(`/api/scheduler/alerts/${uid}`, {
      method: "PUT",
      body: { name: "after", scope: "ALL_JOBS", conditions: { lost: true }, channel: { type: "WEBHOOK" } },
    });
    expect(put.status).toBe(200);
    expect(await json(put)).toEqual({
      httpStatus: "OK",
      httpStatusCode: 200,
      status: "OK",
      response: { responseType: "ObjectReport", uid, klass: K, errorReports: [] },
    });
    expect(await dbRule(uid)).toMatchObject({ name: "after", webhook_url: stored?.webhook_url, webhook_secret: SECRET });
    const shown = await json(await api(`/api/scheduler/alerts/${uid}`));
    const roundTrip = await api(`/api/scheduler/alerts/${uid}`, { method: "PUT", body: { ...shown, enabled: false } });
    expect(roundTrip.status).toBe(200);
    expect(await dbRule(uid)).toMatchObject({
      enabled: 0,
      webhook_url: stored?.webhook_url,
      webhook_secret: SECRET,
      conditions: '{"lost":true}',
    });
  });

  it("a new webhook URL needs its secret; an unknown rule is 404; an id that is not a UID is 400", async () => {
    const uid = await createRule(webhookRule());
    const res = await api(`/api/scheduler/alerts/${uid}`, {
      method: "PUT",
      body: webhookRule({ channel: { type: "WEBHOOK", url: "https://elsewhere.example.org/hook" } }),
    });
    expect(await reports(res)).toEqual([
      ["E4000", "channel.secret", "Missing required property `channel.secret`: a new webhook URL needs its secret"],
    ]);
    const missing = await api("/api/scheduler/alerts/abcdefghijk", { method: "PUT", body: webhookRule() });
    expect(missing.status).toBe(404);
    expect((await json(missing)).message).toBe("AlertRule with id abcdefghijk could not be found.");
    const bad = await api("/api/scheduler/alerts/not-a-uid");
    expect(bad.status).toBe(400);
    expect((await json(bad)).message).toBe(
      "Value 'not-a-uid' is not valid for path parameter id. UID must be an alphanumeric string of 11 characters",
    );
  });

  it("DELETE removes the rule with its episodes and deliveries", async () => {
    const uid = await createRule(webhookRule());
    await env.DB.batch([
      env.DB.prepare(
        `INSERT INTO alert_episodes (rule_uid, job_uid, failures, open, last_event, updated) VALUES (?, 'j', 1, 1, 'e', 0)`,
      ).bind(uid),
      env.DB.prepare(
        `INSERT INTO alert_deliveries (uid, rule_uid, job_uid, event_id, alert, channel_type, payload, state, created, updated)
         VALUES ('delivery001', ?, 'j', 'e', 'FAILED', 'WEBHOOK', '{}', 'DELIVERED', 0, 0)`,
      ).bind(uid),
    ]);
    const res = await api(`/api/scheduler/alerts/${uid}`, { method: "DELETE" });
    expect(res.status).toBe(200);
    expect((await api(`/api/scheduler/alerts/${uid}`)).status).toBe(404);
    for (const table of ["alert_rules", "alert_rule_targets", "alert_episodes", "alert_deliveries"]) {
      expect(await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table}`).first("n"), table).toBe(0);
    }
    expect((await api(`/api/scheduler/alerts/${uid}`, { method: "DELETE" })).status).toBe(404);
  });

  it("deliveries: filtered by state, paged, newest first; a bad state is 400", async () => {
    const uid = await createRule(webhookRule());
    const rows = ["DELIVERED", "DEAD_LETTER", "DEAD_LETTER"].map((state, i) =>
      env.DB.prepare(
        `INSERT INTO alert_deliveries (uid, rule_uid, job_uid, event_id, alert, channel_type, payload, state, attempts, created, updated)
         VALUES (?, ?, 'j', ?, 'FAILED', 'WEBHOOK', '{"job":{"name":"n","type":"TEST"}}', ?, 3, ?, ?)`,
      ).bind(`pagedDlv00${i}`, uid, `e${i}`, state, i * 1000, i * 1000),
    );
    await env.DB.batch(rows);
    const dead = await json(await api(`/api/scheduler/alerts/${uid}/deliveries?state=dead_letter&pageSize=1`));
    expect(dead.pager).toMatchObject({ page: 1, total: 2, pageSize: 1, pageCount: 2 });
    expect(dead.pager.nextPage).toBe(`http://localhost:8787/api/scheduler/alerts/${uid}/deliveries?state=dead_letter&pageSize=1&page=2`);
    expect(dead.deliveries.map((d: any) => d.id)).toEqual(["pagedDlv002"]);
    const bad = await api(`/api/scheduler/alerts/${uid}/deliveries?state=LOST`);
    expect(bad.status).toBe(400);
    expect((await api(`/api/scheduler/alerts/${uid}/deliveries?pageSize=0`)).status).toBe(400);
  });
});

describe("alert rules: access", () => {
  it("F_SCHEDULING_ADMIN may; a user without it gets 403 before the body is looked at; anonymous 401", async () => {
    const admin = await userWith("alertadmin", ["F_SCHEDULING_ADMIN"]);
    const viewer = await userWith("alertviewer", ["F_JOB_LOG_READ", "F_PERFORM_MAINTENANCE"]);
    const created = await api("/api/scheduler/alerts", { method: "POST", body: webhookRule(), auth: admin.auth });
    expect(created.status).toBe(201);
    const uid = (await json(created)).response.uid;
    expect((await dbRule(uid))?.created_by).toBe(admin.uid);
    for (const [method, path, body] of [
      ["GET", "/api/scheduler/alerts", undefined],
      ["POST", "/api/scheduler/alerts", { nonsense: true }],
      ["GET", `/api/scheduler/alerts/${uid}`, undefined],
      ["PUT", `/api/scheduler/alerts/${uid}`, "[]"],
      ["DELETE", `/api/scheduler/alerts/${uid}`, undefined],
      ["GET", `/api/scheduler/alerts/${uid}/deliveries`, undefined],
    ] as const) {
      const denied = await api(path, { method, body, auth: viewer.auth });
      expect(denied.status, `${method} ${path}`).toBe(403);
      expect((await json(denied)).message).toBe("Access is denied, requires one Authority from [F_SCHEDULING_ADMIN]");
      expect((await api(path, { method, body, auth: null })).status, `${method} ${path} anonymous`).toBe(401);
    }
    expect(await dbRule(uid)).not.toBeNull();
  });
});
