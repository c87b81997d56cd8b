// `npm run stress [-- seconds]`: a mixed workload against the local runtime (issue #8).
//
// Starts `wrangler dev` on a free loopback port with a fresh temporary state (bench/lib.mjs applies
// the D1 migrations first), creates a pool of jobs, then runs one autocannon load for a bounded time
// (default 60 s; STRESS_SECONDS or the first argument) whose connections cycle through a mix of
// reads, writes, executes and task polls. Prints throughput, p50/p99 latency, status counts per
// request kind and the error count, then checks, once the runs have drained:
//   - zero 5xx answers and zero transport errors;
//   - zero lost jobs: every job the load created (201) exists, with the body it was last given;
//   - zero lost runs: every accepted execute (200) produced exactly one MANUAL run;
//   - exactly once: no (job, occurrence) ran twice, and every cron occurrence in the window ran or
//     was recorded SKIPPED/blocked — none ran twice;
//   - no job left RUNNING.
// Exit code 1 when a check fails.
import { spawnSync } from "node:child_process";
import autocannon from "autocannon";
import { ROOT, WRANGLER, WRANGLER_ENV, basicAuth, sleep, startWorker } from "./lib.mjs";

const SECONDS = Number(process.env.STRESS_SECONDS ?? process.argv[2] ?? 60);
const CONNECTIONS = Number(process.env.STRESS_CONNECTIONS ?? 16);
const EXEC_JOBS = 12;
const CRON_JOBS = 6;
const AUTH = basicAuth();
const JSON_HEADERS = { Authorization: AUTH, "Content-Type": "application/json" };

if (!Number.isFinite(SECONDS) || SECONDS <= 0 || SECONDS > 3600) {
  console.error(`stress: duration must be 1..3600 seconds (got ${SECONDS})`);
  process.exit(2);
}

const pick = (list) => list[Math.floor(Math.random() * list.length)];

function d1(dir, sql) {
  const r = spawnSync(WRANGLER, ["d1", "execute", "hrhis4", "--local", "--persist-to", dir, "--json", "--command", sql], {
    cwd: ROOT,
    env: WRANGLER_ENV,
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`wrangler d1 execute failed: ${r.stderr || r.stdout}`);
  const out = JSON.parse(r.stdout);
  return out[0]?.results ?? [];
}

async function call(base, method, p, body) {
  const res = await fetch(base + p, { method, headers: JSON_HEADERS, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

let cronSeq = 0;
/** A daily cron nobody else uses (DHIS2 refuses two jobs of a type with the same cron). */
const uniqueCron = () => {
  const n = cronSeq++;
  return `${n % 60} ${Math.floor(n / 60) % 60} ${1 + (Math.floor(n / 3600) % 4)} * * ?`;
};

async function createJob(base, body) {
  const r = await call(base, "POST", "/api/jobConfigurations", body);
  if (r.status !== 201) throw new Error(`setup: create failed ${r.status} ${r.text}`);
  return r.json.response.uid;
}

const worker = await startWorker();
let failed = false;
try {
  const base = worker.url;
  console.log(`wrangler dev on ${base} (state in ${worker.dir}); ${SECONDS} s, ${CONNECTIONS} connections`);

  // --- setup -----------------------------------------------------------------------------------
  const execJobs = [];
  for (let i = 0; i < EXEC_JOBS; i++)
    execJobs.push(await createJob(base, { name: `Stress exec ${i}`, jobType: "TEST", cronExpression: uniqueCron() }));
  const cronJobs = [];
  for (let i = 0; i < CRON_JOBS; i++) {
    // Every 5 s, offset by a second per job (same type, so the cron expressions must differ).
    cronJobs.push(await createJob(base, { name: `Stress cron ${i}`, jobType: "TEST", cronExpression: `${i}/5 * * * * *` }));
  }
  const putJobs = [];
  for (let i = 0; i < 8; i++)
    putJobs.push(await createJob(base, { name: `Stress put ${i}`, jobType: "DATA_INTEGRITY", cronExpression: uniqueCron() }));

  // --- the mixed workload -------------------------------------------------------------------------
  const kinds = {};
  const count = (kind, status) => {
    kinds[kind] ??= { total: 0, statuses: {} };
    const k = kinds[kind];
    k.total++;
    k.statuses[status] = (k.statuses[status] ?? 0) + 1;
  };
  const created = new Map(); // uid -> name
  const accepted = new Map(); // uid -> accepted executes
  const sentExec = new Map(); // uid -> executes sent
  const answeredExec = new Map(); // uid -> executes answered (any status)
  const lastPut = new Map(); // uid -> {name, seq} of the last 200 PUT (by completion order)
  let seq = 0;
  const serverErrors = [];

  const req = (kind, setup, onOk) => ({
    setupRequest: (r, context) => {
      const out = setup(r, context);
      context.kind = kind;
      return out;
    },
    onResponse: (status, body, context) => {
      count(kind, status);
      if (status >= 500 && serverErrors.length < 20) serverErrors.push(`${kind} ${status} ${String(body).slice(0, 200)}`);
      if (onOk) onOk(status, body, context);
    },
  });

  const requests = [
    req("list jobs", (r) => ({
      ...r,
      method: "GET",
      path: `/api/jobConfigurations?fields=id,name,jobStatus,nextExecutionTime&pageSize=50&page=${1 + Math.floor(Math.random() * 2)}`,
    })),
    req("read job", (r) => ({ ...r, method: "GET", path: `/api/jobConfigurations/${pick([...execJobs, ...cronJobs, ...putJobs])}` })),
    req(
      "create job",
      (r, context) => {
        const name = `Stress created ${process.pid}-${seq++}`;
        context.name = name;
        return {
          ...r,
          method: "POST",
          path: "/api/jobConfigurations",
          headers: JSON_HEADERS,
          body: JSON.stringify({ name, jobType: "TEST", cronExpression: uniqueCron() }),
        };
      },
      (status, body, context) => {
        if (status === 201) created.set(JSON.parse(body).response.uid, context.name);
      },
    ),
    req("poll task", (r) => ({ ...r, method: "GET", path: `/api/system/tasks/TEST/${pick([...execJobs, ...cronJobs])}` })),
    req(
      "execute",
      (r, context) => {
        const uid = pick(execJobs);
        context.uid = uid;
        sentExec.set(uid, (sentExec.get(uid) ?? 0) + 1);
        return { ...r, method: "POST", path: `/api/jobConfigurations/${uid}/execute`, headers: { Authorization: AUTH } };
      },
      (status, _body, context) => {
        answeredExec.set(context.uid, (answeredExec.get(context.uid) ?? 0) + 1);
        if (status === 200) accepted.set(context.uid, (accepted.get(context.uid) ?? 0) + 1);
      },
    ),
    req("system info", (r) => ({ ...r, method: "GET", path: "/api/system/info" })),
    req(
      "update job",
      (r, context) => {
        const uid = pick(putJobs);
        const name = `Stress put ${uid} v${seq++}`;
        context.uid = uid;
        context.name = name;
        return {
          ...r,
          method: "PUT",
          path: `/api/jobConfigurations/${uid}`,
          headers: JSON_HEADERS,
          body: JSON.stringify({ name, jobType: "DATA_INTEGRITY", cronExpression: uniqueCron() }),
        };
      },
      (status, _body, context) => {
        if (status === 200) lastPut.set(context.uid, context.name);
      },
    ),
    req("poll tasks list", (r) => ({ ...r, method: "GET", path: "/api/system/tasks/TEST?gist=true" })),
    req("scheduler", (r) => ({ ...r, method: "GET", path: "/api/scheduler" })),
  ];

  const started = Date.now();
  const result = await autocannon({
    url: base,
    connections: CONNECTIONS,
    duration: SECONDS,
    headers: { Authorization: AUTH },
    requests,
  });
  const ended = Date.now();

  // --- drain: let accepted executes and in-flight runs finish -------------------------------------
  const expectedManual = [...accepted.values()].reduce((a, b) => a + b, 0);
  let manual = 0;
  let running = 0;
  for (let i = 0; i < 60; i++) {
    manual = d1(worker.dir, `SELECT COUNT(*) AS n FROM job_runs WHERE trigger = 'MANUAL' AND status <> 'RUNNING'`)[0].n;
    running = d1(
      worker.dir,
      `SELECT COUNT(*) AS n FROM job_configurations WHERE job_status = 'RUNNING' AND uid IN (${execJobs.map((u) => `'${u}'`).join(",")})`,
    )[0].n;
    if (manual >= expectedManual && running === 0) break;
    await sleep(1000);
  }

  // --- figures ------------------------------------------------------------------------------------
  const total = result.requests.total;
  const fiveXX = Object.values(kinds).reduce(
    (a, k) =>
      a +
      Object.entries(k.statuses)
        .filter(([s]) => Number(s) >= 500)
        .reduce((x, [, c]) => x + c, 0),
    0,
  );
  console.log("\nMixed workload");
  console.table({
    duration_s: ((ended - started) / 1000).toFixed(1),
    connections: CONNECTIONS,
    requests: total,
    "throughput req/s": result.requests.average.toFixed(0),
    "latency p50 ms": result.latency.p50,
    "latency p99 ms": result.latency.p99,
    "latency max ms": result.latency.max,
    "5xx": fiveXX,
    "transport errors": result.errors,
    timeouts: result.timeouts,
  });
  console.log("By request kind (status: count)");
  console.table(Object.fromEntries(Object.entries(kinds).map(([k, v]) => [k, { total: v.total, statuses: JSON.stringify(v.statuses) }])));

  // --- checks -------------------------------------------------------------------------------------
  const problems = [];
  if (fiveXX > 0) problems.push(`${fiveXX} answers were 5xx: ${serverErrors.join(" | ")}`);
  if (result.errors > 0 || result.timeouts > 0) problems.push(`${result.errors} transport errors, ${result.timeouts} timeouts`);

  // Lost jobs: every created job is stored with its name; every PUT job holds a name it was given.
  const stored = new Map(d1(worker.dir, `SELECT uid, name FROM job_configurations`).map((r) => [r.uid, r.name]));
  const lostJobs = [...created].filter(([uid, name]) => stored.get(uid) !== name);
  if (lostJobs.length)
    problems.push(
      `${lostJobs.length} created jobs lost or changed: ${lostJobs
        .slice(0, 5)
        .map(([u]) => u)
        .join(", ")}`,
    );
  for (const [uid] of lastPut) {
    if (!String(stored.get(uid) ?? "").startsWith(`Stress put ${uid} v`))
      problems.push(`PUT job ${uid} lost its update (${stored.get(uid)})`);
  }

  // Lost runs: accepted executes vs MANUAL runs, per job. Requests still in flight when the load
  // stopped were processed by the server but never answered to us: they may add runs, never remove.
  const manualByJob = new Map(
    d1(worker.dir, `SELECT job_uid, COUNT(*) AS n FROM job_runs WHERE trigger = 'MANUAL' GROUP BY job_uid`).map((r) => [r.job_uid, r.n]),
  );
  let unanswered = 0;
  for (const uid of execJobs) {
    const want = accepted.get(uid) ?? 0;
    const inFlight = (sentExec.get(uid) ?? 0) - (answeredExec.get(uid) ?? 0);
    unanswered += inFlight;
    const got = manualByJob.get(uid) ?? 0;
    if (got < want || got > want + inFlight) {
      problems.push(
        got < want
          ? `job ${uid}: ${want} accepted executes but only ${got} manual runs (lost runs)`
          : `job ${uid}: ${got} manual runs for ${want} accepted executes (+${inFlight} unanswered): runs nobody asked for`,
      );
      // Evidence for whoever investigates: the job's manual runs.
      const rows = d1(
        worker.dir,
        `SELECT id, scheduled_at, started_at, finished_at, status, triggered_by FROM job_runs WHERE job_uid = '${uid}' AND trigger = 'MANUAL' ORDER BY id`,
      );
      console.error(`manual runs of ${uid}:\n${rows.map((r) => JSON.stringify(r)).join("\n")}`);
    }
  }
  if (running > 0) problems.push(`${running} jobs still RUNNING after the drain`);

  // Exactly once per occurrence, and the cron jobs' occurrences.
  const dupes = d1(worker.dir, `SELECT job_uid, scheduled_at, COUNT(*) AS n FROM job_runs GROUP BY job_uid, scheduled_at HAVING n > 1`);
  if (dupes.length) problems.push(`${dupes.length} occurrences ran more than once`);
  const cronRuns = d1(
    worker.dir,
    `SELECT status, COUNT(*) AS n FROM job_runs WHERE job_uid IN (${cronJobs.map((u) => `'${u}'`).join(",")}) AND scheduled_at BETWEEN ${started} AND ${ended} GROUP BY status`,
  );
  const cronTotal = cronRuns.reduce((a, r) => a + r.n, 0);
  const expectedCron = CRON_JOBS * Math.floor((ended - started) / 5000);
  const lifecycle = d1(
    worker.dir,
    `SELECT last_executed_status AS s, COUNT(*) AS n FROM job_configurations WHERE uid IN (${execJobs.map((u) => `'${u}'`).join(",")}) GROUP BY s`,
  );

  console.log("\nConsistency");
  console.table({
    "jobs created by the load": created.size,
    "created jobs lost": lostJobs.length,
    "accepted executes": expectedManual,
    "executes unanswered at stop": unanswered,
    "manual runs recorded": [...manualByJob.values()].reduce((a, b) => a + b, 0),
    "cron occurrences in window (expected ≈)": expectedCron,
    "cron occurrences recorded": cronTotal,
    "occurrences run twice": dupes.length,
    "jobs left RUNNING": running,
  });
  console.log(
    `cron run outcomes: ${JSON.stringify(Object.fromEntries(cronRuns.map((r) => [r.status, r.n])))}; exec jobs last status: ${JSON.stringify(Object.fromEntries(lifecycle.map((r) => [r.s, r.n])))}`,
  );
  if (cronTotal < expectedCron * 0.9) problems.push(`cron jobs recorded ${cronTotal} occurrences, expected about ${expectedCron}`);

  if (problems.length) {
    failed = true;
    console.error(`\nFAILED:\n- ${problems.join("\n- ")}`);
  } else {
    console.log("\nOK: zero 5xx, zero lost jobs, zero lost runs, no occurrence ran twice.");
  }
} catch (e) {
  failed = true;
  console.error("stress failed:", e instanceof Error ? e.stack : e);
} finally {
  await worker.stop();
}
process.exit(failed ? 1 : 0);
