// Job configuration list benchmark: GET /api/jobConfigurations with 10,000 jobs stored.
//
// Method:
// 1. `startWorker()` (bench/lib.mjs) starts the service with wrangler dev on a fresh persisted state.
// 2. 10,000 jobs are written straight into its local D1 with `wrangler d1 execute --local --file`
//    (generated multi-row INSERTs), then counted through the API.
// 3. A second, bench-only Worker (bench/jobconfigs-raw-worker.js) is started with wrangler dev against
//    the same persisted D1 database (same binding and database_id). It runs the same SELECT the API's
//    first page runs (same columns, same ORDER BY, LIMIT 50) and returns the rows as JSON: no
//    authentication, no COUNT, no field filtering. That is the "raw D1 query" baseline.
// 4. autocannon loads each URL (BENCH_DURATION s, BENCH_CONNECTIONS connections) in BENCH_ROUNDS
//    interleaved rounds; the medians are compared: target API p50 within 2x of the raw query's p50.
// 5. `paging=false` (all 10,000 jobs, default and `*` fields) is fetched once and timed; the list is
//    streamed in chunks of 500 rows, so the Worker never holds the whole result.
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { basicAuth, devServer, freePort, load, report, ROOT, startWorker, WRANGLER, WRANGLER_ENV } from "./lib.mjs";

const JOBS = Number(process.env.BENCH_JOBS) || 10_000;
const TYPES = [
  "DATA_INTEGRITY",
  "RESOURCE_TABLE",
  "ANALYTICS_TABLE",
  "DATA_SYNC",
  "MONITORING",
  "PREDICTOR",
  "SEND_SCHEDULED_MESSAGE",
  "TEST",
];
const PARAMS = {
  ANALYTICS_TABLE: { lastYears: 2, skipTableTypes: [], skipPrograms: [], skipResourceTables: false, skipOutliers: false },
  DATA_SYNC: { pageSize: 10000 },
  MONITORING: { relativeStart: 0, relativeEnd: 0, validationRuleGroups: [], sendNotifications: false, persistResults: false },
  PREDICTOR: { relativeStart: 0, relativeEnd: 0, predictors: [], predictorGroups: [] },
  TEST: { waitMillis: 10, failWithException: false, failWithPostCondition: false, runStagesParallel: false },
};

const sql = (v) => (v === null || v === undefined ? "NULL" : typeof v === "number" ? String(v) : `'${String(v).replace(/'/g, "''")}'`);

function seedSql(count) {
  const now = Date.UTC(2026, 0, 1);
  const lines = [];
  const rows = [];
  for (let i = 0; i < count; i++) {
    const type = TYPES[i % TYPES.length];
    const uid = `b${i.toString(36).padStart(10, "0")}`;
    const cron = `${i % 60} ${Math.floor(i / 60) % 60} ${i % 24} ? * *`;
    const params = PARAMS[type] ? JSON.stringify(PARAMS[type]) : null;
    rows.push(
      `(${sql(uid)}, ${sql(`Bench job ${String(i).padStart(5, "0")}`)}, ${sql(type)}, 'CRON', ${sql(cron)}, ${sql(params)}, 1, 'SCHEDULED', 'NOT_STARTED', 0, 1, ${now + i}, ${now + i}, 'M5zQapPyTZI', 'M5zQapPyTZI')`,
    );
    if (rows.length === 100 || i === count - 1) {
      lines.push(
        "INSERT INTO job_configurations (uid, name, job_type, scheduling_type, cron_expression, job_parameters, enabled, job_status, last_executed_status, system, version, created, last_updated, created_by, last_updated_by) VALUES\n" +
          rows.join(",\n") +
          ";",
      );
      rows.length = 0;
    }
  }
  return lines.join("\n");
}

/** The bench-only raw-query Worker, on the service's persisted state. */
async function startRawWorker(persistDir) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "hrhis4-raw-"));
  const config = path.join(dir, "wrangler.toml");
  await writeFile(
    config,
    [
      `name = "hrhis4-bench-raw"`,
      `main = ${JSON.stringify(path.join(ROOT, "bench", "jobconfigs-raw-worker.js"))}`,
      `compatibility_date = "2026-10-01"`,
      `send_metrics = false`,
      ``,
      `[[d1_databases]]`,
      `binding = "DB"`,
      `database_name = "hrhis4"`,
      `database_id = "00000000-0000-0000-0000-000000000000"`,
      ``,
    ].join("\n"),
  );
  const port = await freePort();
  return devServer({
    args: ["--config", config, "--port", String(port), "--ip", "127.0.0.1", "--persist-to", persistDir, "--log-level", "error"],
    port,
    cleanupDir: dir,
    readyPath: "/?limit=1",
    isReady: (status) => status === 200,
    timeoutMs: 90_000,
    exitedMessage: "raw worker exited",
    timeoutMessage: "raw worker did not start",
    stopIfExited: false,
  });
}

async function timed(url, headers) {
  const t0 = performance.now();
  const res = await fetch(url, { headers });
  const text = await res.text();
  return { status: res.status, ms: performance.now() - t0, bytes: text.length, body: text };
}

export default async function jobConfigurationsBench() {
  const duration = Number(process.env.BENCH_DURATION) || 5;
  const rounds = Number(process.env.BENCH_ROUNDS) || 3;
  const connections = Number(process.env.BENCH_CONNECTIONS) || 10;
  const server = await startWorker();
  let raw;
  try {
    const auth = { Authorization: basicAuth() };
    const warm = await fetch(`${server.url}/api/jobConfigurations?fields=id`, { headers: auth });
    if (warm.status !== 200) throw new Error(`GET /api/jobConfigurations answered ${warm.status}`);

    const seedDir = await mkdtemp(path.join(os.tmpdir(), "hrhis4-seed-"));
    const seedFile = path.join(seedDir, "seed.sql");
    await writeFile(seedFile, seedSql(JOBS));
    const t0 = performance.now();
    const seeded = spawnSync(WRANGLER, ["d1", "execute", "hrhis4", "--local", "--persist-to", server.dir, "--file", seedFile, "--yes"], {
      cwd: ROOT,
      env: WRANGLER_ENV,
      encoding: "utf8",
    });
    await rm(seedDir, { recursive: true, force: true });
    if (seeded.status !== 0) throw new Error(`seeding failed:\n${seeded.stdout}\n${seeded.stderr}`);
    const page = await (await fetch(`${server.url}/api/jobConfigurations?fields=id&pageSize=1`, { headers: auth })).json();
    console.log(
      `seeded ${JOBS} jobs in ${((performance.now() - t0) / 1000).toFixed(1)} s; the API counts ${page.pager.total} jobs (with the system jobs)`,
    );
    if (page.pager.total < JOBS) throw new Error("the service does not see the seeded jobs");

    raw = await startRawWorker(server.dir);
    const rawCheck = await (await fetch(`${raw.url}/?limit=50`)).json();
    if (rawCheck.length !== 50) throw new Error("raw worker did not return 50 rows");

    // The host may be shared and busy: measure in interleaved rounds (raw, then each API variant,
    // then the next round) and compare medians, so drift in background load hits every target alike.
    const targets = [
      { name: "raw D1 query (50 rows, all columns)", url: `${raw.url}/?limit=50`, headers: {} },
      { name: "GET /api/jobConfigurations (page 1 of 50, default fields)", url: `${server.url}/api/jobConfigurations`, headers: auth },
      { name: "GET /api/jobConfigurations?fields=* (50)", url: `${server.url}/api/jobConfigurations?fields=*`, headers: auth },
      {
        name: "GET …?filter=jobType:eq:TEST&fields=* (50)",
        url: `${server.url}/api/jobConfigurations?filter=jobType:eq:TEST&fields=*`,
        headers: auth,
      },
      { name: "GET …?page=150 (50, default fields)", url: `${server.url}/api/jobConfigurations?page=150`, headers: auth },
    ];
    const runs = targets.map(() => []);
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < targets.length; i++) {
        runs[i].push(await load({ ...targets[i], duration, connections, warmup: round === 0 ? 2 : 1 }));
      }
    }
    const median = (xs) => {
      const s = [...xs].sort((a, b) => a - b);
      return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    };
    const results = targets.map((t, i) => ({
      name: t.name,
      connections,
      rps: median(runs[i].map((r) => r.rps)),
      p50: median(runs[i].map((r) => r.p50)),
      p99: median(runs[i].map((r) => r.p99)),
      requests: runs[i].reduce((n, r) => n + r.requests, 0),
      non2xx: runs[i].reduce((n, r) => n + r.non2xx, 0),
      errors: runs[i].reduce((n, r) => n + r.errors, 0),
    }));
    console.log(`medians of ${rounds} interleaved rounds of ${duration} s, ${connections} connections:`);
    report(results, targets[0].name);

    const [base, def, star] = results;
    for (const r of [def, star]) {
      const ratio = r.p50 / base.p50;
      const ratio99 = r.p99 / base.p99;
      console.log(
        `${r.name}: p50 ${r.p50.toFixed(2)} ms = ${ratio.toFixed(2)}x raw (p99 ${r.p99.toFixed(2)} ms = ${ratio99.toFixed(2)}x); target <= 2x: ${ratio <= 2 ? "OK" : "MISSED"}`,
      );
    }

    for (const fields of ["", "&fields=*"]) {
      const all = await timed(`${server.url}/api/jobConfigurations?paging=false${fields}`, auth);
      const count = all.status === 200 ? JSON.parse(all.body).jobConfigurations.length : -1;
      console.log(
        `paging=false${fields || " (default fields)"}: ${all.status}, ${count} jobs, ${(all.bytes / 1e6).toFixed(2)} MB in ${all.ms.toFixed(0)} ms`,
      );
      if (all.status !== 200 || count < JOBS) console.log("paging=false: MISSED");
    }
    const rawAll = await timed(`${raw.url}/?limit=20000`, {});
    console.log(`raw D1 query, all rows: ${(rawAll.bytes / 1e6).toFixed(2)} MB in ${rawAll.ms.toFixed(0)} ms`);
    const bad = results.filter((r) => r.non2xx > 0 || r.errors > 0);
    if (bad.length) console.log(`non-2xx or errors in: ${bad.map((r) => r.name).join(", ")}`);
  } finally {
    if (raw) await raw.stop();
    await server.stop();
  }
}
