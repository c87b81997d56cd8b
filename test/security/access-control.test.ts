/**
 * Access control matrix (issue #8). Every route of the app × six callers: anonymous, a user without
 * authorities, F_SCHEDULING_ADMIN, F_PERFORM_MAINTENANCE, F_JOB_LOG_READ and ALL. The expected status
 * of each cell is written below; a route without a row fails the suite (compare with `app.routes`),
 * so a new endpoint cannot ship without someone deciding who may call it.
 *
 * Rules (DHIS2, docs/RELIABILITY.md): job reads any authenticated user; job writes F_SCHEDULING_ADMIN
 * or ALL; revert F_PERFORM_MAINTENANCE (or ALL); user management ALL; system settings writes ALL
 * (F_SYSTEM_SETTING); task reads any authenticated user; system info limited for non-superusers.
 * Every answer is also scanned for leaks: password hashes, token hashes, other users' secrets.
 */
import { env } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PUBLIC_INFO_FIELDS, SENSITIVE_INFO_FIELDS } from "../../src/system/info";
import { answerProblems, publishedContract, type Contract } from "../openapi/contract";
import { fetchWith } from "../reliability/support";
import {
  ALERT_SECRET,
  alertRuleBody,
  clearAllAlarms,
  createAlertRule,
  createJob,
  fillPath,
  fixtures,
  uniqueCron,
  type Fixtures,
} from "./fixtures";
import {
  admin,
  appRoutes,
  call,
  createRoleUser,
  ensureRoleUsers,
  resetLockouts,
  ROLES,
  type Role,
  type RouteDef,
  type TestUser,
} from "./support";

type Statuses = [anon: number, none: number, sched: number, maint: number, log: number, all: number];

interface Cell {
  role: Role;
  user: TestUser;
  fx: Fixtures;
  n: number;
}

interface Row {
  expect: Statuses;
  /** Path (defaults to the route filled with the fixtures) and body for one cell. */
  prepare?: (cell: Cell) => Promise<{ path?: string; body?: unknown }>;
  body?: unknown;
  note?: string;
  /** The answer legitimately carries a new token key (token creation shows it once). */
  showsNewKey?: boolean;
  /** A known failure (docs/RELIABILITY.md "Known failures"): checked by an `it.fails` case. */
  known?: string;
}

// Shorthands for the usual shapes.
const PUBLIC = (s: number): Statuses => [s, s, s, s, s, s];
const ANY_USER = (s: number): Statuses => [401, s, s, s, s, s];
const SUPER_ONLY = (s: number): Statuses => [401, 403, 403, 403, 403, s];
const SCHED = (s: number): Statuses => [401, 403, s, 403, 403, s];
const MAINT = (s: number, denied = 403): Statuses => [401, denied, denied, s, denied, s];

let counter = 0;
const unique = (prefix: string) => `${prefix}${Date.now().toString(36)}${(counter++).toString(36)}`;

async function freshJobPath(route: RouteDef, cell: Cell, extra: Record<string, unknown> = {}): Promise<string> {
  const uid = await createJob(unique("Matrix job "), extra);
  return fillPath(route, { ...cell.fx, jobUid: uid });
}

/** A queue of two fresh jobs, created as admin; returns its name. */
async function freshQueue(): Promise<string> {
  const name = unique("matrixQ");
  const sequence = [await createJob(unique("Matrix q1 ")), await createJob(unique("Matrix q2 "))];
  const res = await call("POST", `/api/scheduler/queues/${name}`, admin(), { cronExpression: uniqueCron(), sequence });
  if (res.status !== 201) throw new Error(`matrix queue not created: ${res.status} ${await res.text()}`);
  return name;
}

let finishedTest: Promise<string> | undefined;

/**
 * One finished TEST run, started by admin (the job runs as no one): what `/api/scheduling/completed/TEST`
 * shows. Created once for the file; the run starts on the object's alarm (real time here).
 */
function finishedTestRun(): Promise<string> {
  finishedTest ??= (async () => {
    const uid = await createJob(unique("Matrix test run "), { jobType: "TEST" });
    const res = await call("POST", `/api/jobConfigurations/${uid}/execute`, admin());
    if (res.status !== 200) throw new Error(`matrix test run not started: ${res.status} ${await res.text()}`);
    for (let i = 0; i < 1000; i++) {
      const done = await env.DB.prepare(`SELECT status FROM job_runs WHERE job_uid = ? AND status <> 'RUNNING'`).bind(uid).first();
      if (done) return uid;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error("matrix test run did not finish");
  })();
  return finishedTest;
}

/** A token owned by the cell's user (admin's for anonymous); returns its UID. */
async function freshToken(cell: Cell): Promise<string> {
  const res = await call("POST", "/api/apiToken", cell.user.auth ?? admin(), { attributes: [], expire: Date.UTC(2030, 0, 1) });
  const body: any = await res.json();
  if (res.status !== 201) throw new Error(`matrix token not created: ${res.status} ${JSON.stringify(body)}`);
  return body.response.uid;
}

async function freshUser(): Promise<string> {
  const res = await call("POST", "/api/users", admin(), {
    username: unique("matrix_"),
    password: "Matrix-Pa55!",
    firstName: "M",
    surname: "X",
  });
  const body: any = await res.json();
  if (res.status !== 201) throw new Error(`matrix user not created: ${res.status} ${JSON.stringify(body)}`);
  return body.response.uid;
}

/** The expected table. Keys are `METHOD path` with parameters erased to `{}`. */
const MATRIX: Record<string, Row> = {
  // -- public ---------------------------------------------------------------------------------
  "GET /api/ping": { expect: PUBLIC(200) },
  "GET /api/openapi": { expect: PUBLIC(200), note: "also /api/openapi.json (suffix normalised)" },
  "GET /api/docs": { expect: PUBLIC(200) },

  // -- system ---------------------------------------------------------------------------------
  "GET /api/system/ping": { expect: ANY_USER(200) },
  "GET /api/system/info": { expect: ANY_USER(200), note: "non-superusers see the seven public fields only (checked below)" },
  "GET /api/system/context": { expect: ANY_USER(200) },
  "GET /api/system/id": { expect: ANY_USER(200) },
  "GET /api/system/uid": { expect: ANY_USER(200) },
  "GET /api/system/uuid": { expect: ANY_USER(200) },
  "GET /api/system/flags": { expect: ANY_USER(200) },
  "GET /api/system/styles": { expect: ANY_USER(200) },
  "GET /api/metrics": { expect: ANY_USER(200), note: "Prometheus text format; DHIS2's rule: any authenticated user" },

  // -- system settings: reads any user, writes ALL (F_SYSTEM_SETTING) ------------------------
  "GET /api/systemSettings": { expect: ANY_USER(200) },
  "GET /api/systemSettings/{}": { expect: ANY_USER(200) },
  "POST /api/systemSettings": { expect: SUPER_ONLY(200), body: { applicationTitle: "Matrix title" } },
  "POST /api/systemSettings/{}": { expect: SUPER_ONLY(200), body: '"Matrix title 2"' },
  "DELETE /api/systemSettings": { expect: SUPER_ONLY(204), prepare: async () => ({ path: "/api/systemSettings?key=applicationTitle" }) },
  "DELETE /api/systemSettings/{}": { expect: SUPER_ONLY(204) },

  // -- user settings: each user their own ------------------------------------------------------
  "GET /api/userSettings": { expect: ANY_USER(200) },
  "GET /api/userSettings/{}": { expect: ANY_USER(200), prepare: async () => ({ path: "/api/userSettings/keyUiLocale" }) },
  "POST /api/userSettings/{}": { expect: ANY_USER(200), prepare: async () => ({ path: "/api/userSettings/keyUiLocale", body: '"fr"' }) },
  "DELETE /api/userSettings/{}": { expect: ANY_USER(200), prepare: async () => ({ path: "/api/userSettings/keyUiLocale" }) },

  // -- me and tokens ---------------------------------------------------------------------------
  "GET /api/me": { expect: ANY_USER(200) },
  "GET /api/me/authorization": { expect: ANY_USER(200) },
  "GET /api/me/authorization/{}": { expect: ANY_USER(200), prepare: async () => ({ path: "/api/me/authorization/F_SCHEDULING_ADMIN" }) },
  "GET /api/me/dashboard": { expect: ANY_USER(200) },
  "GET /api/apiToken": { expect: ANY_USER(200), note: "each caller lists only their own tokens" },
  "GET /api/apiToken/{}": { expect: [401, 404, 404, 404, 404, 200], note: "the fixture token belongs to admin: other users get 404" },
  "POST /api/apiToken": { expect: ANY_USER(201), body: { attributes: [], expire: Date.UTC(2030, 0, 1) }, showsNewKey: true },
  "DELETE /api/apiToken/{}": {
    expect: ANY_USER(200),
    note: "each caller revokes a token of their own (someone else's is 404, checked below)",
    prepare: async (cell) => ({ path: `/api/apiToken/${await freshToken(cell)}` }),
  },

  // -- user management: ALL ----------------------------------------------------------------------
  "GET /api/users": { expect: SUPER_ONLY(200) },
  "GET /api/users/{}": { expect: SUPER_ONLY(200) },
  "POST /api/users": {
    expect: SUPER_ONLY(201),
    prepare: async () => ({ body: { username: unique("matrix_new_"), password: "Matrix-Pa55!", firstName: "N", surname: "U" } }),
  },
  "PUT /api/users/{}": {
    expect: SUPER_ONLY(200),
    prepare: async () => {
      const uid = await freshUser();
      return { path: `/api/users/${uid}`, body: { username: unique("matrix_put_"), firstName: "P", surname: "U" } };
    },
  },
  "DELETE /api/users/{}": { expect: SUPER_ONLY(200), prepare: async () => ({ path: `/api/users/${await freshUser()}` }) },

  // -- executor callbacks: not user-authenticated (HMAC-signed protocol). The test Worker has no
  //    EXECUTOR_SECRET, so they answer 404 to everyone; user credentials never open them.
  "POST /api/executor/runs/{}/messages": { expect: PUBLIC(404), body: { message: "x" } },
  "POST /api/executor/runs/{}/items": { expect: PUBLIC(404), body: { message: "x" } },
  "POST /api/executor/runs/{}/heartbeat": { expect: PUBLIC(404), body: {} },
  "POST /api/executor/runs/{}/summary": { expect: PUBLIC(404), body: { summary: {} } },
  "POST /api/executor/runs/{}/complete": { expect: PUBLIC(404), body: { outcome: "COMPLETED" } },
  "POST /api/executor/runs/{}/errors": { expect: PUBLIC(404), body: { errors: [{ code: "E4000", type: "OrganisationUnit" }] } },

  // -- scheduler overview and queues: reads any user, writes F_SCHEDULING_ADMIN ------------------
  "GET /api/scheduler": { expect: ANY_USER(200) },
  "GET /api/scheduler/queueable": { expect: ANY_USER(200) },
  "GET /api/scheduler/runs": {
    expect: ANY_USER(200),
    note: "run history: every run for superusers and F_JOB_LOG_READ, the others' own runs only (test/history/runs.test.ts)",
  },
  "GET /api/scheduler/queues": { expect: ANY_USER(200) },
  "GET /api/scheduler/queues/{}": { expect: ANY_USER(200), prepare: async () => ({ path: `/api/scheduler/queues/${await freshQueue()}` }) },
  "POST /api/scheduler/queues/{}": {
    expect: SCHED(201),
    prepare: async () => ({
      path: `/api/scheduler/queues/${unique("matrixNewQ")}`,
      body: { cronExpression: uniqueCron(), sequence: [await createJob(unique("Matrix nq1 ")), await createJob(unique("Matrix nq2 "))] },
    }),
  },
  "PUT /api/scheduler/queues/{}": {
    expect: SCHED(204),
    prepare: async () => {
      const name = await freshQueue();
      const { results } = await env.DB.prepare(`SELECT uid FROM job_configurations WHERE queue_name = ? ORDER BY queue_position`)
        .bind(name)
        .all<{ uid: string }>();
      return {
        path: `/api/scheduler/queues/${name}`,
        body: { cronExpression: uniqueCron(), sequence: results.map((r) => r.uid).reverse() },
      };
    },
  },
  "DELETE /api/scheduler/queues/{}": { expect: SCHED(204), prepare: async () => ({ path: `/api/scheduler/queues/${await freshQueue()}` }) },

  // -- alert rules (beyond DHIS2): everything F_SCHEDULING_ADMIN, reads too (they name webhook origins
  //    and e-mail addresses); the rules are disabled, so the suite's runs send nothing.
  "GET /api/scheduler/alerts": { expect: SCHED(200) },
  "POST /api/scheduler/alerts": { expect: SCHED(201), prepare: async () => ({ body: alertRuleBody(unique("Matrix alert ")) }) },
  "GET /api/scheduler/alerts/{}": { expect: SCHED(200) },
  "PUT /api/scheduler/alerts/{}": {
    expect: SCHED(200),
    prepare: async () => ({
      path: `/api/scheduler/alerts/${await createAlertRule(unique("Matrix alert put "))}`,
      body: alertRuleBody(unique("Matrix alert renamed ")),
    }),
  },
  "DELETE /api/scheduler/alerts/{}": {
    expect: SCHED(200),
    prepare: async () => ({ path: `/api/scheduler/alerts/${await createAlertRule(unique("Matrix alert del "))}` }),
  },
  "GET /api/scheduler/alerts/{}/deliveries": { expect: SCHED(200) },

  // -- /api/scheduling (runs per job type): which types run, any user; a run's tree F_JOB_LOG_READ, ALL or
  //    the run's executing user (the maps leave out the others); cancel F_PERFORM_MAINTENANCE, ALL or the
  //    executing user. Held runs per caller: test/scheduling/overview.test.ts.
  "GET /api/scheduling/running/types": { expect: ANY_USER(200) },
  "GET /api/scheduling/running": { expect: ANY_USER(200), note: "runs the caller may not read are left out" },
  "GET /api/scheduling/completed": { expect: ANY_USER(200), note: "runs the caller may not read are left out" },
  "GET /api/scheduling/running/{}": {
    expect: ANY_USER(200),
    note: "nothing of the type runs: 200 with an empty body",
    prepare: async () => ({ path: "/api/scheduling/running/PUSH_ANALYSIS" }),
  },
  "GET /api/scheduling/completed/{}": {
    expect: [401, 403, 403, 403, 200, 200],
    note: "a finished run started by admin: superuser, F_JOB_LOG_READ (or its executing user)",
    prepare: async () => {
      await finishedTestRun();
      return { path: "/api/scheduling/completed/TEST" };
    },
  },
  "POST /api/scheduling/cancel/{}": {
    expect: ANY_USER(204),
    note: "nothing of the type runs: nothing to protect (a running job: F_PERFORM_MAINTENANCE, ALL or its executing user)",
    prepare: async () => ({ path: "/api/scheduling/cancel/PUSH_ANALYSIS" }),
  },

  // -- job configurations: reads any user, writes F_SCHEDULING_ADMIN ----------------------------
  "GET /api/jobConfigurations": { expect: ANY_USER(200) },
  "GET /api/jobConfigurations/{}": { expect: ANY_USER(200) },
  "GET /api/jobConfigurations/gist": { expect: ANY_USER(200) },
  "GET /api/jobConfigurations/{}/gist": { expect: ANY_USER(200) },
  "GET /api/jobConfigurations/jobTypes": { expect: ANY_USER(200) },
  "GET /api/jobConfigurations/jobTypesExtended": { expect: ANY_USER(200) },
  "POST /api/jobConfigurations": {
    expect: SCHED(201),
    prepare: async () => ({ body: { name: unique("Matrix created "), jobType: "DATA_INTEGRITY", cronExpression: uniqueCron() } }),
  },
  "PUT /api/jobConfigurations/{}": {
    expect: SCHED(200),
    prepare: async (cell) => {
      const name = unique("Matrix put ");
      return {
        path: await freshJobPath(parse("PUT /api/jobConfigurations/{}"), cell),
        body: { name, jobType: "DATA_INTEGRITY", cronExpression: uniqueCron() },
      };
    },
  },
  "PUT /api/jobConfiguration/{}": {
    expect: SCHED(200),
    note: "singular alias used by the spec's examples",
    prepare: async (cell) => ({
      path: await freshJobPath(parse("PUT /api/jobConfiguration/{}"), cell),
      body: { name: unique("Matrix put1 "), jobType: "DATA_INTEGRITY", cronExpression: uniqueCron() },
    }),
  },
  "PATCH /api/jobConfigurations/{}": {
    expect: SCHED(204),
    note: "a partial object (merge), e.g. {enabled:false}",
    prepare: async (cell) => ({
      path: await freshJobPath(parse("PATCH /api/jobConfigurations/{}"), cell),
      body: { name: unique("Matrix patched ") },
    }),
  },
  "DELETE /api/jobConfiguration/{}": {
    expect: SCHED(200),
    prepare: async (cell) => ({ path: await freshJobPath(parse("DELETE /api/jobConfiguration/{}"), cell) }),
  },
  "GET /api/jobConfigurations/{}/progress": {
    expect: [401, 403, 403, 403, 200, 200],
    note: "superuser, F_JOB_LOG_READ or the job's executedBy",
  },
  "GET /api/jobConfigurations/{}/runs": {
    expect: [401, 403, 403, 403, 200, 200],
    note: "as progress: superuser, F_JOB_LOG_READ, the job's executedBy or a user who started one of its runs",
  },
  "GET /api/jobConfigurations/errors": { expect: [401, 403, 403, 403, 200, 200], note: "DHIS2: F_JOB_LOG_READ (or ALL)" },
  "GET /api/jobConfigurations/{}/errors": {
    expect: [401, 403, 403, 403, 200, 200],
    note: "DHIS2: superuser, F_JOB_LOG_READ or the executing user; `{}` when the last run reported no error",
  },
  "GET /api/jobConfigurations/{}/progress/errors": {
    expect: [401, 403, 403, 403, 200, 200],
    note: "DHIS2: superuser, F_JOB_LOG_READ or the executing user",
  },
  "GET /api/jobConfigurations/due": { expect: ANY_USER(200), prepare: async () => ({ path: "/api/jobConfigurations/due?seconds=60" }) },
  "GET /api/jobConfigurations/stale": {
    expect: ANY_USER(200),
    prepare: async () => ({ path: "/api/jobConfigurations/stale?seconds=600" }),
  },
  "POST /api/jobConfigurations/clean": { expect: MAINT(204), prepare: async () => ({ path: "/api/jobConfigurations/clean?minutes=60" }) },
  "DELETE /api/jobConfigurations/{}": {
    expect: SCHED(200),
    prepare: async (cell) => ({ path: await freshJobPath(parse("DELETE /api/jobConfigurations/{}"), cell) }),
  },
  "POST /api/jobConfigurations/{}/execute": {
    expect: SCHED(200),
    prepare: async (cell) => ({ path: await freshJobPath(parse("POST /api/jobConfigurations/{}/execute"), cell) }),
  },
  "POST /api/jobConfigurations/{}/enable": {
    expect: SCHED(204),
    prepare: async (cell) => ({ path: await freshJobPath(parse("POST /api/jobConfigurations/{}/enable"), cell) }),
  },
  "POST /api/jobConfigurations/{}/disable": {
    expect: SCHED(204),
    prepare: async (cell) => ({ path: await freshJobPath(parse("POST /api/jobConfigurations/{}/disable"), cell) }),
  },
  "POST /api/jobConfigurations/{}/cancel": {
    expect: MAINT(204),
    note: "superuser, F_PERFORM_MAINTENANCE or the job's executedBy user",
    prepare: async (cell) => ({ path: await freshJobPath(parse("POST /api/jobConfigurations/{}/cancel"), cell) }),
  },
  "POST /api/jobConfigurations/{}/revert": {
    expect: MAINT(409),
    note: "authority first; a job that is not RUNNING then answers 409",
    prepare: async (cell) => ({ path: await freshJobPath(parse("POST /api/jobConfigurations/{}/revert"), cell) }),
  },

  // -- app shell: login, option lists of the Scheduler app, hosted app bundles ------------------
  "GET /api/loginConfig": { expect: PUBLIC(200) },
  "POST /api/auth/login": { expect: PUBLIC(200), body: { username: "admin", password: "district" } },
  "POST /api/auth/logout": { expect: PUBLIC(403), note: "session endpoints refuse cross-site requests (no X-Requested-With / Origin)" },
  "GET /dhis-web-commons-security/login.html": { expect: PUBLIC(200) },
  "POST /dhis-web-commons-security/login.action": { expect: PUBLIC(403), note: "cross-site form post refused" },
  "GET /dhis-web-commons-security/logout.action": { expect: PUBLIC(200), note: "ends any session, shows the sign-in page" },
  "GET /dhis-web-commons/menu/getModules.action": { expect: ANY_USER(200) },
  "GET /api/staticContent/{}": {
    expect: ANY_USER(404),
    note: "no custom logo configured in the test Worker",
    prepare: async () => ({ path: "/api/staticContent/logo_banner" }),
  },
  "GET /{}": {
    expect: [200, 404, 404, 404, 404, 404],
    note: "anonymous browsers get the sign-in page; no app bundle is installed in the test Worker",
    prepare: async () => ({ path: "/dhis-web-scheduler" }),
  },
  "GET /{}/*": { expect: [200, 404, 404, 404, 404, 404], prepare: async () => ({ path: "/dhis-web-scheduler/index.html" }) },
  "GET /api/analytics/tableTypes": { expect: ANY_USER(200) },
  "GET /api/dataIntegrity": { expect: ANY_USER(200) },
  "GET /api/aggregateDataExchanges": { expect: ANY_USER(200) },
  "GET /api/dashboards": { expect: ANY_USER(200) },
  "GET /api/predictorGroups": { expect: ANY_USER(200) },
  "GET /api/predictors": { expect: ANY_USER(200) },
  "GET /api/programs": { expect: ANY_USER(200) },
  "GET /api/pushAnalysis": { expect: ANY_USER(200) },
  "GET /api/userGroups": { expect: ANY_USER(200) },
  "GET /api/validationRuleGroups": { expect: ANY_USER(200) },

  // -- task notifications: any authenticated user (DHIS2 2.29+) --------------------------------
  "GET /api/system/tasks": { expect: ANY_USER(200) },
  "GET /api/system/tasks/{}": { expect: ANY_USER(200) },
  "GET /api/system/tasks/{}/{}": { expect: ANY_USER(200) },
  "GET /api/system/taskSummaries/{}": { expect: ANY_USER(200) },
  "GET /api/system/taskSummaries/{}/{}": { expect: ANY_USER(200) },
  "DELETE /api/system/tasks": { expect: MAINT(204) },
  "DELETE /api/system/tasks/{}": { expect: MAINT(204) },
  "DELETE /api/system/tasks/{}/{}": { expect: ANY_USER(204), note: "a job without a current run: nothing to protect" },
};

function parse(key: string): RouteDef {
  const found = appRoutes().find((r) => r.key === key);
  if (!found) throw new Error(`no route ${key}`);
  return found;
}

// ---------------------------------------------------------------------------------------------
// Leak detection
// ---------------------------------------------------------------------------------------------

const LEAK_PATTERNS: [RegExp, string][] = [
  [/pbkdf2/i, "password hash (pbkdf2)"],
  [/password_?hash/i, "password hash field"],
  [/"password"\s*:\s*"[^"]+"/, "password value"],
  [/key_?hash/i, "token hash field"],
  [/\bd2pat_[0-9A-Za-z]{32}\d{10}\b/, "token key"],
  [/"secret"\s*:\s*"/i, "secret"],
  [new RegExp(ALERT_SECRET), "alert webhook secret"],
  [/matrix-path/, "alert webhook URL path"],
];

async function leakedSecrets(text: string): Promise<string[]> {
  const found = LEAK_PATTERNS.filter(([p]) => p.test(text)).map(([, what]) => what);
  const { results } = await env.DB.prepare(`SELECT key_hash FROM api_tokens`).all<{ key_hash: string }>();
  for (const r of results) if (text.includes(r.key_hash)) found.push("a stored token hash");
  return found;
}

// ---------------------------------------------------------------------------------------------

const routes = appRoutes();
let users: Record<Role, TestUser>;
/** The published OpenAPI document: every answer below must keep it (test/openapi/contract.ts). */
let contract: Contract;

describe(`access control matrix (${routes.length} routes × ${ROLES.length} callers)`, () => {
  beforeAll(async () => {
    users = await ensureRoleUsers();
    await fixtures();
    contract = await publishedContract();
  });
  afterAll(async () => {
    await clearAllAlarms();
  });

  it("every route of the app has a row in the matrix", () => {
    const missing = routes.filter((r) => !(r.key in MATRIX)).map((r) => r.key);
    expect(missing, `add a row to MATRIX in test/security/access-control.test.ts for: ${missing.join(", ")}`).toEqual([]);
  });

  for (const route of routes) {
    const row = MATRIX[route.key];
    if (!row || row.known) continue;
    it(`${route.key}: ${row.expect.join("/")} for anonymous/none/sched/maint/log/ALL; as documented; no secret in any answer`, async () => {
      const failures: string[] = [];
      const got: number[] = [];
      for (let i = 0; i < ROLES.length; i++) {
        const role = ROLES[i];
        const fx = await fixtures();
        const cell: Cell = { role, user: users[role], fx, n: counter++ };
        const prepared = row.prepare ? await row.prepare(cell) : {};
        const path = prepared.path ?? fillPath(route, fx);
        const body = prepared.body ?? row.body;
        const res = await call(route.method, path, users[role].auth, body);
        const text = await res.text();
        got.push(res.status);
        if (res.status !== row.expect[i]) failures.push(`as ${role}: expected ${row.expect[i]}, got ${res.status} ${text.slice(0, 200)}`);
        if (res.status >= 500) failures.push(`as ${role}: 5xx ${text.slice(0, 200)}`);
        for (const p of answerProblems(contract, route, res.status, res.headers.get("Content-Type"), text)) {
          failures.push(`as ${role}: not as documented: ${p}`);
        }
        const leaks = (await leakedSecrets(text)).filter((l) => !(row.showsNewKey && l === "token key"));
        if (leaks.length) failures.push(`as ${role}: leaks ${leaks.join(", ")}`);
        await resetLockouts();
      }
      expect(failures, `observed [${got.join(", ")}]`).toEqual([]);
    });
  }

  for (const [key, row] of Object.entries(MATRIX).filter(([, r]) => r.known)) {
    // Known failure (see docs/RELIABILITY.md): fails today; when it passes, drop `known` from the row.
    it.fails(`${row.known}: ${key} answers ${row.expect.join("/")} to anonymous/none/sched/maint/log/ALL`, async () => {
      const route = routes.find((r) => r.key === key);
      if (!route) return; // gone: the row is stale (and "every route has a row" still guards the table)
      const got: number[] = [];
      for (const role of ROLES) {
        const res = await call(route!.method, fillPath(route!, await fixtures()), users[role].auth);
        await res.arrayBuffer();
        got.push(res.status);
      }
      expect(got).toEqual(row.expect);
    });
  }

  /** Security settings (issue 14): every user reads them, only superusers change them. */
  const SECURITY_SETTINGS: Record<string, string> = { apiTokenMaxLifetimeDays: "365", jobsMaxPerUser: "40", jobsMinIntervalSeconds: "120" };
  for (const [key, value] of Object.entries(SECURITY_SETTINGS)) {
    it(`setting ${key}: GET ${ANY_USER(200).join("/")}, POST ${SUPER_ONLY(200).join("/")} for anonymous/none/sched/maint/log/ALL`, async () => {
      const reads: number[] = [];
      const writes: number[] = [];
      for (const role of ROLES) {
        const read = await call("GET", `/api/systemSettings/${key}`, users[role].auth);
        await read.arrayBuffer();
        reads.push(read.status);
        const write = await call("POST", `/api/systemSettings/${key}`, users[role].auth, value);
        await write.arrayBuffer();
        writes.push(write.status);
        await env.DB.prepare(`DELETE FROM system_settings WHERE key = ?`).bind(key).run();
      }
      expect(reads).toEqual(ANY_USER(200));
      expect(writes).toEqual(SUPER_ONLY(200));
    });
  }

  it("system info: non-superusers see only the public fields, whatever `fields` asks for", async () => {
    for (const role of ["none", "sched", "maint", "log"] as Role[]) {
      for (const q of ["", "?fields=*", "?fields=javaVersion,databaseInfo[*],memoryInfo,cpuCores,systemId", "?fields=:all"]) {
        const res = await call("GET", `/api/system/info${q}`, users[role].auth);
        expect(res.status).toBe(200);
        const body = (await res.json()) as Record<string, unknown>;
        for (const k of Object.keys(body)) expect(PUBLIC_INFO_FIELDS as readonly string[], `${role} sees ${k} (${q})`).toContain(k);
      }
    }
    const full = (await (await call("GET", "/api/system/info", users.all.auth)).json()) as Record<string, unknown>;
    expect(Object.keys(full).length).toBeGreaterThan(PUBLIC_INFO_FIELDS.length);
  });

  it("system info under DHIS2's rule (SYSTEM_INFO_NON_SUPERUSER=dhis2): no sensitive field for non-superusers", async () => {
    for (const role of ["none", "sched", "maint", "log"] as Role[]) {
      for (const q of ["", "?fields=*", "?fields=javaVersion,osName,memoryInfo,databaseInfo[*],redisHostname"]) {
        const res = await fetchWith({ SYSTEM_INFO_NON_SUPERUSER: "dhis2" }, "GET", `/api/system/info${q}`, { auth: users[role].auth });
        expect(res.status).toBe(200);
        const body = (await res.json()) as Record<string, any>;
        for (const k of SENSITIVE_INFO_FIELDS) expect(body[k], `${role} sees ${k} (${q})`).toBeUndefined();
        if (body.databaseInfo)
          for (const k of ["name", "user", "url", "databaseVersion"])
            expect(body.databaseInfo[k], `${role} sees databaseInfo.${k}`).toBeUndefined();
        if ("redisEnabled" in body) expect(body.redisEnabled).toBe(false);
        if ("encryption" in body) expect(body.encryption).toBe(false);
      }
    }
    const full = (await (
      await fetchWith({ SYSTEM_INFO_NON_SUPERUSER: "dhis2" }, "GET", "/api/system/info", { auth: users.all.auth })
    ).json()) as Record<string, unknown>;
    expect(SENSITIVE_INFO_FIELDS.some((k) => full[k] !== undefined)).toBe(true);
  });

  it("users listing and /api/me never carry password hashes, even with fields=*", async () => {
    for (const target of [
      "/api/users?fields=*",
      "/api/users?fields=:all,passwordHash,password_hash,password",
      "/api/me?fields=*",
      "/api/me",
      `/api/users/${users.none.uid}?fields=*`,
    ]) {
      for (const role of ["none", "all"] as Role[]) {
        const res = await call("GET", target, users[role].auth);
        const text = await res.text();
        expect(await leakedSecrets(text), `${target} as ${role}`).toEqual([]);
      }
    }
  });

  it("other users' tasks: a run's notifications and summary are readable by its starter, superusers, F_PERFORM_MAINTENANCE and F_JOB_LOG_READ only", async () => {
    const other = await createRoleUser("RelUserSch2", "rel_sched2", ["F_SCHEDULING_ADMIN"]);
    const create = await call("POST", "/api/jobConfigurations", users.sched.auth, {
      name: unique("Tasks of sched "),
      jobType: "TEST",
      cronExpression: uniqueCron(),
    });
    expect(create.status).toBe(201);
    const uid = ((await create.json()) as any).response.uid as string;
    expect((await call("POST", `/api/jobConfigurations/${uid}/execute`, users.sched.auth)).status).toBe(200);
    // The run starts on the object's alarm (real time here); wait for its end.
    for (let i = 0; i < 1000; i++) {
      const r = await env.DB.prepare(`SELECT status FROM job_runs WHERE job_uid = ?`).bind(uid).first<{ status: string }>();
      if (r && r.status !== "RUNNING") break;
      await new Promise((res) => setTimeout(res, 20));
    }
    const expectFor: [string, string | null, number][] = [
      ["anonymous", null, 401],
      ["no authorities", users.none.auth, 403],
      ["another F_SCHEDULING_ADMIN user", other.auth, 403],
      ["the starter", users.sched.auth, 200],
      ["F_PERFORM_MAINTENANCE", users.maint.auth, 200],
      ["F_JOB_LOG_READ", users.log.auth, 200],
      ["ALL", users.all.auth, 200],
    ];
    for (const path of [`/api/system/tasks/TEST/${uid}`, `/api/system/taskSummaries/TEST/${uid}`]) {
      const got: string[] = [];
      for (const [who, auth, want] of expectFor) {
        const res = await call("GET", path, auth);
        const text = await res.text();
        if (res.status !== want) got.push(`${who}: ${res.status} (expected ${want}) ${text.slice(0, 120)}`);
        if (want === 200 && path.includes("/tasks/")) expect(JSON.parse(text).length, who).toBeGreaterThan(0);
      }
      expect(got, path).toEqual([]);
    }
    // Listings show a run only to those who may read it.
    for (const [who, auth] of [
      ["no authorities", users.none.auth],
      ["another F_SCHEDULING_ADMIN user", other.auth],
    ] as const) {
      for (const path of ["/api/system/tasks", "/api/system/tasks/TEST", "/api/system/taskSummaries/TEST"]) {
        const text = await (await call("GET", path, auth)).text();
        expect(text, `${who} ${path}`).not.toContain(uid);
      }
    }
    // Deleting someone else's task is refused too.
    expect((await call("DELETE", `/api/system/tasks/TEST/${uid}`, other.auth)).status).toBe(403);
    expect((await call("GET", `/api/system/tasks/TEST/${uid}`, users.sched.auth)).status).toBe(200);
  }, 60_000);

  it("a token is visible to its owner only, and never with its key or hash", async () => {
    const created = await call("POST", "/api/apiToken", users.none.auth, { attributes: [], expire: Date.UTC(2030, 0, 1) });
    if (created.status === 404 || created.status === 405) return; // tokens endpoint not there
    expect(created.status).toBe(201);
    const body: any = await created.json();
    const uid = body.response?.uid;
    expect(typeof uid).toBe("string");
    const other = await call("GET", `/api/apiToken/${uid}`, users.sched.auth);
    expect(other.status).toBe(404);
    await other.arrayBuffer();
    const revoke = await call("DELETE", `/api/apiToken/${uid}`, users.sched.auth);
    expect(revoke.status).toBe(404);
    await revoke.arrayBuffer();
    expect(await env.DB.prepare(`SELECT 1 AS x FROM api_tokens WHERE uid = ?`).bind(uid).first()).not.toBeNull();
    for (const role of ["none", "sched", "all"] as Role[]) {
      const text = await (await call("GET", "/api/apiToken?fields=*", users[role].auth)).text();
      expect(await leakedSecrets(text), role).toEqual([]);
      if (role === "sched") expect(text).not.toContain(uid);
    }
  });
});
