#!/usr/bin/env node
// `npm start`: applies the D1 migrations to the local database, then serves the API with
// `wrangler dev` on http://localhost:8787 (local D1, KV and Durable Objects, fully offline).
import { spawn, spawnSync } from "node:child_process";

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
