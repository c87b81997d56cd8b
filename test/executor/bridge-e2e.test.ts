/**
 * The executor protocol end to end in one run: the scheduler side (`beginExecutorRun` /
 * `stepExecutorRun`, driven here as the job's object drives them, and the callback routes of the
 * main Worker), the DHIS2 bridge (its request handler and run logic, with
 * in-memory run storage and alarms fired by the test) and a stub DHIS2 server.
 */
import { createExecutionContext, env } from "cloudflare:test";
import { afterEach, describe, expect, it } from "vitest";
import { app } from "../../src/app";
import { setExecutorTransport } from "../../src/executor/config";
import { beginExecutorRun, stepExecutorRun, type ExecutorRunContext, type ExecutorStep } from "../../src/executor/handler";
import { HEADER_IDEMPOTENCY, HEADER_SIGNATURE, signedRequest, type FetchLike, type StartRequest } from "../../src/executor/protocol";
import { manualClock, setClock } from "../../src/http/clock";
import { JobCancelledError, JobRunError, type RunResult } from "../../src/jobs/contract";
import { handleBridgeRequest, MemoryRunHost, type BridgeDeps } from "../../bridge/src/runner";
import { analyticsScript, StubDhis2 } from "./stub-dhis2";

const SECRET = "test-executor-secret-0123456789";
const T0 = Date.UTC(2026, 10, 29, 10, 0, 0);

/** The main Worker with the executor secret configured (the test config has none). */
const scheduler: FetchLike = {
  fetch: async (input, init) => app.fetch(new Request(input, init), { ...env, EXECUTOR_SECRET: SECRET }, createExecutionContext()),
};

interface Harness {
  clk: ReturnType<typeof manualClock>;
  dhis2: StubDhis2;
  host: MemoryRunHost;
  /** Requests the scheduler sent to the executor (after the transport wrapper). */
  sent: Request[];
  /** Callbacks the bridge sent to the scheduler (every attempt). */
  callbacks: Request[];
  /** While `down`, the bridge's callbacks find no scheduler (a network error). */
  link: { down: boolean };
  transport: FetchLike & { mode: "up" | "down" | "503-once" };
  log: { level: string; message: string }[];
  abort: AbortController;
  run(jobType: string, parameters?: Record<string, unknown>, runId?: string, progress?: ExecutorRunContext["progress"]): Promise<RunResult>;
  /** Lets the handler reach its waiting loop, then fires the bridge's due alarms. */
  tick(ms: number): Promise<void>;
}

const yieldReal = () => new Promise<void>((r) => setTimeout(r, 5));

/** Drives a run as the job's object does (begin, then steps), a step after every short real wait. */
async function drive(ctx: ExecutorRunContext): Promise<RunResult> {
  let step = await beginExecutorRun(ctx);
  while (!step.done) {
    await yieldReal();
    step = await stepExecutorRun(ctx, step.cursor);
  }
  return step.result;
}

function harness(): Harness {
  const clk = manualClock(T0);
  setClock(clk);
  const dhis2 = new StubDhis2();
  const callbacks: Request[] = [];
  const link = { down: false };
  const deps: BridgeDeps = {
    secret: SECRET,
    dhis2: { baseUrl: `${dhis2.baseUrl}/api`, username: "admin", password: "district" },
    dhis2Fetch: dhis2,
    callbackFetch: {
      fetch: async (input, init) => {
        const req = new Request(input, init);
        callbacks.push(req.clone());
        if (link.down) throw new TypeError("Network connection lost");
        return scheduler.fetch(req);
      },
    },
    now: () => clk.now(),
    pollIntervalMs: 3000,
  };
  const host = new MemoryRunHost(deps);
  const sent: Request[] = [];
  const transport = {
    mode: "up" as "up" | "down" | "503-once",
    async fetch(input: Request | string | URL, init?: RequestInit) {
      const req = new Request(input, init);
      sent.push(req.clone());
      if (transport.mode === "down") throw new TypeError("Network connection lost");
      if (transport.mode === "503-once") {
        transport.mode = "up";
        return new Response("busy", { status: 503 });
      }
      return handleBridgeRequest(req, { secret: SECRET, now: () => clk.now() }, host);
    },
  };
  setExecutorTransport(transport);
  const log: { level: string; message: string }[] = [];
  const abort = new AbortController();
  const h: Harness = {
    clk,
    dhis2,
    host,
    sent,
    callbacks,
    link,
    transport,
    log,
    abort,
    run(jobType, parameters = {}, runId = `run${Math.random().toString(36).slice(2, 10)}`, progress) {
      const ctx: ExecutorRunContext = {
        env: { DB: env.DB, EXECUTOR_SECRET: SECRET },
        runId,
        jobId: "jobAnalytic1",
        jobType,
        jobName: "Nightly analytics",
        parameters,
        user: { uid: "M5zQapPyTZI", username: "admin" },
        scheduledAt: T0,
        notify: (level, message) => {
          log.push({ level, message });
        },
        signal: abort.signal,
        now: () => clk.now(),
        // Real (short) waits: the test moves the clock itself.
        sleep: yieldReal,
        progress,
      };
      return drive(ctx);
    },
    async tick(ms) {
      for (let i = 0; i < 5; i++) await yieldReal();
      clk.advance(ms);
      await host.runDueAlarms(clk.now());
      for (let i = 0; i < 5; i++) await yieldReal();
    },
  };
  return h;
}

async function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error) => ({ ok: false as const, error }),
  );
}

describe("executor protocol with the DHIS2 bridge", () => {
  afterEach(() => {
    setExecutorTransport(null);
    setClock(null);
  });

  it("runs ANALYTICS_TABLE on DHIS2 and relays its notifications in order", async () => {
    const h = harness();
    h.dhis2.script = analyticsScript();
    const done = h.run("ANALYTICS_TABLE", { lastYears: 2, skipTableTypes: ["EVENT", "ENROLLMENT"], skipResourceTables: true });
    await h.tick(0);
    // The start request: signed, idempotency key = run id, DHIS2 called with the mapped query.
    expect(h.sent).toHaveLength(1);
    const start = h.sent[0];
    expect(new URL(start.url).pathname).toBe("/runs");
    expect(start.headers.get(HEADER_SIGNATURE)).toMatch(/^v1=[0-9a-f]{64}$/);
    const body = (await start.json()) as StartRequest;
    expect(start.headers.get(HEADER_IDEMPOTENCY)).toBe(body.runId);
    expect(body).toMatchObject({
      protocol: 1,
      jobId: "jobAnalytic1",
      jobType: "ANALYTICS_TABLE",
      parameters: { lastYears: 2, skipTableTypes: ["EVENT", "ENROLLMENT"], skipResourceTables: true },
      user: { uid: "M5zQapPyTZI", username: "admin" },
      scheduledAt: "2026-11-29T10:00:00.000Z",
      heartbeatSeconds: 30,
    });
    expect(body.callback.url).toBe(`https://hrhis4-edge.internal/api/executor/runs/${body.runId}`);
    const started = h.dhis2.callsTo("POST", "/api/resourceTables/analytics");
    expect(started).toHaveLength(1);
    expect(started[0].query).toBe("?lastYears=2&skipResourceTables=true&skipEvents=true&skipEnrollment=true");
    expect(started[0].auth).toBe(`Basic ${btoa("admin:district")}`);
    // The token is stored hashed only.
    const row = await env.DB.prepare(`SELECT token_hash, state FROM executor_runs WHERE run_id = ?`)
      .bind(body.runId)
      .first<{ token_hash: string; state: string }>();
    expect(row?.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row?.token_hash).not.toBe(body.callback.token);
    expect(row?.state).toBe("RUNNING");

    await h.tick(3000);
    await h.tick(3000);
    await h.tick(3000);
    const result = await done;
    expect(result).toEqual({ message: "Analytics tables updated: 00:01:02.345" });
    expect(h.log).toEqual([
      { level: "INFO", message: "Analytics table update parameters: lastYears=2" },
      { level: "INFO", message: "Performing pre-create table work" },
      { level: "LOOP", message: "[1/2] Populated analytics_2025" },
      { level: "LOOP", message: "[2/2] Populated analytics_2026" },
    ]);
    expect(h.dhis2.callsTo("GET", "/api/system/tasks/ANALYTICS_TABLE/ZtmqFRnEyuV")).toHaveLength(3);
    expect(h.dhis2.callsTo("GET", "/api/system/taskSummaries/ANALYTICS_TABLE/ZtmqFRnEyuV")).toHaveLength(1);
    expect(h.callbacks.map((r) => new URL(r.url).pathname.split("/").pop())).toEqual([
      "messages",
      "messages",
      "items",
      "items",
      "complete",
    ]);
    const finished = await env.DB.prepare(`SELECT state FROM executor_runs WHERE run_id = ?`).bind(body.runId).first<{ state: string }>();
    expect(finished?.state).toBe("FINISHED");
    // The bridge's run alarm now only clears its record.
    await h.tick(15 * 60 * 1000);
    expect(h.host.runs.get(body.runId)?.data.size).toBe(0);
  });

  it("feeds the scheduler's progress API with messages when the run has one", async () => {
    const h = harness();
    h.dhis2.script = analyticsScript();
    const calls: string[] = [];
    const progress = {
      info: (m: string) => calls.push(`info ${m}`),
      warn: (m: string) => calls.push(`warn ${m}`),
      error: (m: string) => calls.push(`error ${m}`),
    };
    const done = h.run("ANALYTICS_TABLE", {}, undefined, progress);
    for (let i = 0; i < 4; i++) await h.tick(i ? 3000 : 0);
    await done;
    expect(calls).toEqual(["info Analytics table update parameters: lastYears=2", "info Performing pre-create table work"]);
    expect(h.log).toEqual([
      { level: "LOOP", message: "[1/2] Populated analytics_2025" },
      { level: "LOOP", message: "[2/2] Populated analytics_2026" },
    ]);
  });

  it("detached mode: begin, then steps from a stored cursor (no handler awaiting for hours)", async () => {
    const h = harness();
    h.dhis2.script = analyticsScript();
    const log: string[] = [];
    const ctx: ExecutorRunContext = {
      env: { DB: env.DB, EXECUTOR_SECRET: SECRET },
      runId: "runDetach01",
      jobId: "jobDetach01",
      jobType: "ANALYTICS_TABLE",
      parameters: {},
      notify: (level, message) => {
        log.push(`${level} ${message}`);
      },
      now: () => h.clk.now(),
    };
    let step: ExecutorStep = await beginExecutorRun(ctx);
    // The next step is due within 10 s (the heartbeat deadline, 120 s, is further away).
    expect(step).toEqual({ done: false, cursor: { runId: "runDetach01", lastId: 0, lastHeard: T0, cancelAt: null }, wakeAt: T0 + 10_000 });
    const steps: ExecutorStep[] = [];
    while (!step.done) {
      h.clk.advance(3000);
      await h.host.runDueAlarms(h.clk.now());
      // The cursor survives storage (JSON) between steps.
      step = await stepExecutorRun(ctx, JSON.parse(JSON.stringify(step.cursor)));
      steps.push(step);
    }
    expect(steps).toHaveLength(3);
    expect(step.result).toEqual({ message: "Analytics tables updated: 00:01:02.345" });
    expect(log).toEqual([
      "INFO Analytics table update parameters: lastYears=2",
      "INFO Performing pre-create table work",
      "LOOP [1/2] Populated analytics_2025",
      "LOOP [2/2] Populated analytics_2026",
    ]);
    expect(await env.DB.prepare(`SELECT state FROM executor_runs WHERE run_id = 'runDetach01'`).first("state")).toBe("FINISHED");
  });

  it("relays the DHIS2 task summary (DATA_INTEGRITY summary) and failures", async () => {
    const h = harness();
    h.dhis2.script = [
      [
        { uid: "d0000000001", level: "INFO", message: "", dataType: "PARAMETERS" },
        { uid: "d0000000002", level: "INFO", message: "Data integrity summary completed", completed: true },
      ],
    ];
    h.dhis2.summary = { categories_no_options: { name: "categories_no_options", count: 0, percentage: 0 } };
    const done = h.run("DATA_INTEGRITY", { type: "SUMMARY", checks: ["categories_no_options"] });
    await h.tick(3000);
    expect(await done).toEqual({
      message: "Data integrity summary completed",
      summary: { categories_no_options: { name: "categories_no_options", count: 0, percentage: 0 } },
    });
    expect(h.dhis2.callsTo("POST", "/api/dataIntegrity/summary")[0].query).toBe("?checks=categories_no_options");

    // An ERROR final notification fails the run with DHIS2's message.
    const h2 = harness();
    h2.dhis2.script = [[{ uid: "e0000000001", level: "ERROR", message: "Process failed: relation does not exist", completed: true }]];
    const failed = settle(h2.run("RESOURCE_TABLE"));
    await h2.tick(3000);
    const r = await failed;
    expect(r.ok).toBe(false);
    expect((r as { error: JobRunError }).error).toBeInstanceOf(JobRunError);
    expect((r as { error: Error }).error.message).toBe("Process failed: relation does not exist");
  });

  it("runs other types as a one-off DHIS2 job configuration and removes it afterwards", async () => {
    const h = harness();
    h.dhis2.script = [[{ uid: "m0000000001", level: "INFO", message: "Metadata sync done", completed: true }]];
    const done = h.run("META_DATA_SYNC", { dataValuesPageSize: 5000 });
    await h.tick(3000);
    expect(await done).toEqual({ message: "Metadata sync done" });
    const created = h.dhis2.callsTo("POST", "/api/jobConfigurations");
    expect(created).toHaveLength(1);
    expect(JSON.parse(created[0].body)).toMatchObject({
      jobType: "META_DATA_SYNC",
      schedulingType: "ONCE_ASAP",
      jobParameters: { dataValuesPageSize: 5000 },
    });
    expect(h.dhis2.callsTo("GET", "/api/system/tasks/META_DATA_SYNC/ZtmqFRnEyuV")).toHaveLength(1);
    expect(h.dhis2.callsTo("DELETE", "/api/jobConfigurations/ZtmqFRnEyuV")).toHaveLength(1);
  });

  it("ends the run FAILED with DHIS2's message when DHIS2 refuses to start it", async () => {
    const h = harness();
    h.dhis2.refuseStart = { status: 409, message: "Job of type ANALYTICS_TABLE is already running" };
    const r = await settle(h.run("ANALYTICS_TABLE"));
    expect(r.ok).toBe(false);
    expect((r as { error: Error }).error.message).toBe(
      "DHIS2 refused POST /api/resourceTables/analytics: Job of type ANALYTICS_TABLE is already running",
    );
    expect(h.callbacks).toHaveLength(0);
  });

  it("checks signatures and run tokens on callbacks, and refuses replays", async () => {
    const h = harness();
    h.dhis2.script = analyticsScript();
    const done = h.run("ANALYTICS_TABLE", {}, "runSig0001");
    await h.tick(0);
    const startBody = (await h.sent[0].clone().json()) as StartRequest;
    const url = `${startBody.callback.url}/messages`;
    const auth = { Authorization: `Bearer ${startBody.callback.token}` };
    const post = (req: Request) => scheduler.fetch(req);

    const good = await signedRequest(SECRET, "POST", url, { level: "INFO", message: "hello" }, h.clk.now(), auth);
    const replay = good.clone();
    const ok = await post(good);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ runId: "runSig0001", state: "RUNNING" });
    const again = await post(replay);
    expect(again.status).toBe(409);
    expect(await again.json()).toMatchObject({ httpStatusCode: 409, status: "ERROR", message: "Replayed request refused" });

    const wrongSecret = await post(await signedRequest("another-secret-0123456789", "POST", url, { message: "x" }, h.clk.now(), auth));
    expect(wrongSecret.status).toBe(401);
    expect(await wrongSecret.json()).toMatchObject({ message: "Invalid request signature" });
    const stale = await post(await signedRequest(SECRET, "POST", url, { message: "x" }, h.clk.now() - 6 * 60 * 1000, auth));
    expect(stale.status).toBe(401);
    expect(await stale.json()).toMatchObject({ message: "Stale request: timestamp differs from the server clock by more than 5 minutes" });
    const unsigned = await post(
      new Request(url, { method: "POST", headers: { ...auth, "Content-Type": "application/json" }, body: '{"message":"x"}' }),
    );
    expect(unsigned.status).toBe(401);
    const badToken = await post(await signedRequest(SECRET, "POST", url, { message: "x" }, h.clk.now(), { Authorization: "Bearer nope" }));
    expect(badToken.status).toBe(401);
    expect(await badToken.json()).toMatchObject({ message: "Invalid run token" });
    const badBody = await post(
      await signedRequest(SECRET, "POST", `${startBody.callback.url}/complete`, { outcome: "MAYBE" }, h.clk.now(), auth),
    );
    expect(badBody.status).toBe(400);

    // The bridge refuses an unsigned or replayed start too.
    const unsignedStart = await handleBridgeRequest(
      new Request("https://bridge/runs", { method: "POST", body: "{}" }),
      { secret: SECRET, now: () => h.clk.now() },
      h.host,
    );
    expect(unsignedStart.status).toBe(401);
    const replayStart = await handleBridgeRequest(h.sent[0].clone(), { secret: SECRET, now: () => h.clk.now() }, h.host);
    expect(replayStart.status).toBe(409);
    expect(h.dhis2.callsTo("POST", "/api/resourceTables/analytics")).toHaveLength(1);

    for (let i = 0; i < 3; i++) await h.tick(3000);
    await done;
    expect(h.log[0]).toEqual({ level: "INFO", message: "hello" });
    // Callbacks after the end are refused.
    const late = await post(await signedRequest(SECRET, "POST", url, { message: "late" }, h.clk.now(), auth));
    expect(late.status).toBe(409);
    expect(await late.json()).toMatchObject({ message: "Run runSig0001 is already finished" });
  });

  it("forwards a cancel: DHIS2's job is cancelled and the run ends STOPPED", async () => {
    const h = harness();
    h.dhis2.script = analyticsScript();
    const done = settle(h.run("ANALYTICS_TABLE"));
    await h.tick(3000);
    h.abort.abort();
    await h.tick(0);
    const r = await done;
    expect(r.ok).toBe(false);
    expect((r as { error: Error }).error).toBeInstanceOf(JobCancelledError);
    expect((r as { error: Error }).error.message).toBe("Job cancelled");
    const cancel = h.sent.find((q) => new URL(q.url).pathname.endsWith("/cancel"));
    expect(cancel?.headers.get(HEADER_SIGNATURE)).toMatch(/^v1=/);
    expect(h.dhis2.callsTo("POST", "/api/jobConfigurations/ZtmqFRnEyuV/cancel")).toHaveLength(1);
    expect(h.callbacks.map((q) => new URL(q.url).pathname.split("/").pop()).pop()).toBe("complete");
  });

  it("fails the run when the executor stays silent past the heartbeat timeout", async () => {
    const h = harness();
    h.dhis2.script = analyticsScript();
    const done = settle(h.run("ANALYTICS_TABLE"));
    await h.tick(0);
    // The bridge never polls (its alarms are not fired): nothing reaches the scheduler.
    h.clk.advance(121_000);
    const r = await done;
    expect(r.ok).toBe(false);
    expect((r as { error: JobRunError }).error).toBeInstanceOf(JobRunError);
    expect((r as { error: Error }).error.message).toBe("Executor heartbeat timeout: no progress from the executor for 121 s (limit 120 s)");
  });

  it("retries a failed start with backoff, never starting the occurrence twice", async () => {
    const h = harness();
    h.dhis2.script = [[{ uid: "r0000000001", level: "INFO", message: "Resource tables generated", completed: true }]];
    h.transport.mode = "503-once";
    const done = h.run("RESOURCE_TABLE", {}, "runRetry001");
    await h.tick(0);
    await h.tick(3000);
    expect(await done).toEqual({ message: "Resource tables generated" });
    const starts = h.sent.filter((q) => new URL(q.url).pathname === "/runs");
    expect(starts).toHaveLength(2);
    expect(starts.map((q) => q.headers.get(HEADER_IDEMPOTENCY))).toEqual(["runRetry001", "runRetry001"]);
    expect(starts[0].headers.get(HEADER_SIGNATURE)).not.toBe(starts[1].headers.get(HEADER_SIGNATURE));
    expect(h.log[0]).toEqual({ level: "WARN", message: "Executor start attempt 1 of 5 failed (HTTP 503: busy); retrying" });
    expect(h.dhis2.callsTo("POST", "/api/resourceTables")).toHaveLength(1);

    // A repeated start of the same run (a lost answer) is answered, not run again.
    const repeat = await handleBridgeRequest(
      await signedRequest(SECRET, "POST", "https://executor.internal/runs", await starts[1].clone().json(), h.clk.now(), {
        [HEADER_IDEMPOTENCY]: "runRetry001",
      }),
      { secret: SECRET, now: () => h.clk.now() },
      h.host,
    );
    expect(await repeat.json()).toEqual({ status: "done", outcome: "COMPLETED", message: "Resource tables generated" });
    expect(h.dhis2.callsTo("POST", "/api/resourceTables")).toHaveLength(1);
  });

  it("fails with a clear message when the executor is down", async () => {
    const h = harness();
    h.transport.mode = "down";
    const r = await settle(h.run("ANALYTICS_TABLE", {}, "runDown0001"));
    expect(r.ok).toBe(false);
    expect((r as { error: Error }).error.message).toBe("Executor did not accept the run: Network connection lost");
    expect(h.sent).toHaveLength(5);
    expect(h.log.map((l) => l.message)).toEqual(
      [1, 2, 3, 4].map((i) => `Executor start attempt ${i} of 5 failed (Network connection lost); retrying`),
    );
  });

  it("an unconfigured deployment fails each run at once with E7010", async () => {
    const ctx: ExecutorRunContext = {
      env: { DB: env.DB },
      runId: "runNoExec01",
      jobId: "jobAnalytic1",
      jobType: "ANALYTICS_TABLE",
      parameters: {},
      notify: () => undefined,
      now: () => T0,
    };
    const r = await settle(beginExecutorRun(ctx));
    expect(r.ok).toBe(false);
    const err = (r as { error: JobRunError }).error;
    expect(err).toBeInstanceOf(JobRunError);
    expect(err.errorCodes).toEqual(["E7010"]);
    expect(err.message).toBe(
      "Failed to validate job runtime: no executor configured (EXECUTOR_URL/EXECUTOR_SECRET); job type ANALYTICS_TABLE runs on an external executor",
    );
    // Callback endpoints do not exist without a secret.
    const res = await app.fetch(
      new Request("http://x/api/executor/runs/runNoExec01/heartbeat", { method: "POST", body: "{}" }),
      env,
      createExecutionContext(),
    );
    expect(res.status).toBe(404);
  });
  it("callbacks the scheduler did not take are sent again, in order and with their nonce, once it answers", async () => {
    const h = harness();
    h.dhis2.script = analyticsScript();
    const done = h.run("ANALYTICS_TABLE");
    await h.tick(0);
    h.link.down = true;
    await h.tick(3000);
    await h.tick(3000);
    expect(h.log).toEqual([]); // nothing reached the scheduler
    h.link.down = false;
    await h.tick(3000);
    expect(await done).toEqual({ message: "Analytics tables updated: 00:01:02.345" });
    expect(h.log).toEqual([
      { level: "INFO", message: "Analytics table update parameters: lastYears=2" },
      { level: "INFO", message: "Performing pre-create table work" },
      { level: "LOOP", message: "[1/2] Populated analytics_2025" },
      { level: "LOOP", message: "[2/2] Populated analytics_2026" },
    ]);
    const attempts = await Promise.all(
      h.callbacks.map(async (r) => ({
        kind: new URL(r.url).pathname.split("/").pop(),
        ...((await r.clone().json()) as { message?: string; nonce: string }),
      })),
    );
    const first = attempts.filter((a) => a.message === "Analytics table update parameters: lastYears=2");
    expect(first).toHaveLength(3); // two failed attempts, then delivered
    expect(new Set(first.map((a) => a.nonce)).size).toBe(1);
    expect(attempts.slice(-5).map((a) => a.kind)).toEqual(["messages", "messages", "items", "items", "complete"]);
  });

  it("a completion the scheduler did not take is sent again by the finished run's alarm", async () => {
    const h = harness();
    h.dhis2.script = [[{ uid: "r0000000001", level: "INFO", message: "Resource tables generated", completed: true }]];
    const done = h.run("RESOURCE_TABLE", {}, "runLateEnd1");
    await h.tick(0);
    h.link.down = true;
    await h.tick(3000);
    const finishedAt = h.clk.now();
    // Finished on the bridge; the completion waits in the run's record, retried every poll interval.
    expect(h.host.runs.get("runLateEnd1")?.alarm).toBe(h.clk.now() + 3000);
    h.link.down = false;
    await h.tick(3000);
    expect(await done).toEqual({ message: "Resource tables generated" });
    const completes = h.callbacks.filter((r) => r.url.endsWith("/complete"));
    expect(completes).toHaveLength(2);
    const nonces = await Promise.all(completes.map(async (r) => ((await r.clone().json()) as { nonce: string }).nonce));
    expect(nonces[0]).toBe(nonces[1]);
    // Delivered: the record is kept for idempotent starts until it expires, then removed.
    expect(h.host.runs.get("runLateEnd1")?.alarm).toBe(finishedAt + 15 * 60 * 1000);
    await h.tick(15 * 60 * 1000);
    expect(h.host.runs.get("runLateEnd1")?.data.size).toBe(0);
  });

  it("a callback delivered twice (its answer was lost) is relayed once", async () => {
    const h = harness();
    h.dhis2.script = analyticsScript();
    const done = h.run("ANALYTICS_TABLE", {}, "runTwice001");
    await h.tick(0);
    const start = (await h.sent[0].clone().json()) as StartRequest;
    const auth = { Authorization: `Bearer ${start.callback.token}` };
    const body = { level: "WARN", message: "sent twice", nonce: "n-twice-0001" };
    const once = await scheduler.fetch(await signedRequest(SECRET, "POST", `${start.callback.url}/messages`, body, h.clk.now(), auth));
    h.clk.advance(1);
    const again = await scheduler.fetch(await signedRequest(SECRET, "POST", `${start.callback.url}/messages`, body, h.clk.now(), auth));
    expect([once.status, again.status]).toEqual([200, 200]);
    expect(
      await env.DB.prepare(`SELECT COUNT(*) AS n FROM executor_events WHERE run_id = 'runTwice001' AND nonce = 'n-twice-0001'`).first("n"),
    ).toBe(1);
    for (let i = 0; i < 3; i++) await h.tick(3000);
    await done;
    expect(h.log.filter((l) => l.message === "sent twice")).toEqual([{ level: "WARN", message: "sent twice" }]);
  });
});
