#!/usr/bin/env node
// `npm start` with DHIS2_BASE_URL set (or `npm run start:bridge`): runs the scheduler (`npm start`, http://localhost:8787) and the
// DHIS2 bridge executor (bridge/, http://localhost:8788) together, wired to each other:
//   scheduler: EXECUTOR_URL=http://localhost:8788, EXECUTOR_CALLBACK_URL=http://localhost:8787, EXECUTOR_SECRET
//   bridge:    EXECUTOR_SECRET (the same), DHIS2_BASE_URL, DHIS2_USERNAME/DHIS2_PASSWORD or DHIS2_TOKEN
// Environment: DHIS2_BASE_URL (required), DHIS2_USERNAME, DHIS2_PASSWORD, DHIS2_TOKEN, EXECUTOR_SECRET
// (random for this session when unset), PORT (8787), BRIDGE_PORT (8788), POLL_INTERVAL_SECONDS (3).
// Everything runs locally (wrangler dev); only the bridge talks to the DHIS2 server. See docs/EXECUTOR.md.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const bin = path.join(root, "node_modules", ".bin");
const env = {
  ...process.env,
  PATH: `${bin}${path.delimiter}${process.env.PATH ?? ""}`,
  CI: "true",
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  // scripts/start.mjs, started below as the scheduler, serves instead of starting the bridge again.
  HRHIS4_BRIDGE_RUNNING: "1",
};
const port = process.env.PORT || "8787";
const bridgePort = process.env.BRIDGE_PORT || "8788";
const secret = process.env.EXECUTOR_SECRET || randomBytes(32).toString("base64url");

if (!process.env.DHIS2_BASE_URL) {
  console.error(
    "Set DHIS2_BASE_URL (and DHIS2_USERNAME/DHIS2_PASSWORD or DHIS2_TOKEN), e.g.\n" +
      "  DHIS2_BASE_URL=https://play.im.dhis2.org/stable-2-42-1 DHIS2_USERNAME=admin DHIS2_PASSWORD=district node scripts/start-bridge.mjs",
  );
  process.exit(2);
}

const bridgeVars = ["--var", `EXECUTOR_SECRET:${secret}`, "--var", `DHIS2_BASE_URL:${process.env.DHIS2_BASE_URL}`];
for (const name of ["DHIS2_USERNAME", "DHIS2_PASSWORD", "DHIS2_TOKEN", "POLL_INTERVAL_SECONDS"]) {
  if (process.env[name]) bridgeVars.push("--var", `${name}:${process.env[name]}`);
}
const schedulerVars = [
  "--var",
  `EXECUTOR_URL:http://localhost:${bridgePort}`,
  "--var",
  `EXECUTOR_CALLBACK_URL:http://localhost:${port}`,
  "--var",
  `EXECUTOR_SECRET:${secret}`,
];

const children = [];
function run(name, cmd, args) {
  const child = spawn(cmd, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"], env });
  for (const stream of [child.stdout, child.stderr]) {
    stream.on("data", (chunk) => {
      for (const line of String(chunk).split("\n")) if (line.trim()) process.stdout.write(`[${name}] ${line}\n`);
    });
  }
  child.on("exit", (code) => {
    console.log(`[${name}] exited (${code})`);
    for (const other of children) if (other !== child && other.exitCode === null) other.kill("SIGTERM");
    process.exitCode = code ?? 0;
  });
  children.push(child);
  return child;
}

run("bridge", "wrangler", [
  "dev",
  "-c",
  "bridge/wrangler.jsonc",
  "--port",
  bridgePort,
  "--ip",
  "127.0.0.1",
  "--inspector-port",
  "0",
  ...bridgeVars,
]);
run("scheduler", process.execPath, ["scripts/start.mjs", ...schedulerVars, ...process.argv.slice(2)]);
console.log(
  `\nScheduler http://localhost:${port}/api  ·  DHIS2 bridge http://localhost:${bridgePort}/health  ·  DHIS2 ${process.env.DHIS2_BASE_URL}\n`,
);
for (const sig of ["SIGINT", "SIGTERM"])
  process.on(sig, () => {
    for (const c of children) c.kill(sig);
  });
