// Scheduler benchmark: N TEST jobs due at the same second on the local runtime (wrangler dev, real
// Durable Object alarms, no manual triggering). Prints start lateness (lastExecuted − scheduled
// instant) p50/p99/max and runs per second, and checks from `job_runs` that no occurrence ran twice
// and none was lost. Target: p99 ≤ 1 s at 1,000 jobs.
//
// Jobs are seeded as D1 rows and armed by the Worker's own Cron Trigger (reconcile), or with
// BENCH_SCHEDULER_SEED=api through POST /api/jobConfigurations. BENCH_SCHEDULER_SIZES (default
// "100,1000"; add more where the machine allows: local workerd keeps every object's SQLite file
// open, so a few thousand objects exhaust a 20,000 open-file limit, see docs/RELIABILITY.md "Scale") and BENCH_SCHEDULER_CONCURRENCY (parallel API
// creations, default 32) tune the run. Run alone: another process editing src/ makes wrangler dev
// reload the Worker (and reset every object) mid-run.
import { spawnSync } from "node:child_process";
import { ROOT, WRANGLER, WRANGLER_ENV, basicAuth, sleep, startWorker } from "./lib.mjs";

/** A read-only query against the running server's local D1 (the same persisted state). */
function d1(dir, sql) {
  const r = spawnSync(WRANGLER, ["d1", "execute", "hrhis4", "--local", "--persist-to", dir, "--json", "--command", sql], {
    cwd: ROOT,
    env: WRANGLER_ENV,
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.status !== 0) throw new Error(`wrangler d1 execute failed: ${r.stderr || r.stdout}`);
  const parsed = JSON.parse(r.stdout);
  return (Array.isArray(parsed) ? parsed[0] : parsed).results;
}

function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/**
 * N crons that all fire first at `due` yet mean different schedules: the same-cron check (E7000)
 * compares meanings, not strings. Job i also fires on the days of the month its bits select (days
 * 1-28 other than due's), which all come after `due`.
 */
function cronFor(i, due) {
  const d = new Date(due);
  const day = d.getUTCDate();
  const others = Array.from({ length: 28 }, (_, k) => k + 1).filter((k) => k !== day);
  const days = [day, ...others.filter((_, bit) => Math.floor(i / 2 ** bit) % 2 === 1)];
  return `${d.getUTCSeconds()} ${d.getUTCMinutes()} ${d.getUTCHours()} ${days.join(",")} * *`;
}

async function createJobs(url, n, due, concurrency) {
  const headers = { Authorization: basicAuth(), "Content-Type": "application/json" };
  let next = 0;
  let failures = 0;
  let firstError = "";
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= n) return;
      const body = JSON.stringify({ name: `bench job ${i}`, jobType: "TEST", cronExpression: cronFor(i, due), jobParameters: {} });
      const res = await fetch(`${url}/api/jobConfigurations`, { method: "POST", headers, body });
      const text = await res.text();
      if (res.status !== 201) {
        failures++;
        if (!firstError) firstError = `${res.status} ${text.slice(0, 300)}`;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (failures) throw new Error(`${failures} of ${n} creations failed, first: ${firstError}`);
}

/**
 * Seeds N job rows straight into the local D1 (one statement), then lets the Worker's own Cron
 * Trigger (wrangler dev's /cdn-cgi/local/scheduled) reconcile them: the safety net syncs every job
 * object that has no alarm yet. Returns when every object has armed its alarm.
 */
async function seedThroughD1(server, n, due) {
  const now = Date.now();
  const d = new Date(due);
  const cron = `${d.getUTCSeconds()} ${d.getUTCMinutes()} ${d.getUTCHours()} * * *`;
  d1(
    server.dir,
    `WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < ${n})
     INSERT INTO job_configurations (uid, name, job_type, cron_expression, job_parameters, enabled, job_status, created, last_updated, version, system)
     SELECT 'b' || printf('%010d', i), 'bench job ' || i, 'TEST', '${cron}', '{}', 1, 'SCHEDULED', ${now}, ${now}, 1, 0 FROM seq`,
  );
  for (;;) {
    const res = await fetch(`${server.url}/cdn-cgi/local/scheduled`);
    await res.arrayBuffer();
    let armed = 0;
    const until = Date.now() + 30_000;
    for (;;) {
      await sleep(1000);
      const now2 = d1(
        server.dir,
        `SELECT COUNT(*) AS n FROM job_schedule s JOIN job_configurations c ON c.uid = s.job_uid WHERE c.job_type = 'TEST' AND s.alarm_at = ${due}`,
      )[0].n;
      if (now2 === armed || now2 >= n || Date.now() > until) {
        armed = now2;
        break;
      }
      armed = now2;
    }
    if (armed >= n) return;
    if (Date.now() > due - 2000) throw new Error(`only ${armed} of ${n} job objects armed before the due instant`);
  }
}

async function runOne(n, concurrency) {
  const server = await startWorker();
  try {
    const auth = { Authorization: basicAuth() };
    const first = await fetch(`${server.url}/api/system/info`, { headers: auth });
    if (first.status !== 200) throw new Error(`GET /api/system/info answered ${first.status}`);
    // Leave time to create every job before the shared instant.
    const viaApi = process.env.BENCH_SCHEDULER_SEED === "api";
    const seedMs = viaApi ? 10_000 + n * 100 : 20_000 + n * 30;
    const due = Math.ceil((Date.now() + seedMs) / 1000) * 1000;
    const t0 = Date.now();
    if (viaApi) await createJobs(server.url, n, due, concurrency);
    else await seedThroughD1(server, n, due);
    const seeded = Date.now();
    console.log(
      `N=${n}: ${viaApi ? "created" : "inserted and armed"} ${n} TEST jobs in ${((seeded - t0) / 1000).toFixed(1)} s ` +
        `(${viaApi ? "POST /api/jobConfigurations" : "D1 + the Cron Trigger's reconcile"}); all due at ${new Date(due).toISOString()}`,
    );
    if (seeded > due - 500) console.log(`  warning: creation ended ${seeded - due} ms after the due instant; lateness includes it`);

    // Let the alarms fire, then wait until every job has its run (or give up).
    await sleep(Math.max(0, due - Date.now()) + 1000);
    const deadline = Date.now() + 60_000 + n * 20;
    let done = 0;
    for (;;) {
      done = d1(server.dir, `SELECT COUNT(*) AS n FROM job_runs WHERE scheduled_at = ${due} AND status <> 'RUNNING'`)[0].n;
      if (done >= n || Date.now() > deadline) break;
      await sleep(1000);
    }

    const rows = d1(
      server.dir,
      `SELECT r.job_uid, r.scheduled_at, r.started_at, r.finished_at, r.status, c.last_executed
       FROM job_runs r JOIN job_configurations c ON c.uid = r.job_uid WHERE c.job_type = 'TEST'`,
    );
    const jobs = d1(server.dir, `SELECT COUNT(*) AS n FROM job_configurations WHERE job_type = 'TEST'`)[0].n;
    const atDue = rows.filter((r) => r.scheduled_at === due);
    const perOccurrence = new Map();
    for (const r of rows)
      perOccurrence.set(`${r.job_uid}@${r.scheduled_at}`, (perOccurrence.get(`${r.job_uid}@${r.scheduled_at}`) ?? 0) + 1);
    const twice = [...perOccurrence.values()].filter((c) => c > 1).length;
    const jobsRun = new Set(atDue.map((r) => r.job_uid)).size;
    const lost = jobs - jobsRun;
    const other = rows.filter((r) => r.scheduled_at !== due).length;
    const completed = atDue.filter((r) => r.status === "COMPLETED").length;

    const lateness = atDue.map((r) => r.last_executed - r.scheduled_at).sort((a, b) => a - b);
    const firstStart = Math.min(...atDue.map((r) => r.started_at));
    const lastEnd = Math.max(...atDue.map((r) => r.finished_at ?? r.started_at));
    const span = Math.max(1, lastEnd - due);
    const result = {
      jobs: n,
      runs: atDue.length,
      completed,
      "p50 ms": percentile(lateness, 50),
      "p99 ms": percentile(lateness, 99),
      "max ms": lateness[lateness.length - 1],
      "first start ms": firstStart - due,
      "runs/s": Number(((atDue.length * 1000) / span).toFixed(0)),
      "ran twice": twice,
      lost,
      "other occurrences": other,
    };
    return result;
  } finally {
    await server.stop();
  }
}

export default async function schedulerBench() {
  const sizes = (process.env.BENCH_SCHEDULER_SIZES || "100,1000")
    .split(",")
    .map((s) => Number(s.trim()))
    .filter((n) => n > 0);
  const concurrency = Number(process.env.BENCH_SCHEDULER_CONCURRENCY) || 32;
  const results = [];
  for (const n of sizes) {
    const r = await runOne(n, concurrency);
    results.push(r);
    console.table([r]);
  }
  console.table(results);
  for (const r of results) {
    const ok = r["ran twice"] === 0 && r.lost === 0 && r["other occurrences"] === 0;
    console.log(
      `N=${r.jobs}: exactly once ${ok ? "OK" : "VIOLATED"}; p99 ${r["p99 ms"]} ms${r.jobs === 1000 ? ` (target ≤ 1000 ms): ${r["p99 ms"] <= 1000 ? "OK" : "MISSED"}` : ""}`,
    );
  }
}

// Run directly: `node bench/scheduler.bench.mjs`.
if (import.meta.url === `file://${process.argv[1]}`) {
  schedulerBench().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
