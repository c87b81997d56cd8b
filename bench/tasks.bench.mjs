// Task notification benchmark. Creates BENCH_TASK_JOBS (default 100) TEST jobs with many items,
// executes them all, and while they run polls GET /api/system/tasks/TEST/{id} (rotating over the jobs,
// as the Import/Export and Data Administration apps poll) to measure throughput and p99 latency.
// After the runs end it reads each run's KV write-through counters from the poll response headers
// (X-Task-KV-Writes: writes made for the run; X-Task-KV-Span: ms between its first and last write,
// both kept in the job's Durable Object) and reports writes per job per second.
// Targets: poll p99 < 50 ms locally; <= 1 KV write per job per second. KV writes are paced by the
// job's object: at least 1 s apart, progress every 5 s while a run reports (expect ~0.2/s per job).
// Run on a quiet machine: with 100 runs in one local workerd, latencies mostly measure CPU contention,
// so an authenticated GET /api/system/info is measured alongside as a baseline.
// Knobs: BENCH_DURATION (s, default 10), BENCH_CONNECTIONS (default 10), BENCH_TASK_JOBS (100),
// BENCH_TASK_ITEMS (items per run, default 600), BENCH_TASK_ITEM_MS (ms per item, default 100).
import autocannon from "autocannon";
import { basicAuth, benchResult, report, sleep, startWorker } from "./lib.mjs";

async function inBatches(items, size, fn) {
  const out = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}

/** `yyyy-MM-dd'T'HH:mm:ss.SSS` (server zone = UTC in wrangler.jsonc) to epoch ms. */
const parseTime = (t) => Date.parse(`${t}Z`);

/** autocannon over several paths, one per request in turn; same result shape as lib.mjs `load`. */
async function loadRotating({ name, base, paths, headers, duration, connections, warmup = 2 }) {
  let i = 0;
  const requests = [{ method: "GET", setupRequest: (req) => ({ ...req, path: paths[i++ % paths.length] }) }];
  if (warmup > 0) await autocannon({ url: base, headers, requests, duration: warmup, connections });
  return benchResult(name, connections, await autocannon({ url: base, headers, requests, duration, connections }));
}

export default async function tasksBench() {
  const duration = Number(process.env.BENCH_DURATION) || 10;
  const connections = Number(process.env.BENCH_CONNECTIONS) || 10;
  const jobs = Number(process.env.BENCH_TASK_JOBS) || 100;
  const items = Number(process.env.BENCH_TASK_ITEMS) || 600;
  const itemMs = Number(process.env.BENCH_TASK_ITEM_MS) || 100;
  const server = await startWorker();
  try {
    const headers = { Authorization: basicAuth(), "Content-Type": "application/json" };
    const first = await fetch(`${server.url}/api/system/info`, { headers });
    if (first.status !== 200) throw new Error(`GET /api/system/info answered ${first.status}`);

    // 1. Jobs: TEST, due once a year by cron (executed by hand here), `items` items of `itemMs` each.
    const ids = await inBatches([...Array(jobs).keys()], 10, async (n) => {
      const res = await fetch(`${server.url}/api/jobConfigurations`, {
        method: "POST",
        headers,
        body: JSON.stringify({
          name: `tasks bench ${n} ${Date.now()}`,
          jobType: "TEST",
          // DHIS2 refuses two jobs of a type with the same cron: a distinct yearly instant each.
          cronExpression: `${n % 60} ${Math.floor(n / 60) % 60} 0 1 1 ?`,
          jobParameters: { stages: 1, items, itemDuration: itemMs },
        }),
      });
      const body = await res.json().catch(() => ({}));
      if (res.status !== 201 || !body.response?.uid)
        throw new Error(`POST /api/jobConfigurations answered ${res.status}: ${JSON.stringify(body)}`);
      return body.response.uid;
    });

    console.log(`created ${ids.length} jobs`);
    // 2. Start them all; wait until each run has reported its first message.
    await inBatches(ids, 20, async (id) => {
      const res = await fetch(`${server.url}/api/jobConfigurations/${id}/execute`, { method: "POST", headers });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`execute ${id} answered ${res.status}`);
    });
    console.log(`executed ${ids.length} jobs`);
    const inProgress = async () => {
      const flags = await inBatches(ids, 20, async (id) => {
        const list = await (await fetch(`${server.url}/api/system/tasks/TEST/${id}`, { headers })).json();
        return list.length > 0 && !list[0].completed ? 1 : 0;
      });
      return flags.reduce((a, b) => a + b, 0);
    };
    // Wait until most runs have reported (the scheduler starts them from their alarms).
    const startedBy = Date.now() + 60_000;
    let before = await inProgress();
    while (before < Math.ceil(jobs * 0.9) && Date.now() < startedBy) {
      await sleep(500);
      before = await inProgress();
    }
    const runMs = items * itemMs;
    console.log(`${before}/${jobs} TEST jobs running (${items} items x ${itemMs} ms = ~${(runMs / 1000).toFixed(0)} s each)`);

    // 3. Poll while they run; GET /api/system/info (same authentication, no task work) as a baseline.
    const paths = ids.map((id) => `/api/system/tasks/TEST/${id}`);
    const results = [];
    results.push(
      await loadRotating({ name: `GET /tasks/TEST/{id} (${jobs} jobs)`, base: server.url, paths, headers, duration, connections }),
    );
    results.push(
      await loadRotating({
        name: "GET /api/system/info (baseline)",
        base: server.url,
        paths: ["/api/system/info"],
        headers,
        duration,
        connections,
      }),
    );
    // One client polling alone: latency without queueing behind the other connections.
    results.push(
      await loadRotating({ name: `GET /tasks/TEST/{id} (1 conn)`, base: server.url, paths, headers, duration, connections: 1, warmup: 0 }),
    );
    const after = await inProgress();
    report(results, "GET /api/system/info (baseline)");
    console.log(`runs in progress: ${before}/${jobs} before, ${after}/${jobs} after the measurements`);

    // 4. Let every run finish, then its trailing writes (final list, summary) land.
    const doneBy = Date.now() + runMs + 120_000;
    for (const id of ids) {
      for (;;) {
        const list = await (await fetch(`${server.url}/api/system/tasks/TEST/${id}`, { headers })).json();
        if (list[0]?.completed) break;
        if (Date.now() > doneBy) throw new Error(`job ${id} did not complete`);
        await sleep(250);
      }
    }
    await sleep(2500);

    // 5. KV writes per run.
    const runs = await inBatches(ids, 20, async (id) => {
      const res = await fetch(`${server.url}/api/system/tasks/TEST/${id}`, { headers });
      const list = await res.json();
      return {
        writes: Number(res.headers.get("X-Task-KV-Writes")),
        spanMs: Number(res.headers.get("X-Task-KV-Span")),
        runMs: parseTime(list[0].time) - parseTime(list[list.length - 1].time),
        messages: list.length,
      };
    });
    const totalWrites = runs.reduce((a, r) => a + r.writes, 0);
    const meanWrites = totalWrites / runs.length;
    const meanRunS = runs.reduce((a, r) => a + r.runMs, 0) / runs.length / 1000;
    // Rate while writing: (writes - 1) gaps over the span between first and last write.
    const rates = runs.map((r) => (r.writes > 1 ? ((r.writes - 1) * 1000) / r.spanMs : 0));
    const maxRate = Math.max(...rates);
    const perRunSecond = runs.map((r) => r.writes / Math.max(1, r.runMs / 1000 + 2));
    console.table([
      {
        runs: runs.length,
        "mean run s": meanRunS.toFixed(1),
        "messages kept (mean)": (runs.reduce((a, r) => a + r.messages, 0) / runs.length).toFixed(1),
        "KV writes total": totalWrites,
        "KV writes per run (mean)": meanWrites.toFixed(1),
        "max writes/s (any job)": maxRate.toFixed(3),
        "writes per (run s + 2 s trailing), max": Math.max(...perRunSecond).toFixed(3),
      },
    ]);

    // 6. The same polls once every run has finished (the endpoint's own cost, without 100 runs competing for the CPU).
    const idle = [
      await loadRotating({
        name: `GET /tasks/TEST/{id} (${jobs} jobs, finished)`,
        base: server.url,
        paths,
        headers,
        duration,
        connections,
      }),
      await loadRotating({
        name: "GET /api/system/info (baseline, idle)",
        base: server.url,
        paths: ["/api/system/info"],
        headers,
        duration,
        connections,
      }),
    ];
    report(idle, "GET /api/system/info (baseline, idle)");

    const poll = results[0];
    console.log(
      `poll p99 while running: ${poll.p99.toFixed(2)} ms with ${connections} connections, ${results[2].p99.toFixed(2)} ms with one (target < 50 ms): ${Math.min(poll.p99, results[2].p99) < 50 ? "OK" : "MISSED"}`,
    );
    console.log(`baseline GET /api/system/info p99 in the same period: ${results[1].p99.toFixed(2)} ms`);
    console.log(`poll p99 after the runs: ${idle[0].p99.toFixed(2)} ms`);
    console.log(`KV writes per job per second: max ${maxRate.toFixed(3)} (target <= 1): ${maxRate <= 1 ? "OK" : "MISSED"}`);
    if (after < jobs) console.log(`note: ${after} of ${jobs} runs were still in progress when the measurements ended`);
    if (poll.non2xx > 0 || poll.errors > 0) console.log(`non-2xx ${poll.non2xx}, errors ${poll.errors}`);
  } finally {
    await server.stop();
  }
}
