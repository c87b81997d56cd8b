#!/usr/bin/env node
// `npm start`: applies the D1 migrations to the local database, then serves the API with
// `wrangler dev` on http://localhost:8787 (local D1, KV and Durable Objects, fully offline).
// With DHIS2_BASE_URL set, it runs the DHIS2 bridge executor next to it (scripts/start-bridge.mjs).
import { spawn, spawnSync } from "node:child_process";

if (process.env.DHIS2_BASE_URL && !process.env.HRHIS4_BRIDGE_RUNNING) {
  await import("./start-bridge.mjs"); // it starts the bridge, then this script again as the scheduler
} else {
  serve();
}

function serve() {
  const env = { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" };
  const port = process.env.PORT || "8787";

  const migrate = spawnSync("wrangler", ["d1", "migrations", "apply", "hrhis4", "--local"], { stdio: "inherit", env });
  if (migrate.status !== 0) process.exit(migrate.status ?? 1);

  const user = process.env.ADMIN_USERNAME || "admin";
  const pass = process.env.ADMIN_PASSWORD ? "(ADMIN_PASSWORD)" : "district";
  console.log(`\nHRHIS4 Edge on http://localhost:${port}/api  (first admin user: ${user} / ${pass}, created on the first request)\n`);

  const vars = [];
  for (const name of ["ADMIN_USERNAME", "ADMIN_PASSWORD"]) if (process.env[name]) vars.push("--var", `${name}:${process.env[name]}`);
  const dev = spawn("wrangler", ["dev", "--port", port, "--ip", "127.0.0.1", ...vars, ...process.argv.slice(2)], { stdio: "inherit", env });
  for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => dev.kill(sig));
  dev.on("exit", (code) => process.exit(code ?? 0));

  // Cron Triggers do not fire under `wrangler dev`: call the Worker's scheduled handler once the server
  // answers and then every minute, as the `* * * * *` trigger does in production (it arms the seeded
  // system jobs such as HOUSEKEEPING and re-arms any job object out of step with D1).
  const base = `http://127.0.0.1:${port}`;
  async function triggerScheduled() {
    try {
      await fetch(`${base}/cdn-cgi/local/scheduled?cron=${encodeURIComponent("* * * * *")}`);
    } catch {
      // Not up yet (or restarting): the next tick tries again.
    }
  }
  const ready = setInterval(async () => {
    try {
      await fetch(`${base}/api/ping`);
    } catch {
      return;
    }
    clearInterval(ready);
    await triggerScheduled();
    setInterval(triggerScheduled, 60_000).unref();
  }, 1000);
  ready.unref();
}
