// System resource benchmark: the public trivial route (/api/ping), authenticated
// GET /api/system/info (exercises the credential cache) and GET /api/system/id?limit=10000.
// Targets: info >= 70% of the trivial route's throughput; id?limit=10000 p50 < 10 ms.
// BENCH_DURATION (seconds, default 10) and BENCH_CONNECTIONS (default 10) tune the run.
import { basicAuth, load, report, startWorker } from "./lib.mjs";

export default async function systemBench() {
  const duration = Number(process.env.BENCH_DURATION) || 10;
  const connections = Number(process.env.BENCH_CONNECTIONS) || 10;
  const server = await startWorker();
  try {
    const auth = { Authorization: basicAuth() };
    // First authenticated request: bootstrap admin + one PBKDF2 derivation, outside the measurement.
    const first = await fetch(`${server.url}/api/system/info`, { headers: auth });
    if (first.status !== 200) throw new Error(`GET /api/system/info answered ${first.status}`);
    const ids = await (await fetch(`${server.url}/api/system/id?limit=10000`, { headers: auth })).json();
    if (ids.codes?.length !== 10000) throw new Error("id?limit=10000 did not return 10000 codes");

    const results = [];
    results.push(await load({ name: "GET /api/ping (public)", url: `${server.url}/api/ping`, duration, connections }));
    results.push(await load({ name: "GET /api/system/info (Basic)", url: `${server.url}/api/system/info`, headers: auth, duration, connections }));
    results.push(await load({ name: "GET /api/system/id?limit=10000", url: `${server.url}/api/system/id?limit=10000`, headers: auth, duration, connections }));
    results.push(
      await load({ name: "GET /api/system/id?limit=10000 (1 conn)", url: `${server.url}/api/system/id?limit=10000`, headers: auth, duration, connections: 1 }),
    );
    report(results, "GET /api/ping (public)");

    const [ping, info, , idSingle] = results;
    const ratio = info.rps / ping.rps;
    console.log(`info / ping throughput: ${(100 * ratio).toFixed(0)}% (target >= 70%): ${ratio >= 0.7 ? "OK" : "MISSED"}`);
    console.log(`id?limit=10000 p50 with one connection: ${idSingle.p50.toFixed(2)} ms (target < 10 ms): ${idSingle.p50 < 10 ? "OK" : "MISSED"}`);
    const bad = results.filter((r) => r.non2xx > 0 || r.errors > 0);
    if (bad.length) console.log(`non-2xx or errors in: ${bad.map((r) => r.name).join(", ")}`);
  } finally {
    await server.stop();
  }
}
