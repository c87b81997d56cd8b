// System resource benchmark: the public trivial route (/api/ping), authenticated
// GET /api/system/info (exercises the credential and user-row caches) and
// GET /api/system/id?limit=10000.
// Targets: info >= 70% of the trivial route's throughput; id?limit=10000 p50 < 10 ms.
//
// The routes are loaded in interleaved rounds (ping, info, id, ping, info, id, …) and the median of
// the rounds is reported, so drifting load from other processes on the machine biases no route.
// Latency targets are measured with one connection (no queueing inside the single-threaded isolate);
// the trivial route's one-connection latency is printed next to it as the dev server's own overhead.
// BENCH_DURATION (seconds per route and round, default 4), BENCH_ROUNDS (default 3) and
// BENCH_CONNECTIONS (default 10) tune the run.
import { basicAuth, load, report, startWorker } from "./lib.mjs";

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function combine(name, runs) {
  return {
    name,
    connections: runs[0].connections,
    rps: median(runs.map((r) => r.rps)),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    requests: runs.reduce((a, r) => a + r.requests, 0),
    non2xx: runs.reduce((a, r) => a + r.non2xx, 0),
    errors: runs.reduce((a, r) => a + r.errors, 0),
  };
}

export default async function systemBench() {
  const duration = Number(process.env.BENCH_DURATION) || 4;
  const rounds = Number(process.env.BENCH_ROUNDS) || 3;
  const connections = Number(process.env.BENCH_CONNECTIONS) || 10;
  const server = await startWorker();
  try {
    const auth = { Authorization: basicAuth() };
    // First authenticated requests (bootstrap admin, one PBKDF2 derivation, last_login write) stay
    // outside the measurement.
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${server.url}/api/system/info`, { headers: auth });
      if (res.status !== 200) throw new Error(`GET /api/system/info answered ${res.status}`);
      await res.arrayBuffer();
    }
    const ids = await (await fetch(`${server.url}/api/system/id?limit=10000`, { headers: auth })).json();
    if (ids.codes?.length !== 10000) throw new Error("id?limit=10000 did not return 10000 codes");

    const routes = [
      { name: "GET /api/ping (public)", url: `${server.url}/api/ping`, headers: {}, connections },
      { name: "GET /api/system/info (Basic)", url: `${server.url}/api/system/info`, headers: auth, connections },
      { name: "GET /api/system/id?limit=10000", url: `${server.url}/api/system/id?limit=10000`, headers: auth, connections },
      { name: "GET /api/ping (1 conn)", url: `${server.url}/api/ping`, headers: {}, connections: 1 },
      { name: "GET /api/system/id?limit=10000 (1 conn)", url: `${server.url}/api/system/id?limit=10000`, headers: auth, connections: 1 },
    ];
    const runs = routes.map(() => []);
    const ratios = [];
    for (let round = 0; round < rounds; round++) {
      for (const [i, r] of routes.entries()) runs[i].push(await load({ ...r, duration, warmup: round === 0 ? 2 : 0 }));
      ratios.push(runs[1][round].rps / runs[0][round].rps);
    }
    const results = routes.map((r, i) => combine(r.name, runs[i]));
    console.log(`${rounds} interleaved rounds of ${duration} s per route; medians:`);
    report(results, routes[0].name);

    const ratio = median(ratios);
    const idP50 = results[4].p50;
    console.log(
      `info / ping throughput (median of per-round ratios ${ratios.map((x) => `${(100 * x).toFixed(0)}%`).join(", ")}): ${(100 * ratio).toFixed(0)}% (target >= 70%): ${ratio >= 0.7 ? "OK" : "MISSED"}`,
    );
    console.log(
      `id?limit=10000 p50, one connection: ${idP50.toFixed(2)} ms (target < 10 ms): ${idP50 < 10 ? "OK" : "MISSED"}; the trivial route's own p50 on this server is ${results[3].p50.toFixed(2)} ms`,
    );
    const bad = results.filter((r) => r.non2xx > 0 || r.errors > 0);
    if (bad.length) console.log(`non-2xx or errors in: ${bad.map((r) => r.name).join(", ")}`);
  } finally {
    await server.stop();
  }
}
