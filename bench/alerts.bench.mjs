// Alerts benchmark: 100 jobs failing at the same second, from each failing run's end to the webhook's
// receipt. Starts its own `wrangler dev` (port 8860, inspector 8861; a temporary database) and a
// receiver (scripts/alert-receiver.mjs, port 8862) that checks every signature. The jobs are
// ANALYTICS_TABLE without an executor, so each run fails at once (E7010); they are CRON jobs due at
// the same second, started by their Durable Objects' alarms. One alert rule (all jobs, `failed`)
// posts to the receiver through the real local Queue (`wrangler dev` simulates it).
//
// Prints p50/p99/max of (receipt − run.finishedAt), signature and duplicate counts, the deliveries'
// states, then fails every job a second time (execute): one alert per episode means no new alert.
// BENCH_ALERTS_JOBS (default 100) changes the number of jobs.
import { startReceiver } from "../scripts/alert-receiver.mjs";
import { basicAuth, sleep, startWorker } from "./lib.mjs";

const PORT = 8860;
const INSPECTOR = 8861;
const RECEIVER_PORT = 8862;
const SECRET = "bench-alert-secret-0001";
const JOBS = Number(process.env.BENCH_ALERTS_JOBS ?? 100);

function percentile(sorted, p) {
  if (!sorted.length) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/**
 * N cron expressions that all fire at `due` and differ in meaning (the same-cron check E7000 compares
 * what expressions mean, so `s-s/k` variants of one instant are refused): the due day of the month
 * plus a distinct set of other days (bits of `i`), which fire on other days only, never during the bench.
 */
function cronFor(i, due) {
  const d = new Date(due);
  const today = d.getUTCDate();
  const others = [];
  for (let day = 1; day <= 28; day++) if (day !== today) others.push(day);
  const days = [today, ...others.filter((_, bit) => (i >> bit) & 1)].sort((a, b) => a - b);
  return `${d.getUTCSeconds()} ${d.getUTCMinutes()} ${d.getUTCHours()} ${days.join(",")} * ?`;
}

async function api(url, path, init = {}) {
  const res = await fetch(`${url}/api${path}`, {
    ...init,
    headers: { Authorization: basicAuth(), "Content-Type": "application/json", ...(init.headers ?? {}) },
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

async function until(cond, ms, what) {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(100);
  }
}

export default async function alertsBench() {
  const received = [];
  const receiver = await startReceiver({
    port: RECEIVER_PORT,
    secret: SECRET,
    onAlert: ({ body, signature, receivedAt }) => received.push({ body, signature, receivedAt }),
  });
  // The server's own time zone is UTC (wrangler.jsonc), as the cron strings below.
  const worker = await startWorker({ port: PORT, inspectorPort: INSPECTOR });
  try {
    const rule = await api(worker.url, "/scheduler/alerts", {
      method: "POST",
      body: JSON.stringify({
        name: "bench failures",
        scope: "ALL_JOBS",
        conditions: { failed: true, recovered: true },
        channel: { type: "WEBHOOK", url: `http://localhost:${RECEIVER_PORT}/alerts`, secret: SECRET },
      }),
    });
    if (rule.status !== 201) throw new Error(`rule not created: ${rule.status} ${JSON.stringify(rule.body)}`);
    const ruleId = rule.body.response.uid;

    // Due at one second far enough ahead for the creations (each create arms its job's alarm).
    const due = Math.ceil((Date.now() + 15_000 + JOBS * 60) / 1000) * 1000;
    const ids = [];
    for (let i = 0; i < JOBS; i += 10) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(10, JOBS - i) }, (_, k) =>
          api(worker.url, "/jobConfigurations", {
            method: "POST",
            body: JSON.stringify({ name: `bench failing ${i + k}`, jobType: "ANALYTICS_TABLE", cronExpression: cronFor(i + k, due) }),
          }),
        ),
      );
      for (const r of batch) {
        if (r.status !== 201) throw new Error(`job not created: ${r.status} ${JSON.stringify(r.body)}`);
        ids.push(r.body.response.uid);
      }
    }
    if (Date.now() > due - 2000) throw new Error("creating the jobs took too long for the chosen due instant");
    console.log(`${JOBS} ANALYTICS_TABLE jobs due at ${new Date(due).toISOString()} (no executor: each run fails, E7010)`);

    await until(async () => received.length >= JOBS, due - Date.now() + 120_000, `${JOBS} alerts`);
    await sleep(2000); // anything more (a duplicate) would arrive now
    const latencies = received.map((r) => r.receivedAt - Date.parse(r.body.run.finishedAt)).sort((a, b) => a - b);
    const ids2 = new Set(received.map((r) => r.body.id));
    const jobsAlerted = new Set(received.map((r) => r.body.job.id));
    // DHIS2 runs one job of a type at a time: the 100 runs end one after the other, over this span.
    const ends = received.map((r) => Date.parse(r.body.run.finishedAt));
    const span = Math.max(...ends) - Math.min(...ends);
    const deliveries = await api(worker.url, `/scheduler/alerts/${ruleId}/deliveries?pageSize=1000`);
    const states = {};
    for (const d of deliveries.body.deliveries) states[d.state] = (states[d.state] ?? 0) + 1;

    // The same jobs fail again: the episode is open, so no alert.
    const before = received.length;
    await Promise.all(ids.map((id) => api(worker.url, `/jobConfigurations/${id}/execute`, { method: "POST" })));
    await sleep(5000);

    console.table([
      {
        jobs: JOBS,
        alerts: before,
        "jobs alerted": jobsAlerted.size,
        "p50 ms": percentile(latencies, 50),
        "p99 ms": percentile(latencies, 99),
        "max ms": latencies.at(-1),
        "valid signatures": received.filter((r) => r.signature === "valid").length,
        duplicates: received.length - ids2.size,
        deliveries: JSON.stringify(states),
        "runs ended over ms": span,
        "alerts after the 2nd failure": received.length - before,
      },
    ]);
    console.log("Latency = the receiver's clock at receipt − run.finishedAt in the payload (same host clock).");
  } finally {
    await worker.stop();
    await receiver.close();
  }
}
