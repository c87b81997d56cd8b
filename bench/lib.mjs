// Shared benchmark helpers: start the Worker locally with `wrangler dev` (fresh local D1/KV/DO in a
// temporary directory, migrations applied first), load it with autocannon, report throughput and
// latency, stop it. Used by every bench/*.bench.mjs file; run them with `npm run bench [-- name…]`.
import { spawn, spawnSync } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BIN = path.join(ROOT, "node_modules", ".bin");
export const WRANGLER = path.join(BIN, "wrangler");

/**
 * Environment for every wrangler process: offline, no telemetry, no prompts, and the project's own
 * `node` (the `node` devDependency) first on PATH, since wrangler needs a newer Node than some hosts have.
 */
export const WRANGLER_ENV = {
  ...process.env,
  PATH: `${BIN}${path.delimiter}${process.env.PATH ?? ""}`,
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_SEND_METRICS: "false",
  CI: "true",
};

export const ADMIN = { username: "admin", password: "district" };
export const basicAuth = (u = ADMIN.username, p = ADMIN.password) => `Basic ${Buffer.from(`${u}:${p}`).toString("base64")}`;

/** A TCP port nobody listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts `wrangler dev` on a free port (or `port`) with its own persisted state (or the state in
 * `dir`, which is then kept: a restart on the same state). Returns `{ url, port, dir, stop() }`.
 * `vars` become `--var NAME:value` bindings; `config` is another Worker's configuration file (no D1 then);
 * `inspectorPort` fixes the inspector's port (default: a free one).
 */
export async function startWorker({ vars = {}, readyPath = "/api/ping", timeoutMs = 90_000, port, dir, config, inspectorPort } = {}) {
  const own = !dir;
  dir ??= await mkdtemp(path.join(os.tmpdir(), "hrhis4-bench-"));
  if (!config) {
    const migrate = spawnSync(WRANGLER, ["d1", "migrations", "apply", "hrhis4", "--local", "--persist-to", dir], {
      cwd: ROOT,
      env: WRANGLER_ENV,
      encoding: "utf8",
    });
    if (migrate.status !== 0) {
      if (own) await rm(dir, { recursive: true, force: true });
      throw new Error(`wrangler d1 migrations apply failed (${migrate.status}):\n${migrate.stdout}\n${migrate.stderr}`);
    }
  }
  port ??= await freePort();
  const logLevel = process.env.BENCH_LOG_DIR ? "log" : "error"; // "log": the Worker's console lines too
  const args = [
    "--port",
    String(port),
    "--ip",
    "127.0.0.1",
    "--persist-to",
    dir,
    "--log-level",
    logLevel,
    "--inspector-port",
    String(inspectorPort ?? (await freePort())),
  ];
  if (config) args.push("-c", config);
  for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);
  const { url, stop } = await devServer({
    args,
    port,
    cleanupDir: own ? dir : null,
    readyPath,
    isReady: (status) => status < 500,
    timeoutMs,
    exitedMessage: "wrangler dev exited before answering",
    timeoutMessage: `wrangler dev did not answer within ${timeoutMs} ms`,
  });
  return { url, port, dir, stop };
}

/**
 * Runs `wrangler dev <args>` on `port` in its own process group and waits until `readyPath` answers
 * with a status `isReady` accepts. Returns `{ url, stop() }`; `stop()` ends wrangler and the workerd
 * it spawned (and nothing else), then removes `cleanupDir`. Should wrangler exit first, the error
 * carries `exitedMessage` (after `stop()` when `stopIfExited`); past `timeoutMs`, `timeoutMessage`.
 */
export async function devServer({
  args,
  port,
  cleanupDir,
  readyPath,
  isReady,
  timeoutMs,
  exitedMessage,
  timeoutMessage,
  stopIfExited = true,
}) {
  const child = spawn(WRANGLER, ["dev", ...args], { cwd: ROOT, env: WRANGLER_ENV, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  child.stdout.on("data", (d) => (output = (output + d).slice(-4000)));
  child.stderr.on("data", (d) => (output = (output + d).slice(-4000)));
  if (process.env.BENCH_LOG_DIR) {
    // Debugging: the whole output of this wrangler, in BENCH_LOG_DIR/wrangler-<port>.log.
    const log = createWriteStream(path.join(process.env.BENCH_LOG_DIR, `wrangler-${port}.log`));
    child.stdout.pipe(log);
    child.stderr.pipe(log);
  }
  let exited = false;
  child.on("exit", () => (exited = true));

  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (!exited) {
      try {
        process.kill(-child.pid, "SIGTERM");
      } catch {
        // already gone
      }
      for (let i = 0; i < 50 && !exited; i++) await sleep(100);
      if (!exited) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
    if (cleanupDir) await rm(cleanupDir, { recursive: true, force: true }).catch(() => {});
  };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) {
      if (stopIfExited) await stop();
      throw new Error(`${exitedMessage}:\n${output}`);
    }
    try {
      const res = await fetch(url + readyPath);
      await res.arrayBuffer();
      if (isReady(res.status)) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${timeoutMessage}:\n${output}`);
    }
    await sleep(250);
  }
  return { url, stop };
}

/**
 * Loads one URL for a bounded time. Returns `{ name, rps, p50, p99, requests, non2xx, errors }`
 * (latencies in milliseconds).
 */
export async function load({ name, url, headers = {}, method = "GET", body, duration = 10, connections = 10, warmup = 2 }) {
  if (warmup > 0) await autocannon({ url, headers, method, body, duration: warmup, connections });
  return benchResult(name, connections, await autocannon({ url, headers, method, body, duration, connections }));
}

/** An autocannon result as `{ name, connections, rps, p50, p99, requests, non2xx, errors }` (ms). */
export function benchResult(name, connections, r) {
  return {
    name,
    connections,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
  };
}

/** Prints results as a table; `baseline` (a result name) adds a throughput ratio column. */
export function report(results, baseline) {
  const base = results.find((r) => r.name === baseline);
  const rows = results.map((r) => ({
    route: r.name,
    conns: r.connections,
    "req/s": r.rps.toFixed(0),
    "p50 ms": r.p50.toFixed(2),
    "p99 ms": r.p99.toFixed(2),
    [`vs ${baseline ?? "-"}`]: base ? `${((100 * r.rps) / base.rps).toFixed(0)}%` : "",
    "non-2xx": r.non2xx,
    errors: r.errors,
  }));
  console.table(rows);
}
