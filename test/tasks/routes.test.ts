/**
 * /api/system/tasks… and /api/system/taskSummaries…: shapes, validation, gist, stale completion,
 * access control for three kinds of users, deletes and retention.
 * Runs are seeded through JobNotifications inside each job's real Durable Object.
 */
import { createExecutionContext, createScheduledController, env, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { NO_STORE } from "../../src/http/respond";
import { manualClock, setClock } from "../../src/http/clock";
import { generateUid } from "../../src/http/uid";
import { ensureBootstrapAdmin } from "../../src/users/bootstrap";
import { hashPassword } from "../../src/users/password";
import { TASK_CATEGORIES } from "../../src/jobs/registry";
import { JobNotifications, KV_PROGRESS_INTERVAL_MS } from "../../src/tasks/job-notifications";
import { summaryKey, taskKey } from "../../src/tasks/kv";
import { cleanupTasks } from "../../src/tasks/cleanup";
import { STALE_GRACE_MS } from "../../src/tasks/service";
import { app } from "../../src/app";
import worker from "../../src/index";
import { api, basic, json } from "../helpers";

const T0 = Date.UTC(2026, 10, 29, 8, 0, 0, 0);
const clock = manualClock(T0);
/** A pacing clock that jumps a progress interval per reading: every KV write is allowed at once. */
let pacingT = 5_000_000;
const pacing = { now: () => (pacingT += KV_PROGRESS_INTERVAL_MS) };

/** Three kinds of callers (plus admin, a superuser): the starter, a log reader, an unrelated user. */
const STARTER = { uid: "stArter0001", username: "starter", password: "Starter123!" };
const READER = { uid: "reAder00001", username: "logreader", password: "Reader123!" };
const OTHER = { uid: "oTher000001", username: "other", password: "Other123!" };
const MAINT = { uid: "mAint000001", username: "maint", password: "Maint123!" };
const auth = (u: { username: string; password: string }) => basic(u.username, u.password);

async function createUser(u: { uid: string; username: string; password: string }, authorities: string[]) {
  await env.DB.prepare(
    `INSERT INTO users (uid, username, first_name, surname, password_hash, authorities, created, last_updated) VALUES (?, ?, 'T', 'U', ?, ?, 0, 0)`,
  )
    .bind(u.uid, u.username, await hashPassword(u.password, 1000), JSON.stringify(authorities))
    .run();
}

/** Runs `fn` against the job's notifier inside its object and waits for the KV write-through. */
async function seed(jobId: string, fn: (n: JobNotifications) => void | Promise<void>): Promise<void> {
  const stub = env.JOBS.get(env.JOBS.idFromName(jobId));
  await runInDurableObject(stub, async (_i, state) => {
    const n = new JobNotifications(state, env, { pacing });
    await fn(n);
    await n.idle();
  });
}

/** A TEST run started by `userUid` at `at`, with `messages` INFO messages, optionally finished. */
async function seedRun(
  jobId: string,
  opts: { at?: number; userUid?: string; messages?: number; finish?: boolean; summary?: unknown; jobType?: string } = {},
) {
  const at = opts.at ?? T0;
  await seed(jobId, (n) => {
    n.runStarted({ jobId, jobType: opts.jobType ?? "TEST", parameters: { items: 2 }, userUid: opts.userUid ?? STARTER.uid, now: at });
    for (let i = 1; i <= (opts.messages ?? 2); i++) n.notify("INFO", `step ${i}`, at + i);
    if (opts.finish) n.runFinished({ outcome: "COMPLETED", message: "done", summary: opts.summary, now: at + 100 });
  });
}

async function jobRow(uid: string, status: string, extra: { executedBy?: string; createdBy?: string } = {}) {
  await env.DB.prepare(
    `INSERT OR REPLACE INTO job_configurations (uid, name, job_type, job_status, executed_by, created_by, created, last_updated) VALUES (?, ?, 'TEST', ?, ?, ?, 0, 0)`,
  )
    .bind(uid, `job ${uid}`, status, extra.executedBy ?? null, extra.createdBy ?? null)
    .run();
}

async function clearKv() {
  for (;;) {
    const page = await env.TASKS.list();
    await Promise.all(page.keys.map((k) => env.TASKS.delete(k.name)));
    if (page.list_complete) break;
  }
}

beforeAll(async () => {
  await ensureBootstrapAdmin(env, Date.now()); // before other users exist, or no admin is created
  await createUser(STARTER, []);
  await createUser(READER, ["F_JOB_LOG_READ"]);
  await createUser(OTHER, ["F_SCHEDULING_ADMIN"]);
  await createUser(MAINT, ["F_PERFORM_MAINTENANCE"]);
});

beforeEach(async () => {
  clock.set(T0 + 60_000);
  setClock(clock);
  await clearKv();
});

afterEach(async () => {
  await env.DB.prepare(`DELETE FROM system_settings`).run();
  await env.DB.prepare(`DELETE FROM job_configurations`).run();
});

afterAll(() => setClock(null));

describe("GET /api/system/tasks/{jobType}/{jobId}", () => {
  it("returns [] for an unknown job, with the no-store header and a JSON content type", async () => {
    const res = await api(`/api/system/tasks/TEST/${generateUid()}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe(NO_STORE);
    expect(res.headers.get("Content-Type")).toContain("application/json");
    expect(await res.json()).toEqual([]);
  });

  it("returns the whole list newest first while the job runs", async () => {
    const id = generateUid();
    await jobRow(id, "RUNNING");
    await seedRun(id, { messages: 3 });
    const res = await api(`/api/system/tasks/TEST/${id}`);
    expect(res.status).toBe(200);
    const list = await json(res);
    expect(list.map((m: any) => m.message)).toEqual(["step 3", "step 2", "step 1", ""]);
    expect(list[3]).toMatchObject({
      level: "INFO",
      category: "TEST",
      dataType: "PARAMETERS",
      data: { items: 2 },
      completed: false,
      time: "2026-11-29T08:00:00.000",
    });
    expect(list[0]).toEqual({
      uid: list[0].uid,
      id: list[0].uid,
      level: "INFO",
      category: "TEST",
      time: "2026-11-29T08:00:00.003",
      message: "step 3",
      completed: false,
    });
    expect(Number(res.headers.get("X-Task-KV-Writes"))).toBeGreaterThanOrEqual(1);
  });

  it("accepts the job type in any case, also on versioned and .json paths", async () => {
    const id = generateUid();
    await jobRow(id, "RUNNING");
    await seedRun(id);
    for (const path of [`/api/system/tasks/test/${id}`, `/api/41/system/tasks/Test/${id}`, `/api/system/tasks/TEST/${id}.json`]) {
      const res = await api(path);
      expect(res.status).toBe(200);
      expect(await json(res)).toHaveLength(3);
    }
  });

  it("answers [] when the job's run has another type", async () => {
    const id = generateUid();
    await seedRun(id);
    expect(await json(await api(`/api/system/tasks/DATA_INTEGRITY/${id}`))).toEqual([]);
  });

  it("400 for an unknown job type, naming the valid values", async () => {
    const res = await api(`/api/system/tasks/foo/${generateUid()}`);
    expect(res.status).toBe(400);
    const body = await json(res);
    expect(body).toMatchObject({ httpStatus: "Bad Request", httpStatusCode: 400, status: "ERROR" });
    expect(body.message).toBe(`Value 'foo' is not valid for path parameter jobType. Valid values are: [${TASK_CATEGORIES.join(", ")}]`);
    expect(body.message).toContain("ANALYTICSTABLE_UPDATE");
  });

  it("400 for a malformed job id", async () => {
    const res = await api(`/api/system/tasks/TEST/xyz`);
    expect(res.status).toBe(400);
    expect((await json(res)).message).toBe(
      "Value 'xyz' is not valid for path parameter jobId. UID must be an alphanumeric string of 11 characters",
    );
  });

  it("a finished run ends with completed:true first", async () => {
    const id = generateUid();
    await seedRun(id, { finish: true });
    const list = await json(await api(`/api/system/tasks/TEST/${id}`));
    expect(list[0]).toMatchObject({ message: "done", completed: true });
    expect(list).toHaveLength(4);
  });
});

describe("stale completion", () => {
  it("shows only the newest message, completed, when the job is not RUNNING in D1", async () => {
    const id = generateUid();
    await jobRow(id, "SCHEDULED");
    await seedRun(id, { messages: 2 });
    clock.set(T0 + 2 + STALE_GRACE_MS + 1);
    const list = await json(await api(`/api/system/tasks/TEST/${id}`));
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ message: "step 2", completed: true });
    // Reads do not delete: a second poll gets the same answer.
    expect(await json(await api(`/api/system/tasks/TEST/${id}`))).toEqual(list);
  });

  it("also when the job has no D1 row at all, and in listings", async () => {
    const id = generateUid();
    await seedRun(id, { messages: 1 });
    clock.set(T0 + 1 + STALE_GRACE_MS + 1);
    const list = await json(await api(`/api/system/tasks/TEST/${id}`));
    expect(list).toEqual([expect.objectContaining({ message: "step 1", completed: true })]);
    const listing = await json(await api(`/api/system/tasks/TEST?gist=false`));
    expect(listing[id][0]).toMatchObject({ message: "step 1", completed: true });
    expect(listing[id]).toHaveLength(2);
  });

  it("trusts a live run for a short grace period (a poll racing the scheduler's status write)", async () => {
    const id = generateUid();
    await seedRun(id, { messages: 1 });
    clock.set(T0 + 1 + STALE_GRACE_MS - 1000);
    const list = await json(await api(`/api/system/tasks/TEST/${id}`));
    expect(list).toHaveLength(2);
    expect(list[0].completed).toBe(false);
  });

  it("leaves a RUNNING job's list alone however old its last message", async () => {
    const id = generateUid();
    await jobRow(id, "RUNNING");
    await seedRun(id, { messages: 1 });
    clock.set(T0 + 3_600_000);
    const list = await json(await api(`/api/system/tasks/TEST/${id}`));
    expect(list).toHaveLength(2);
    expect(list[0].completed).toBe(false);
  });
});

describe("listings", () => {
  it("GET /api/system/tasks lists every job type, {} when empty", async () => {
    const res = await api(`/api/system/tasks`);
    expect(res.status).toBe(200);
    expect(res.headers.get("Cache-Control")).toBe(NO_STORE);
    const body = await json(res);
    expect(Object.keys(body)).toEqual([...TASK_CATEGORIES]);
    expect(Object.values(body).every((v) => JSON.stringify(v) === "{}")).toBe(true);
    expect(body).toHaveProperty("MOCK");
    expect(body).toHaveProperty("EVENT_IMPORT");
    expect(body).toHaveProperty("ANALYTICSTABLE_UPDATE");
  });

  it("gist (default on) keeps the newest and oldest message; gist=false the whole list", async () => {
    const a = generateUid();
    await jobRow(a, "RUNNING");
    await seedRun(a, { messages: 4 });
    const gist = await json(await api(`/api/system/tasks/TEST`));
    expect(gist[a].map((m: any) => m.message)).toEqual(["step 4", ""]);
    const all = await json(await api(`/api/system/tasks`));
    expect(all.TEST[a].map((m: any) => m.message)).toEqual(["step 4", ""]);
    const full = await json(await api(`/api/system/tasks/TEST?gist=false`));
    expect(full[a].map((m: any) => m.message)).toEqual(["step 4", "step 3", "step 2", "step 1", ""]);
    const fullAll = await json(await api(`/api/system/tasks?gist=false`));
    expect(fullAll.TEST[a]).toHaveLength(5);
  });

  it("the gist default follows the notifierGistOverview setting", async () => {
    const a = generateUid();
    await jobRow(a, "RUNNING");
    await seedRun(a, { messages: 3 });
    await env.DB.prepare(`INSERT INTO system_settings (key, value) VALUES ('notifierGistOverview', 'false')`).run();
    expect((await json(await api(`/api/system/tasks/TEST`)))[a]).toHaveLength(4);
    expect((await json(await api(`/api/system/tasks/TEST?gist=true`)))[a]).toHaveLength(2);
  });

  it("a run with one message shows it once in the gist", async () => {
    const a = generateUid();
    await jobRow(a, "RUNNING");
    await seedRun(a, { messages: 0 });
    expect((await json(await api(`/api/system/tasks/TEST`)))[a]).toHaveLength(1);
  });

  it("orders jobs most recently active first", async () => {
    const [a, b, c] = [generateUid(), generateUid(), generateUid()];
    await seedRun(a, { at: T0 - 3000, finish: true });
    await seedRun(b, { at: T0 - 1000, finish: true });
    await seedRun(c, { at: T0 - 2000, finish: true });
    const body = await json(await api(`/api/system/tasks/test`));
    expect(Object.keys(body)).toEqual([b, c, a]);
    expect(body[b][0]).toMatchObject({ message: "done", completed: true });
  });

  it("rejects a bad gist value and an unknown type", async () => {
    expect((await api(`/api/system/tasks?gist=maybe`)).status).toBe(400);
    const res = await api(`/api/system/tasks/NOPE`);
    expect(res.status).toBe(400);
    expect((await json(res)).message).toMatch(/^Value 'NOPE' is not valid for path parameter jobType\. Valid values are: \[/);
  });
});

describe("task summaries", () => {
  const summary = {
    responseType: "ImportSummary",
    status: "SUCCESS",
    description: "Import process completed successfully",
    importCount: { imported: 1, updated: 0, ignored: 0, deleted: 0 },
  };

  it("returns a job's summary, and a map per type most recently set first", async () => {
    const [a, b] = [generateUid(), generateUid()];
    await seedRun(a, { at: T0 - 5000, finish: true, summary: { ...summary, description: "a" } });
    await seedRun(b, { at: T0 - 1000, finish: true, summary });
    const one = await api(`/api/system/taskSummaries/TEST/${b}`);
    expect(one.status).toBe(200);
    expect(one.headers.get("Cache-Control")).toBe(NO_STORE);
    expect(await json(one)).toEqual(summary);
    const map = await api(`/api/system/taskSummaries/test`);
    expect(map.headers.get("Cache-Control")).toBe(NO_STORE);
    const body = await json(map);
    expect(Object.keys(body)).toEqual([b, a]);
    expect(body[a].description).toBe("a");
  });

  it("answers 200 with an empty body and no JSON content type when there is no summary", async () => {
    const id = generateUid();
    await seedRun(id); // running, no summary yet
    for (const jobId of [id, generateUid()]) {
      const res = await api(`/api/system/taskSummaries/TEST/${jobId}`);
      expect(res.status).toBe(200);
      expect(res.headers.get("Content-Type")).toBeNull();
      expect(res.headers.get("Cache-Control")).toBe(NO_STORE);
      expect(await res.text()).toBe("");
    }
  });

  it("{} when a type has no summaries; 400 for bad path values", async () => {
    expect(await json(await api(`/api/system/taskSummaries/DATA_INTEGRITY`))).toEqual({});
    expect((await api(`/api/system/taskSummaries/foo`)).status).toBe(400);
    expect((await api(`/api/system/taskSummaries/TEST/not-a-uid`)).status).toBe(400);
  });
});

describe("who may read", () => {
  it("the starter, F_JOB_LOG_READ and superusers read a run; another user gets 403", async () => {
    const id = generateUid();
    await seedRun(id, { finish: true, summary: { status: "OK" } });
    for (const caller of [auth(STARTER), auth(READER), undefined]) {
      const res = await api(`/api/system/tasks/TEST/${id}`, { auth: caller });
      expect(res.status).toBe(200);
      expect(await json(res)).toHaveLength(4);
      const s = await api(`/api/system/taskSummaries/TEST/${id}`, { auth: caller });
      expect(await json(s)).toEqual({ status: "OK" });
    }
    const denied = await api(`/api/system/tasks/TEST/${id}`, { auth: auth(OTHER) });
    expect(denied.status).toBe(403);
    expect(await json(denied)).toMatchObject({
      httpStatusCode: 403,
      status: "ERROR",
      message: `User has no access to JobConfiguration:${id}`,
    });
    expect((await api(`/api/system/taskSummaries/TEST/${id}`, { auth: auth(OTHER) })).status).toBe(403);
  });

  it("listings only show what the caller may read", async () => {
    const mine = generateUid();
    const theirs = generateUid();
    await seedRun(mine, { finish: true, summary: { n: 1 } });
    await seedRun(theirs, { finish: true, summary: { n: 2 }, userUid: OTHER.uid });
    const asStarter = await json(await api(`/api/system/tasks/TEST`, { auth: auth(STARTER) }));
    expect(Object.keys(asStarter)).toEqual([mine]);
    const allAsStarter = await json(await api(`/api/system/tasks`, { auth: auth(STARTER) }));
    expect(Object.keys(allAsStarter.TEST)).toEqual([mine]);
    expect(Object.keys(await json(await api(`/api/system/taskSummaries/TEST`, { auth: auth(STARTER) })))).toEqual([mine]);
    const asOther = await json(await api(`/api/system/tasks/TEST`, { auth: auth(OTHER) }));
    expect(Object.keys(asOther)).toEqual([theirs]);
    for (const caller of [auth(READER), undefined]) {
      expect(Object.keys(await json(await api(`/api/system/tasks/TEST`, { auth: caller }))).sort()).toEqual([mine, theirs].sort());
      expect(Object.keys(await json(await api(`/api/system/taskSummaries/TEST`, { auth: caller }))).sort()).toEqual([mine, theirs].sort());
    }
  });

  it("without a recorded starter, the job's executedBy (or creator) in D1 is the owner", async () => {
    const id = generateUid();
    await jobRow(id, "RUNNING", { executedBy: STARTER.uid, createdBy: OTHER.uid });
    await seed(id, (n) => n.runStarted({ jobId: id, jobType: "TEST", parameters: null, now: T0 }));
    expect((await api(`/api/system/tasks/TEST/${id}`, { auth: auth(STARTER) })).status).toBe(200);
    expect((await api(`/api/system/tasks/TEST/${id}`, { auth: auth(OTHER) })).status).toBe(403);
    expect(Object.keys(await json(await api(`/api/system/tasks/TEST`, { auth: auth(STARTER) })))).toEqual([id]);
    expect(await json(await api(`/api/system/tasks/TEST`, { auth: auth(OTHER) }))).toEqual({});
  });

  it("an unknown job is [] for anyone (nothing to protect)", async () => {
    expect(await json(await api(`/api/system/tasks/TEST/${generateUid()}`, { auth: auth(OTHER) }))).toEqual([]);
  });

  it("requires authentication", async () => {
    expect((await api(`/api/system/tasks`, { auth: null })).status).toBe(401);
    expect((await api(`/api/system/tasks/TEST/${generateUid()}`, { auth: null })).status).toBe(401);
  });
});

describe("DELETE", () => {
  it("DELETE /tasks/{type}/{id} clears the job's notifications and summary (object and KV)", async () => {
    const id = generateUid();
    await seedRun(id, { finish: true, summary: { ok: true } });
    expect(await env.TASKS.get(taskKey("TEST", id))).not.toBeNull();
    const res = await api(`/api/system/tasks/TEST/${id}`, { method: "DELETE" });
    expect(res.status).toBe(204);
    expect(res.headers.get("Content-Type")).toBeNull();
    expect(await json(await api(`/api/system/tasks/TEST/${id}`))).toEqual([]);
    expect(await (await api(`/api/system/taskSummaries/TEST/${id}`)).text()).toBe("");
    expect(await env.TASKS.get(taskKey("TEST", id))).toBeNull();
    expect(await env.TASKS.get(summaryKey("TEST", id))).toBeNull();
    expect((await json(await api(`/api/system/tasks/TEST`)))[id]).toBeUndefined();
  });

  it("the starter may delete their own task; another user may not; unknown ids are 204", async () => {
    const id = generateUid();
    await seedRun(id, { finish: true });
    expect((await api(`/api/system/tasks/TEST/${id}`, { method: "DELETE", auth: auth(OTHER) })).status).toBe(403);
    expect((await api(`/api/system/tasks/TEST/${id}`, { method: "DELETE", auth: auth(READER) })).status).toBe(403);
    expect((await api(`/api/system/tasks/TEST/${id}`, { method: "DELETE", auth: auth(STARTER) })).status).toBe(204);
    expect((await api(`/api/system/tasks/TEST/${generateUid()}`, { method: "DELETE", auth: auth(OTHER) })).status).toBe(204);
  });

  it("DELETE /tasks/{type}?maxCount keeps the most recently active jobs", async () => {
    const ids = [generateUid(), generateUid(), generateUid()];
    await seedRun(ids[0], { at: T0 - 3000, finish: true });
    await seedRun(ids[1], { at: T0 - 2000, finish: true });
    await seedRun(ids[2], { at: T0 - 1000, finish: true });
    expect((await api(`/api/system/tasks/TEST?maxCount=2`, { method: "DELETE", auth: auth(MAINT) })).status).toBe(204);
    expect(Object.keys(await json(await api(`/api/system/tasks/TEST`)))).toEqual([ids[2], ids[1]]);
    expect(await json(await api(`/api/system/tasks/TEST/${ids[0]}`))).toEqual([]);
  });

  it("DELETE /tasks?maxAge drops jobs idle for longer; no parameters clears everything", async () => {
    const old = generateUid();
    const fresh = generateUid();
    const other = generateUid();
    await seedRun(old, { at: T0 - 3 * 86_400_000, finish: true });
    await seedRun(fresh, { at: T0 - 1000, finish: true });
    await seedRun(other, { at: T0 - 1000, finish: true, jobType: "DATA_INTEGRITY" });
    expect((await api(`/api/system/tasks?maxAge=2`, { method: "DELETE" })).status).toBe(204);
    const all = await json(await api(`/api/system/tasks`));
    expect(Object.keys(all.TEST)).toEqual([fresh]);
    expect(Object.keys(all.DATA_INTEGRITY)).toEqual([other]);
    expect((await api(`/api/system/tasks/DATA_INTEGRITY`, { method: "DELETE" })).status).toBe(204);
    expect(await json(await api(`/api/system/tasks/DATA_INTEGRITY`))).toEqual({});
    expect(Object.keys(await json(await api(`/api/system/tasks/TEST`)))).toEqual([fresh]);
    expect((await api(`/api/system/tasks`, { method: "DELETE" })).status).toBe(204);
    expect(await json(await api(`/api/system/tasks/TEST`))).toEqual({});
    expect(await json(await api(`/api/system/tasks/TEST/${fresh}`))).toEqual([]);
  });

  it("bulk deletes need F_PERFORM_MAINTENANCE; bad numbers are 400", async () => {
    for (const u of [STARTER, READER, OTHER]) {
      expect((await api(`/api/system/tasks`, { method: "DELETE", auth: auth(u) })).status).toBe(403);
      expect((await api(`/api/system/tasks/TEST`, { method: "DELETE", auth: auth(u) })).status).toBe(403);
    }
    expect((await api(`/api/system/tasks?maxAge=abc`, { method: "DELETE" })).status).toBe(400);
    expect((await api(`/api/system/tasks/TEST?maxCount=1.5`, { method: "DELETE" })).status).toBe(400);
  });
});

describe("retention", () => {
  it("cleanupTasks(env, now) keeps notifierMaxJobsPerType jobs per type and drops those idle for notifierMaxAgeDays", async () => {
    await env.DB.prepare(
      `INSERT INTO system_settings (key, value) VALUES ('notifierMaxJobsPerType', '2'), ('notifierMaxAgeDays', '7')`,
    ).run();
    const ids = [generateUid(), generateUid(), generateUid(), generateUid()];
    await seedRun(ids[0], { at: T0 - 8 * 86_400_000, finish: true });
    await seedRun(ids[1], { at: T0 - 3000, finish: true });
    await seedRun(ids[2], { at: T0 - 2000, finish: true });
    await seedRun(ids[3], { at: T0 - 1000, finish: true });
    const result = await cleanupTasks(env, T0);
    expect(result).toEqual({ removed: 2 });
    expect(Object.keys(await json(await api(`/api/system/tasks/TEST`)))).toEqual([ids[3], ids[2]]);
    expect(await json(await api(`/api/system/tasks/TEST/${ids[1]}`))).toEqual([]);
    expect(await cleanupTasks(env, T0)).toEqual({ removed: 0 });
  });

  it("the Worker's Cron Trigger applies the retention", async () => {
    await env.DB.prepare(
      `INSERT INTO system_settings (key, value) VALUES ('notifierMaxAgeDays', '7') ON CONFLICT(key) DO UPDATE SET value = excluded.value`,
    ).run();
    const old = generateUid();
    const recent = generateUid();
    await seedRun(old, { at: T0 - 8 * 86_400_000, finish: true });
    await seedRun(recent, { at: T0 - 1000, finish: true });
    clock.set(T0);
    expect(await env.TASKS.get(taskKey("TEST", old))).not.toBeNull();
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: T0, cron: "* * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    const listed = Object.keys(await json(await api(`/api/system/tasks/TEST`)));
    expect(listed).toContain(recent);
    expect(listed).not.toContain(old);
    expect(await env.TASKS.get(taskKey("TEST", old))).toBeNull();
    expect(await env.TASKS.get(taskKey("TEST", recent))).not.toBeNull();
  });

  it("a run idle for longer than notifierMaxAgeDays is no longer served, even from its object", async () => {
    const id = generateUid();
    await seedRun(id, { at: T0, finish: true, summary: { a: 1 } });
    clock.set(T0 + 8 * 86_400_000);
    expect(await json(await api(`/api/system/tasks/TEST/${id}`))).toEqual([]);
    expect(await (await api(`/api/system/taskSummaries/TEST/${id}`)).text()).toBe("");
    expect(await json(await api(`/api/system/tasks/TEST`))).toEqual({});
  });
});

describe("retention setting read by the object", () => {
  it("a run uses notifierMaxAgeDays as read when it started", async () => {
    await env.DB.prepare(`INSERT INTO system_settings (key, value) VALUES ('notifierMaxAgeDays', '2')`).run();
    const id = generateUid();
    await seed(id, async (n) => {
      n.runStarted({ jobId: id, jobType: "TEST", parameters: null, userUid: STARTER.uid, now: T0 });
      await n.refreshSettings();
      n.runFinished({ outcome: "COMPLETED", message: "done", now: T0 + 1 });
    });
    clock.set(T0 + 1 + 2 * 86_400_000);
    expect(await json(await api(`/api/system/tasks/TEST/${id}`))).toHaveLength(2);
    clock.set(T0 + 2 + 2 * 86_400_000);
    expect(await json(await api(`/api/system/tasks/TEST/${id}`))).toEqual([]);
  });
});

describe("OpenAPI", () => {
  it("documents the task routes", async () => {
    const doc = app.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "t", version: "1" } }) as any;
    for (const p of [
      "/api/system/tasks",
      "/api/system/tasks/{jobType}",
      "/api/system/tasks/{jobType}/{jobId}",
      "/api/system/taskSummaries/{jobType}",
      "/api/system/taskSummaries/{jobType}/{jobId}",
    ]) {
      expect(Object.keys(doc.paths)).toContain(p);
    }
    expect(doc.paths["/api/system/tasks"].delete).toBeDefined();
  });
});
