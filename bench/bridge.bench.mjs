// Executor benchmark, end to end on the real runtime: the scheduler and the DHIS2 bridge executor
// (bridge/) both under `wrangler dev` (real Durable Objects, alarms, RPC and D1), the bridge in front
// of a stub DHIS2 served here by Node (test/executor/stub-dhis2.ts, DHIS2's recorded shapes).
// Scenarios, each on one ANALYTICS_TABLE job executed by hand:
//   1. a run of BENCH_BRIDGE_POLLS DHIS2 polls (one new notification each, the bridge polls every
//      second): start latency (execute → first relayed notification in /api/system/tasks), relay
//      latency of each notification (DHIS2 answered the poll → visible in the job's tasks), end;
//   2. the scheduler restarted in the middle of a run (same local state): the run goes on in the new
//      instance of the job's object; notifications posted while it was down are counted;
//   3. a cancel: cancel → DHIS2's job cancelled and the run STOPPED.
// Prints figures; fails when a run does not end as expected.
// Knobs: BENCH_BRIDGE_POLLS (default 20).
import http from "node:http";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { basicAuth, freePort, sleep, startWorker } from "./lib.mjs";

const { StubDhis2 } = await import("../test/executor/stub-dhis2.ts");

const headers = { Authorization: basicAuth(), "Content-Type": "application/json" };

/** A script of `n` polls: PARAMETERS, then one INFO notification per poll, then the completion. */
function script(n) {
  const polls = [];
  let list = [{ uid: "p0000000000", level: "INFO", message: "", dataType: "PARAMETERS", data: { lastYears: 2 } }];
  for (let i = 1; i <= n; i++) {
    list = [...list, { uid: `m${String(i).padStart(10, "0")}`, level: "INFO", message: `Populated partition ${i} of ${n}` }];
    polls.push(list);
  }
  polls.push([...list, { uid: "c0000000000", level: "INFO", message: "Analytics tables updated", completed: true }]);
  return polls;
}

/** The stub DHIS2 over HTTP; records when each notification was first served. */
async function serveDhis2() {
  const state = { stub: new StubDhis2(), servedAt: new Map() };
  const server = http.createServer(async (req, res) => {
    const chunks = [];
    for await (const c of req) chunks.push(c);
    const body = chunks.length ? Buffer.concat(chunks) : undefined;
    const request = new Request(`http://127.0.0.1${req.url}`, {
      method: req.method,
      headers: req.headers,
      body: req.method === "GET" ? undefined : body,
    });
    const answer = await state.stub.fetch(request);
    const text = await answer.text();
    if (req.url.startsWith("/api/system/tasks/") && text) {
      for (const n of JSON.parse(text)) if (!state.servedAt.has(n.message)) state.servedAt.set(n.message, Date.now());
    }
    res.writeHead(answer.status, Object.fromEntries(answer.headers));
    res.end(text);
  });
  const port = await freePort();
  await new Promise((r) => server.listen(port, "127.0.0.1", r));
  return { state, url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(r)) };
}

async function api(base, pathname, init = {}) {
  const res = await fetch(base + pathname, { headers, ...init });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

const pct = (xs, p) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
};

/** Polls the job's tasks every 20 ms until `done(job)`; records when each message was first seen. */
async function watch(base, uid, seenAt, done, timeoutMs) {
  const end = Date.now() + timeoutMs;
  const look = async () => {
    const tasks = await api(base, `/api/system/tasks/ANALYTICS_TABLE/${uid}`);
    if (tasks.status === 200) for (const t of tasks.body) if (!seenAt.has(t.message)) seenAt.set(t.message, Date.now());
    return tasks.body ?? [];
  };
  for (;;) {
    const tasks = await look();
    const job = (await api(base, `/api/jobConfigurations/${uid}?fields=jobStatus,lastExecutedStatus`)).body;
    if (done(job, tasks)) {
      await look(); // what arrived between the two reads (the run's last message)
      return job;
    }
    if (Date.now() > end) throw new Error(`run did not end within ${timeoutMs} ms: ${JSON.stringify(job)}`);
    await sleep(20);
  }
}

/** A nightly ANALYTICS_TABLE job at `hour` (DHIS2 refuses two jobs of a type with the same cron). */
async function createJob(base, name, hour) {
  const res = await api(base, "/api/jobConfigurations", {
    method: "POST",
    body: JSON.stringify({
      name: `${name} ${Date.now()}`,
      jobType: "ANALYTICS_TABLE",
      cronExpression: `0 0 ${hour} ? * *`,
      jobParameters: { lastYears: 2 },
    }),
  });
  if (res.status !== 201) throw new Error(`create answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.response.uid;
}

async function execute(base, uid) {
  const res = await api(base, `/api/jobConfigurations/${uid}/execute`, { method: "POST" });
  if (res.status !== 200) throw new Error(`execute answered ${res.status}: ${JSON.stringify(res.body)}`);
  return Date.now();
}

const finished = (job) => job?.jobStatus !== "RUNNING" && job?.lastExecutedStatus && job.lastExecutedStatus !== "RUNNING";

export default async function bridgeBench() {
  const polls = Number(process.env.BENCH_BRIDGE_POLLS) || 20;
  const secret = randomBytes(24).toString("base64url");
  const dhis2 = await serveDhis2();
  const bridge = await startWorker({
    config: "bridge/wrangler.jsonc",
    readyPath: "/health",
    vars: {
      EXECUTOR_SECRET: secret,
      DHIS2_BASE_URL: dhis2.url,
      DHIS2_USERNAME: "admin",
      DHIS2_PASSWORD: "district",
      POLL_INTERVAL_SECONDS: "1",
    },
  });
  const schedulerDir = await mkdtemp(path.join(os.tmpdir(), "hrhis4-bench-"));
  const schedulerPort = await freePort();
  const schedulerVars = { EXECUTOR_URL: bridge.url, EXECUTOR_CALLBACK_URL: `http://127.0.0.1:${schedulerPort}`, EXECUTOR_SECRET: secret };
  const startScheduler = () => startWorker({ port: schedulerPort, dir: schedulerDir, vars: schedulerVars });
  let scheduler = await startScheduler();
  const base = scheduler.url;
  const failures = [];
  try {
    if ((await api(base, "/api/system/info")).status !== 200) throw new Error("scheduler not answering");

    // 1. A run, relayed notification by notification.
    dhis2.state.stub = new StubDhis2(dhis2.url);
    dhis2.state.stub.script = script(polls);
    dhis2.state.servedAt.clear();
    const uid = await createJob(base, "bridge bench", 2);
    const seenAt = new Map();
    const t0 = await execute(base, uid);
    const job = await watch(base, uid, seenAt, finished, 60_000 + polls * 3000);
    const tEnd = Date.now();
    const messages = [...dhis2.state.servedAt.keys()].filter((m) => m.startsWith("Populated"));
    const relay = messages.filter((m) => seenAt.has(m)).map((m) => seenAt.get(m) - dhis2.state.servedAt.get(m));
    const first = seenAt.get(`Populated partition 1 of ${polls}`);
    const ok1 = job.lastExecutedStatus === "COMPLETED" && job.jobStatus === "SCHEDULED" && relay.length === polls;
    if (!ok1) failures.push(`run: ${JSON.stringify(job)}, ${relay.length}/${polls} notifications seen`);
    console.table([
      {
        scenario: `run of ${polls} DHIS2 polls`,
        outcome: job.lastExecutedStatus,
        "notifications seen": `${relay.length}/${polls}`,
        "execute → 1st relayed (ms)": first ? first - t0 : "-",
        "relay p50 (ms)": pct(relay, 50),
        "relay p99 (ms)": pct(relay, 99),
        "relay max (ms)": Math.max(...relay),
        "execute → end (ms)": tEnd - t0,
      },
    ]);

    // 2. The scheduler restarted in the middle of a run.
    dhis2.state.stub = new StubDhis2(dhis2.url);
    dhis2.state.stub.script = script(polls);
    dhis2.state.servedAt.clear();
    const uid2 = await createJob(base, "bridge bench restart", 3);
    const seen2 = new Map();
    await execute(base, uid2);
    await watch(base, uid2, seen2, (_job, tasks) => tasks.some((t) => t.message === `Populated partition 3 of ${polls}`), 30_000);
    const tDown = Date.now();
    await scheduler.stop();
    await sleep(2000); // the bridge polls DHIS2 twice meanwhile; its callbacks find nobody
    scheduler = await startScheduler();
    const tUp = Date.now();
    const job2 = await watch(base, uid2, seen2, finished, 60_000 + polls * 3000);
    const missing = [...dhis2.state.servedAt.keys()].filter((m) => m.startsWith("Populated") && !seen2.has(m));
    const finalSeen = seen2.has("Analytics tables updated");
    if (job2.lastExecutedStatus !== "COMPLETED" || !finalSeen) failures.push(`restart: ${JSON.stringify(job2)}`);
    console.table([
      {
        scenario: "scheduler restarted mid-run",
        outcome: job2.lastExecutedStatus,
        "down (ms)": tUp - tDown,
        "notifications lost while down": missing.length,
        "end after restart (ms)": Date.now() - tUp,
      },
    ]);

    // 3. Cancel.
    dhis2.state.stub = new StubDhis2(dhis2.url);
    dhis2.state.stub.script = script(polls);
    const uid3 = await createJob(base, "bridge bench cancel", 4);
    await execute(base, uid3);
    await watch(base, uid3, new Map(), (_job, tasks) => tasks.some((t) => t.message === `Populated partition 2 of ${polls}`), 30_000);
    const tCancel = Date.now();
    const cancel = await api(base, `/api/jobConfigurations/${uid3}/cancel`, { method: "POST" });
    const job3 = await watch(base, uid3, new Map(), finished, 45_000);
    const dhis2Cancels = dhis2.state.stub.callsTo("POST", "/api/jobConfigurations/").filter((c) => c.path.endsWith("/cancel")).length;
    if (cancel.status !== 204 || job3.lastExecutedStatus !== "STOPPED" || dhis2Cancels !== 1)
      failures.push(`cancel: ${cancel.status} ${JSON.stringify(job3)}, DHIS2 cancels ${dhis2Cancels}`);
    console.table([
      {
        scenario: "cancel",
        "cancel answer": cancel.status,
        outcome: job3.lastExecutedStatus,
        "DHIS2 cancels": dhis2Cancels,
        "cancel → STOPPED (ms)": Date.now() - tCancel,
      },
    ]);
  } finally {
    await scheduler.stop();
    await bridge.stop();
    await dhis2.close();
    await rm(schedulerDir, { recursive: true, force: true });
  }
  if (failures.length) throw new Error(failures.join("; "));
}
