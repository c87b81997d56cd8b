#!/usr/bin/env node
// Part of `npm run lint`: the published OpenAPI document (what /api/openapi.json serves) against
// Redocly CLI's recommended rules (redocly.yaml). The document is built in Node from the app's routes
// (src/app.ts bundled with esbuild), without a server and without the network (Redocly's telemetry
// and update check are off). `--out <file>` also keeps the document.
import { spawnSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { build } from "esbuild";

const root = path.resolve(import.meta.dirname, "..");
const keep = process.argv.includes("--out") ? process.argv[process.argv.indexOf("--out") + 1] : undefined;
const entry = `import { createApp } from "./src/app"; import { openApiDocument } from "./src/openapi/routes";
export const document = openApiDocument(createApp());`;
const bundle = await build({
  stdin: { contents: entry, resolveDir: root, loader: "ts" },
  bundle: true,
  format: "esm",
  platform: "neutral",
  mainFields: ["module", "main"],
  conditions: ["workerd", "worker", "import"],
  external: ["cloudflare:*"],
  write: false,
  logLevel: "error",
});
const { document } = await import(`data:text/javascript;base64,${Buffer.from(bundle.outputFiles[0].text).toString("base64")}`);
const dir = await mkdtemp(path.join(os.tmpdir(), "hrhis4-openapi-"));
const file = keep ? path.resolve(keep) : path.join(dir, "openapi.json");
await writeFile(file, `${JSON.stringify(document, null, 2)}\n`);
const r = spawnSync(path.join(root, "node_modules", ".bin", "redocly"), ["lint", file, "--config", path.join(root, "redocly.yaml")], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
});
await rm(dir, { recursive: true, force: true });
if (r.error) console.error(`openapi-lint: could not run redocly (${r.error.message}); run npm ci`);
process.exit(r.status ?? 1);
