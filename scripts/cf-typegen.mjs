#!/usr/bin/env node
// `npm run cf-typegen [-- --check]`: generates (or, with --check, verifies) the `Env` types of both
// Workers from their configuration with `wrangler types`:
//   wrangler.jsonc        → worker-configuration.d.ts         (the scheduler, interface `Env`)
//   bridge/wrangler.jsonc → bridge/worker-configuration.d.ts  (the DHIS2 bridge, interface `BridgeEnv`;
//                           its own TypeScript project, bridge/tsconfig.json, so the two never merge)
// `npm test` runs it with --check first: a configuration changed without regenerating fails there.
import { spawnSync } from "node:child_process";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const extra = process.argv.slice(2);
const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" };
const runs = [
  ["types", "--strict-vars=false", ...extra],
  [
    "types",
    "--config=bridge/wrangler.jsonc",
    "--strict-vars=false",
    "--env-interface=BridgeEnv",
    "bridge/worker-configuration.d.ts",
    ...extra,
  ],
];
for (const args of runs) {
  const r = spawnSync(path.join(root, "node_modules", ".bin", "wrangler"), args, { cwd: root, stdio: "inherit", env });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
