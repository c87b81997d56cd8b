import { env } from "cloudflare:test";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { manualClock, setClock } from "../../src/http/clock";
import { app } from "../../src/app";
import { schedulerEntries } from "../../src/queues/entries";
import type { QueueJobRow } from "../../src/queues/store";
import { api, json } from "../helpers";
import { clearJobs, deleteJobAlarms, jobRow, seedJob, T0, userWith } from "./support";

const A = "jobAaaaaaa1";
const B = "jobBbbbbbb1";
const C = "jobCcccccc1";
const SYS = "sysJob00001";
const CONT = "contJob0001";
const ONCE = "onceJob0001";

const clockNow = manualClock(T0);

beforeEach(async () => {
  setClock(clockNow);
  clockNow.set(T0);
  await clearJobs();
  await seedJob({ uid: A, name: "a", jobType: "DISABLE_INACTIVE_USERS", cron: "0 0 1 ? * *" });
  await seedJob({ uid: B, name: "b", jobType: "DATA_INTEGRITY", cron: "0 0 12 ? * MON-FRI" });
  await seedJob({ uid: C, name: "c", jobType: "RESOURCE_TABLE", cron: "0 0 3 ? * MON" });
});

afterEach(deleteJobAlarms);
afterAll(() => setClock(null));

const post = (name: string, body: unknown, auth?: string) =>
  api(`/api/scheduler/queues/${encodeURIComponent(name)}`, { method: "POST", body, auth });
const put = (name: string, body: unknown, auth?: string) =>
  api(`/api/scheduler/queues/${encodeURIComponent(name)}`, { method: "PUT", body, auth });
const del = (name: string, auth?: string) => api(`/api/scheduler/queues/${encodeURIComponent(name)}`, { method: "DELETE", auth });

async function expectMessage(res: Response, status: number, message: string, errorCode?: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get("Content-Type")).toBe("application/json;charset=UTF-8");
  const body = await json(res);
  expect(body).toEqual({
    httpStatus: { 403: "Forbidden", 404: "Not Found", 409: "Conflict", 400: "Bad Request" }[status],
    httpStatusCode: status,
    status: "ERROR",
    ...(errorCode ? { errorCode } : {}),
    message,
  });
}

describe("GET /api/scheduler", () => {
  it("lists each job with DHIS2's entry shape, ordered by name", async () => {
    const res = await api("/api/scheduler?order=name");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("application/json;charset=UTF-8");
    const entries = await json<any[]>(res);
    expect(entries.map((e) => e.name)).toEqual(["a", "b", "c"]);
    expect(entries[0]).toEqual({
      name: "a",
      type: "DISABLE_INACTIVE_USERS",
      cronExpression: "0 0 1 ? * *",
      nextExecutionTime: "2030-01-08T01:00:00.000",
      maxDelayedExecutionTime: "2030-01-08T05:00:00.000",
      secondsToNextExecutionTime: 15 * 3600,
      secondsToMaxDelayedExecutionTime: 19 * 3600,
      status: "SCHEDULED",
      enabled: true,
      configurable: true,
      sequence: [
        {
          id: A,
          name: "a",
          type: "DISABLE_INACTIVE_USERS",
          cronExpression: "0 0 1 ? * *",
          nextExecutionTime: "2030-01-08T01:00:00.000",
          status: "SCHEDULED",
        },
      ],
    });
  });

  it("orders by next execution time by default, unscheduled entries last", async () => {
    await seedJob({ uid: "disabled001", name: "0-disabled", cron: "0 0 2 ? * *", enabled: false });
    const entries = await json<any[]>(await api("/api/scheduler"));
    // c: Mon 03:00 is past (7 h ago, outside the 4 h window) → next Monday; b: today 12:00; a: tomorrow 01:00.
    expect(entries.map((e) => e.name)).toEqual(["b", "a", "c", "0-disabled"]);
    expect(entries[3].nextExecutionTime).toBeUndefined();
    expect(entries[3].enabled).toBe(false);
    expect(entries[3].status).toBe("DISABLED");
  });

  it("leaves run-once jobs out, shows system jobs as not configurable and FIXED_DELAY jobs with their delay", async () => {
    await seedJob({ uid: ONCE, name: "once", cron: null });
    await seedJob({ uid: SYS, name: "housekeeping", jobType: "HOUSEKEEPING", cron: null, delay: 20, system: true });
    await seedJob({ uid: CONT, name: "continuous", jobType: "CONTINUOUS_ANALYTICS_TABLE", cron: null, delay: 600 });
    const entries = await json<any[]>(await api("/api/scheduler?order=name"));
    expect(entries.map((e) => e.name)).toEqual(["a", "b", "c", "continuous", "housekeeping"]);
    const hk = entries[4];
    expect(hk.configurable).toBe(false);
    expect(hk.type).toBe("HOUSEKEEPING");
    expect(hk.delay).toBe(20);
    expect(hk.cronExpression).toBeUndefined();
    expect(hk.maxDelayedExecutionTime).toBeUndefined();
    expect(hk.sequence).toEqual([
      { id: SYS, name: "housekeeping", type: "HOUSEKEEPING", delay: 20, nextExecutionTime: hk.nextExecutionTime, status: "SCHEDULED" },
    ]);
  });

  it("collapses a queue into one Sequence entry carrying the head's schedule", async () => {
    expect((await post("testQueue", { cronExpression: "0 0 1 ? * *", sequence: [A, C] })).status).toBe(201);
    const entries = await json<any[]>(await api("/api/scheduler?order=name"));
    expect(entries.map((e) => e.name)).toEqual(["b", "testQueue"]);
    expect(entries[1]).toEqual({
      name: "testQueue",
      type: "Sequence",
      cronExpression: "0 0 1 ? * *",
      nextExecutionTime: "2030-01-08T01:00:00.000",
      maxDelayedExecutionTime: "2030-01-08T05:00:00.000",
      secondsToNextExecutionTime: 15 * 3600,
      secondsToMaxDelayedExecutionTime: 19 * 3600,
      status: "SCHEDULED",
      enabled: true,
      configurable: true,
      sequence: [
        {
          id: A,
          name: "a",
          type: "DISABLE_INACTIVE_USERS",
          cronExpression: "0 0 1 ? * *",
          nextExecutionTime: "2030-01-08T01:00:00.000",
          status: "SCHEDULED",
        },
        { id: C, name: "c", type: "RESOURCE_TABLE", status: "SCHEDULED" },
      ],
    });
  });

  it("reports a queue RUNNING while any member runs, and follows the head's enabled flag", async () => {
    await post("q", { cronExpression: "0 0 1 ? * *", sequence: [A, B, C] });
    await env.DB.prepare("UPDATE job_configurations SET job_status = 'RUNNING' WHERE uid = ?").bind(C).run();
    let entry = (await json<any[]>(await api("/api/scheduler"))).find((e) => e.name === "q");
    expect(entry.status).toBe("RUNNING");
    await env.DB.prepare("UPDATE job_configurations SET job_status = 'SCHEDULED' WHERE uid = ?").bind(C).run();
    await env.DB.prepare("UPDATE job_configurations SET enabled = 0, job_status = 'DISABLED' WHERE uid = ?").bind(A).run();
    entry = (await json<any[]>(await api("/api/scheduler"))).find((e) => e.name === "q");
    expect(entry.enabled).toBe(false);
    expect(entry.status).toBe("DISABLED");
    expect(entry.nextExecutionTime).toBeUndefined();
  });

  it("formats dates in the server time zone", async () => {
    const entries = await json<any[]>(await api("/api/41/scheduler.json?order=name"));
    expect(entries[0].nextExecutionTime).toBe("2030-01-08T01:00:00.000");
  });

  it("evaluates crons and formats dates in the server zone (Africa/Dar_es_Salaam, UTC+3)", async () => {
    const rows = await env.DB.prepare("SELECT * FROM job_configurations").all<QueueJobRow>();
    const [a] = schedulerEntries(rows.results, "name", T0, "Africa/Dar_es_Salaam");
    // T0 is 13:00 local; the next 01:00 local is 2030-01-07T22:00Z.
    expect(a.nextExecutionTime).toBe("2030-01-08T01:00:00.000");
    expect(a.maxDelayedExecutionTime).toBe("2030-01-08T05:00:00.000");
    expect(a.secondsToNextExecutionTime).toBe(12 * 3600);
  });

  it("needs authentication", async () => {
    expect((await api("/api/scheduler", { auth: null })).status).toBe(401);
  });
});

describe("GET /api/scheduler/queueable", () => {
  beforeEach(async () => {
    await seedJob({ uid: SYS, name: "housekeeping", jobType: "HOUSEKEEPING", cron: null, delay: 20, system: true });
    await seedJob({ uid: CONT, name: "continuous", jobType: "CONTINUOUS_ANALYTICS_TABLE", cron: null, delay: 600 });
  });

  it("lists configurable cron jobs not in a queue, by name, as scheduler entries", async () => {
    await post("testQueue", { cronExpression: "0 0 1 ? * *", sequence: [A, C] });
    const res = await api("/api/scheduler/queueable");
    expect(res.status).toBe(200);
    const entries = await json<any[]>(res);
    expect(entries.map((e) => e.name)).toEqual(["b"]);
    expect(entries[0].sequence).toEqual([
      {
        id: B,
        name: "b",
        type: "DATA_INTEGRITY",
        cronExpression: "0 0 12 ? * MON-FRI",
        nextExecutionTime: "2030-01-07T12:00:00.000",
        status: "SCHEDULED",
      },
    ]);
  });

  it("with ?name= leaves that queue's members out too, like every queue member (DHIS2's nameFilter)", async () => {
    await seedJob({ uid: "jobDddddd01", name: "d", jobType: "PREDICTOR" });
    await seedJob({ uid: "jobEeeeee01", name: "e", jobType: "MONITORING" });
    await post("q1", { cronExpression: "0 0 1 ? * *", sequence: [A, C] });
    await post("q2", { cronExpression: "0 0 2 ? * *", sequence: ["jobDddddd01", "jobEeeeee01"] });
    for (const q of ["?name=q1", "?name=q2", "?name=unknown", "?name=", ""]) {
      expect(
        (await json<any[]>(await api(`/api/scheduler/queueable${q}`))).map((e) => e.name),
        q,
      ).toEqual(["b"]);
    }
  });

  it("lists a job again once it has left its queue (CRON type kept, no cron)", async () => {
    await post("q1", { cronExpression: "0 0 1 ? * *", sequence: [A, C] });
    expect((await del("q1")).status).toBe(204);
    const entries = await json<any[]>(await api("/api/scheduler/queueable"));
    expect(entries.map((e) => e.name)).toEqual(["a", "b", "c"]);
    expect(entries[0]).toMatchObject({ name: "a", status: "DISABLED", enabled: false, sequence: [{ id: A, status: "DISABLED" }] });
    expect(entries[0].cronExpression).toBeUndefined();
  });
});

describe("queue CRUD", () => {
  it("creates (201, no body), lists names and reads a queue", async () => {
    const res = await post("testQueue", { cronExpression: "0 0 1 ? * *", sequence: [A, B, C] });
    expect(res.status).toBe(201);
    expect(await res.text()).toBe("");
    const names = await api("/api/scheduler/queues");
    expect(names.status).toBe(200);
    expect(await json(names)).toEqual(["testQueue"]);
    expect(await json(await api("/api/scheduler/queues/"))).toEqual(["testQueue"]);
    const q = await api("/api/scheduler/queues/testQueue");
    expect(q.status).toBe(200);
    expect(await json(q)).toEqual({ name: "testQueue", cronExpression: "0 0 1 ? * *", sequence: [A, B, C] });
  });

  it("puts the cron on the head only, bumps versions and records the writer", async () => {
    await post("testQueue", { cronExpression: "0 30 2 ? * *", sequence: [B, A] });
    const b = await jobRow(B);
    const a = await jobRow(A);
    expect([b.queue_name, b.queue_position, b.cron_expression, b.scheduling_type, b.version, b.last_updated]).toEqual([
      "testQueue",
      0,
      "0 30 2 ? * *",
      "CRON",
      2,
      T0,
    ]);
    expect([a.queue_name, a.queue_position, a.cron_expression, a.version]).toEqual(["testQueue", 1, null, 2]);
    expect(a.last_updated_by).toBe("M5zQapPyTZI");
    expect((await jobRow(C)).version).toBe(1);
  });

  it("returns an empty name list when there are no queues", async () => {
    expect(await json(await api("/api/scheduler/queues"))).toEqual([]);
  });

  it("E7020: unknown queue on GET, PUT and DELETE", async () => {
    await expectMessage(await api("/api/scheduler/queues/foo"), 404, "Job queue does not exist: `foo`", "E7020");
    await expectMessage(await put("foo", {}), 404, "Job queue does not exist: `foo`", "E7020");
    await expectMessage(await del("foo"), 404, "Job queue does not exist: `foo`", "E7020");
  });

  it("E7021: the queue already exists", async () => {
    await post("testQueue", { cronExpression: "0 0 1 ? * *", sequence: [A, B] });
    await expectMessage(
      await post("testQueue", { cronExpression: "0 0 1 ? * *", sequence: [] }),
      409,
      "Job queue already exist: `testQueue`",
      "E7021",
    );
  });

  it("E7022: a job already used in another queue", async () => {
    await post("Q1", { cronExpression: "0 0 1 ? * *", sequence: [A, B] });
    await expectMessage(
      await post("Q2", { cronExpression: "0 0 1 ? * *", sequence: [A, C] }),
      409,
      `Job \`${A}\` is already used in another queue: \`Q1\``,
      "E7022",
    );
  });

  it("E7023: a system job", async () => {
    await seedJob({ uid: SYS, name: "housekeeping", jobType: "HOUSEKEEPING", cron: null, delay: 20, system: true });
    await expectMessage(
      await post("q", { cronExpression: "0 0 1 ? * *", sequence: [A, SYS] }),
      409,
      `Job \`${SYS}\` is a system job that cannot be sequenced`,
      "E7023",
    );
  });

  it("E7024: fewer than two jobs", async () => {
    await expectMessage(
      await post("q", { cronExpression: "0 0 1 ? * *", sequence: [A] }),
      409,
      "Job queue must have at least two jobs.",
      "E7024",
    );
    await expectMessage(await post("q", { cronExpression: "0 0 1 ? * *" }), 409, "Job queue must have at least two jobs.", "E7024");
  });

  it("invalid cron: Spring's parser message", async () => {
    await expectMessage(
      await post("q", { cronExpression: "0 1 ? * *", sequence: [A, B] }),
      409,
      'Cron expression is invalid: `Cron expression must consist of 6 fields (found 5 in "0 1 ? * *")`',
      "E7005",
    );
    await post("q", { cronExpression: "0 0 1 ? * *", sequence: [A, C] });
    await expectMessage(
      await put("q", { cronExpression: "0 1 ? * *", sequence: [A, B] }),
      409,
      'Cron expression is invalid: `Cron expression must consist of 6 fields (found 5 in "0 1 ? * *")`',
      "E7005",
    );
    expect((await json(await api("/api/scheduler/queues/q"))).cronExpression).toBe("0 0 1 ? * *");
  });

  it("unknown job: 404 naming it; nothing is written", async () => {
    await expectMessage(
      await post("q", { cronExpression: "0 0 1 ? * *", sequence: [A, "no-uid", C] }),
      404,
      "JobConfiguration with id no-uid could not be found.",
      "E1005",
    );
    expect((await jobRow(A)).queue_name).toBeNull();
    expect(await json(await api("/api/scheduler/queues"))).toEqual([]);
  });

  it("rejects a job listed twice", async () => {
    const res = await post("q", { cronExpression: "0 0 1 ? * *", sequence: [A, B, A] });
    expect(res.status).toBe(409);
    expect((await json(res)).message).toBe(`Job \`${A}\` is listed more than once in the queue sequence.`);
  });

  it("PUT replaces cron and order (204); a job left out is unscheduled and disabled", async () => {
    await post("testQueue", { cronExpression: "0 0 1 ? * *", sequence: [A, C] });
    clockNow.advance(60_000);
    const res = await put("testQueue", { cronExpression: "0 0 2 ? * *", sequence: [B, A] });
    expect(res.status).toBe(204);
    expect(res.headers.get("Content-Type")).toBeNull();
    expect(await json(await api("/api/scheduler/queues/testQueue"))).toEqual({
      name: "testQueue",
      cronExpression: "0 0 2 ? * *",
      sequence: [B, A],
    });
    const c = await jobRow(C);
    expect([c.queue_name, c.queue_position, c.cron_expression, c.enabled, c.job_status, c.version, c.last_updated]).toEqual([
      null,
      null,
      null,
      0,
      "DISABLED",
      3,
      T0 + 60_000,
    ]);
    const a = await jobRow(A);
    expect([a.queue_position, a.cron_expression, a.version]).toEqual([1, null, 3]);
  });

  it("PUT with a new name renames the queue", async () => {
    await post("old", { cronExpression: "0 0 1 ? * *", sequence: [A, C] });
    expect((await put("old", { name: "new", cronExpression: "0 0 1 ? * *", sequence: [A, C] })).status).toBe(204);
    await expectMessage(await api("/api/scheduler/queues/old"), 404, "Job queue does not exist: `old`", "E7020");
    expect(await json(await api("/api/scheduler/queues/new"))).toEqual({ name: "new", cronExpression: "0 0 1 ? * *", sequence: [A, C] });
    expect(await json(await api("/api/scheduler/queues"))).toEqual(["new"]);
  });

  it("PUT rename onto an existing queue is E7021", async () => {
    await seedJob({ uid: "jobDddddd01", name: "d", jobType: "PREDICTOR" });
    await post("one", { cronExpression: "0 0 1 ? * *", sequence: [A, B] });
    await post("two", { cronExpression: "0 0 1 ? * *", sequence: [C, "jobDddddd01"] });
    await expectMessage(
      await put("one", { name: "two", cronExpression: "0 0 1 ? * *", sequence: [A, B] }),
      409,
      "Job queue already exist: `two`",
      "E7021",
    );
  });

  it("DELETE (204) leaves the members unscheduled and disabled; they stay in the overview as single jobs", async () => {
    await post("testQueue", { cronExpression: "0 0 1 ? * *", sequence: [A, B, C] });
    const res = await del("testQueue");
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");
    expect((await api("/api/scheduler/queues/testQueue")).status).toBe(404);
    for (const uid of [A, B, C]) {
      const r = await jobRow(uid);
      expect([r.queue_name, r.queue_position, r.cron_expression, r.scheduling_type, r.enabled, r.job_status]).toEqual([
        null,
        null,
        null,
        "CRON",
        0,
        "DISABLED",
      ]);
    }
    expect(await json(await api("/api/scheduler?order=name"))).toEqual([
      {
        name: "a",
        type: "DISABLE_INACTIVE_USERS",
        status: "DISABLED",
        enabled: false,
        configurable: true,
        sequence: [{ id: A, name: "a", type: "DISABLE_INACTIVE_USERS", status: "DISABLED" }],
      },
      {
        name: "b",
        type: "DATA_INTEGRITY",
        status: "DISABLED",
        enabled: false,
        configurable: true,
        sequence: [{ id: B, name: "b", type: "DATA_INTEGRITY", status: "DISABLED" }],
      },
      {
        name: "c",
        type: "RESOURCE_TABLE",
        status: "DISABLED",
        enabled: false,
        configurable: true,
        sequence: [{ id: C, name: "c", type: "RESOURCE_TABLE", status: "DISABLED" }],
      },
    ]);
  });

  it("a job dropped from the sequence by PUT stays in the overview as a single job", async () => {
    await post("testQueue", { cronExpression: "0 0 1 ? * *", sequence: [A, B, C] });
    expect((await put("testQueue", { cronExpression: "0 0 1 ? * *", sequence: [A, B] })).status).toBe(204);
    const entries = await json<any[]>(await api("/api/scheduler?order=name"));
    expect(entries.map((e) => [e.name, e.type, e.sequence.map((j: any) => j.id)])).toEqual([
      ["c", "RESOURCE_TABLE", [C]],
      ["testQueue", "Sequence", [A, B]],
    ]);
    expect(entries[0]).toMatchObject({ status: "DISABLED", enabled: false });
  });

  it("queue names with spaces and unicode survive the path", async () => {
    expect((await post("Nightly run é", { cronExpression: "0 0 1 ? * *", sequence: [A, B] })).status).toBe(201);
    expect(await json(await api("/api/scheduler/queues"))).toEqual(["Nightly run é"]);
    expect((await json(await api(`/api/scheduler/queues/${encodeURIComponent("Nightly run é")}`))).sequence).toEqual([A, B]);
  });

  describe("queue names (DHIS2 stores them in a varchar(50); control characters refused)", () => {
    const body = () => ({ cronExpression: "0 0 1 ? * *", sequence: [A, B] });
    async function expectNothingStored() {
      expect(await json(await api("/api/scheduler/queues"))).toEqual([]);
      for (const uid of [A, B]) expect((await jobRow(uid)).queue_name).toBeNull();
    }

    it("up to 50 characters (code points, as PostgreSQL counts them) are accepted", async () => {
      const fifty = "q".repeat(50);
      expect((await post(fifty, body())).status).toBe(201);
      await seedJob({ uid: "jobDddddd01", name: "d", jobType: "PREDICTOR" });
      const emoji = "🙂".repeat(50); // 100 UTF-16 units, 50 characters
      expect((await post(emoji, { cronExpression: "0 0 2 ? * *", sequence: [C, "jobDddddd01"] })).status).toBe(201);
      expect(await json(await api("/api/scheduler/queues"))).toEqual([fifty, emoji]);
    });

    it("51 or 5,000 characters: 409 E4002, nothing stored", async () => {
      await expectMessage(
        await post("q".repeat(51), body()),
        409,
        "Allowed length range for property `name` is [1 to 50], but given length was 51",
        "E4002",
      );
      await expectMessage(
        await post("x".repeat(5000), body()),
        409,
        "Allowed length range for property `name` is [1 to 50], but given length was 5,000",
        "E4002",
      );
      await expectNothingStored();
    });

    it("control characters, line separators and broken UTF-16: 409 E4027 naming them escaped, nothing stored", async () => {
      const cases: [string, string][] = [
        ["tab\there", "tab\\u0009here"],
        ["nul\u0000", "nul\\u0000"],
        ["two\nlines", "two\\u000alines"],
        ["del\u007f", "del\\u007f"],
        ["c1\u0085", "c1\\u0085"],
        ["ls\u2028ps\u2029", "ls\\u2028ps\\u2029"],
      ];
      for (const [name, shown] of cases) {
        await expectMessage(await post(name, body()), 409, `Value \`${shown}\` is not a valid for property \`name\``, "E4027");
      }
      // (A lone surrogate cannot travel in a URL path: the rename test sends one in a body.)
      await expectNothingStored();
    });

    it("a blank name: 409 E4000", async () => {
      await expectMessage(await post("   ", body()), 409, "Missing required property `name`", "E4000");
      await expectNothingStored();
    });

    it("a rename (PUT name) is checked the same way; the queue stays as it was", async () => {
      expect((await post("ok", body())).status).toBe(201);
      await expectMessage(
        await put("ok", { ...body(), name: "y".repeat(60) }),
        409,
        "Allowed length range for property `name` is [1 to 50], but given length was 60",
        "E4002",
      );
      await expectMessage(
        await put("ok", { ...body(), name: "bad\ud800" }),
        409,
        "Value `bad\\ud800` is not a valid for property `name`",
        "E4027",
      );
      await expectMessage(await put("ok", { ...body(), name: " " }), 409, "Missing required property `name`", "E4000");
      expect(await json(await api("/api/scheduler/queues"))).toEqual(["ok"]);
      expect((await put("ok", { ...body(), name: "renamed" })).status).toBe(204);
      expect(await json(await api("/api/scheduler/queues"))).toEqual(["renamed"]);
    });

    it("`.` and `..` (which no URL path can name): 409 E4027", async () => {
      expect((await post("ok", body())).status).toBe(201);
      for (const name of [".", ".."]) {
        await expectMessage(await put("ok", { ...body(), name }), 409, `Value \`${name}\` is not a valid for property \`name\``, "E4027");
      }
      expect(await json(await api("/api/scheduler/queues"))).toEqual(["ok"]);
    });

    it("percent signs survive the path: decoded once, never twice", async () => {
      for (const name of ["50% off", "%41", "%2e%2e", "100%"]) {
        const res = await post(name, body());
        expect(res.status, name).toBe(201);
        expect(await json(await api("/api/scheduler/queues")), name).toEqual([name]);
        expect((await json(await api(`/api/scheduler/queues/${encodeURIComponent(name)}`))).name, name).toBe(name);
        expect((await del(name)).status, name).toBe(204);
      }
    });

    it("a name stored before the rule can still be read, changed and deleted", async () => {
      const legacy = `old\t${"n".repeat(60)}`;
      await env.DB.prepare(
        "UPDATE job_configurations SET queue_name = ?, queue_position = CASE uid WHEN ? THEN 0 ELSE 1 END WHERE uid IN (?, ?)",
      )
        .bind(legacy, A, A, B)
        .run();
      const path = encodeURIComponent(legacy);
      expect((await api(`/api/scheduler/queues/${path}`)).status).toBe(200);
      expect(
        (await api(`/api/scheduler/queues/${path}`, { method: "PUT", body: { cronExpression: "0 0 3 ? * *", sequence: [B, A] } })).status,
      ).toBe(204);
      expect((await api(`/api/scheduler/queues/${path}`, { method: "DELETE" })).status).toBe(204);
      expect(await json(await api("/api/scheduler/queues"))).toEqual([]);
    });
  });

  it("accepts Jackson-style input: blank cron is absent, sequence of {id} objects", async () => {
    await expectMessage(
      await post("q", { cronExpression: "", sequence: [A, B] }),
      409,
      "Cron expression is invalid: `Expression string must not be empty`",
      "E7005",
    );
    expect((await post("q", { cronExpression: "0 0 1 ? * *", sequence: [{ id: A }, { id: B }] })).status).toBe(201);
  });

  it("bad bodies are 400", async () => {
    expect((await post("q", "{not json")).status).toBe(400);
    expect((await post("q", [A, B])).status).toBe(400);
    expect((await post("q", { cronExpression: "0 0 1 ? * *", sequence: A })).status).toBe(400);
  });

  it("writes need F_SCHEDULING_ADMIN or ALL; reads only a user", async () => {
    await post("q", { cronExpression: "0 0 1 ? * *", sequence: [A, B] });
    const plain = await userWith([]);
    await expectMessage(
      await post("q2", { cronExpression: "0 0 1 ? * *", sequence: [C, A] }, plain),
      403,
      "Access is denied, requires one Authority from [F_SCHEDULING_ADMIN]",
      "E1006",
    );
    await expectMessage(
      await put("q", { cronExpression: "0 0 1 ? * *", sequence: [A, B] }, plain),
      403,
      "Access is denied, requires one Authority from [F_SCHEDULING_ADMIN]",
      "E1006",
    );
    await expectMessage(await del("q", plain), 403, "Access is denied, requires one Authority from [F_SCHEDULING_ADMIN]", "E1006");
    expect((await api("/api/scheduler/queues/q", { auth: plain })).status).toBe(200);
    expect((await api("/api/scheduler", { auth: plain })).status).toBe(200);
    const admin = await userWith(["F_SCHEDULING_ADMIN"]);
    expect((await del("q", admin)).status).toBe(204);
  });

  it("documents every route in the OpenAPI document, with the write bodies", async () => {
    const doc = app.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "t", version: "1" } }) as any;
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(["/api/scheduler", "/api/scheduler/queueable", "/api/scheduler/queues", "/api/scheduler/queues/{name}"]),
    );
    const queue = doc.paths["/api/scheduler/queues/{name}"];
    expect(Object.keys(queue).sort()).toEqual(["delete", "get", "post", "put"]);
    expect(queue.post.requestBody.content["application/json"]).toBeDefined();
    expect(queue.put.requestBody.content["application/json"]).toBeDefined();
    expect(Object.keys(queue.post.responses)).toEqual(expect.arrayContaining(["201", "403", "404", "409"]));
  });
});
