#!/usr/bin/env node
// `npm run deploy -- --env <environment> [options]`: deploys what that environment of wrangler.jsonc
// configures, in order (README, "Deploy to Cloudflare"):
//   1. when it binds an executor (`EXECUTOR` service binding, the `*-dhis2` environments): the DHIS2
//      bridge first, from the bridge/wrangler.jsonc environment whose Worker name the binding names
//      (Cloudflare refuses a service binding to a Worker that does not exist yet);
//   2. the scheduler's D1 database: the repair of migration names renamed after they were applied
//      (scripts/d1-migration-renames.sql), then `wrangler d1 migrations apply`;
//   3. the scheduler, `wrangler deploy`. On the very first deploy the database does not exist before
//      it (wrangler provisions D1 and KV then), so step 2 runs after it instead.
// Every version is tagged with the git commit (`wrangler deploy --tag`, "-dirty" with local changes).
//
// Options:
//   --env <name>                  environment of wrangler.jsonc (staging, production, staging-dhis2, production-dhis2)
//   --secrets-file <path>         the scheduler's secrets (dotenv or JSON), needed on its first deploy
//   --bridge-secrets-file <path>  the bridge's secrets, needed on its first deploy
//   --dry-run                     print the plan and run `wrangler deploy --dry-run` for each Worker (offline)
//   --all                         with --dry-run: every environment of both Workers, the top levels included (CI)
import { spawnSync } from "node:child_process";
import path from "node:path";
import { parseArgs } from "node:util";
import { experimental_readRawConfig, unstable_readConfig } from "wrangler";

const root = path.resolve(import.meta.dirname, "..");
const SCHEDULER_CONFIG = "wrangler.jsonc";
const BRIDGE_CONFIG = "bridge/wrangler.jsonc";
const REPAIR_SQL = "scripts/d1-migration-renames.sql";
const env = {
  ...process.env,
  PATH: `${path.join(root, "node_modules", ".bin")}${path.delimiter}${process.env.PATH ?? ""}`,
  WRANGLER_SEND_METRICS: "false",
};

const { values: opts } = parseArgs({
  options: {
    env: { type: "string" },
    "secrets-file": { type: "string" },
    "bridge-secrets-file": { type: "string" },
    "dry-run": { type: "boolean", default: false },
    all: { type: "boolean", default: false },
  },
});

function fail(message) {
  console.error(`deploy: ${message}`);
  process.exit(2);
}

/** The environment names of a configuration file (the top level is ""). */
function environments(config) {
  return ["", ...Object.keys(experimental_readRawConfig({ config: path.join(root, config) }).rawConfig.env ?? {})];
}

function readEnv(config, name) {
  if (!environments(config).includes(name))
    fail(`${config} has no environment "${name}" (it has: ${environments(config).filter(Boolean).join(", ")})`);
  return unstable_readConfig({ config: path.join(root, config), env: name }, { hideWarnings: true });
}

/** `wrangler …`: echoed, run from the repository root; returns { status, output } (output also shown). */
function wrangler(args, { capture = false } = {}) {
  console.log(`\n$ wrangler ${args.map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a)).join(" ")}`);
  const r = spawnSync("wrangler", args, { cwd: root, env, encoding: "utf8", stdio: capture ? ["inherit", "pipe", "pipe"] : "inherit" });
  const output = capture ? `${r.stdout ?? ""}${r.stderr ?? ""}` : "";
  if (capture) process.stdout.write(output);
  return { status: r.status ?? 1, output };
}

function mustRun(args) {
  const r = wrangler(args);
  if (r.status !== 0) fail(`wrangler ${args[0]} failed (exit ${r.status}); nothing after it was run`);
}

/** The git commit of the working tree, e.g. "06f17c1dd390" or "06f17c1dd390-dirty". */
function commitTag() {
  const head = spawnSync("git", ["rev-parse", "--short=12", "HEAD"], { cwd: root, encoding: "utf8" });
  if (head.status !== 0) return null;
  const dirty = spawnSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: root, encoding: "utf8" });
  return `${head.stdout.trim()}${dirty.stdout.trim() ? "-dirty" : ""}`;
}

/** The bridge environment whose Worker the scheduler environment binds as EXECUTOR, or null. */
function bridgeFor(scheduler, envName) {
  const binding = scheduler.services?.find((s) => s.binding === "EXECUTOR");
  if (!binding) return null;
  const match = environments(BRIDGE_CONFIG).find((name) => name !== "" && readEnv(BRIDGE_CONFIG, name).name === binding.service);
  if (match === undefined)
    fail(`the "${envName}" environment binds EXECUTOR to "${binding.service}", which no environment of ${BRIDGE_CONFIG} deploys`);
  return match;
}

function deployArgs(config, envName, tag, secretsFile) {
  const args = ["deploy", "--config", config, `--env=${envName}`];
  if (opts["dry-run"]) args.push("--dry-run");
  else if (tag) args.push("--tag", tag);
  if (secretsFile && !opts["dry-run"]) args.push("--secrets-file", secretsFile);
  return args;
}

if (opts.all) {
  if (!opts["dry-run"]) fail("--all is only for --dry-run");
  for (const config of [BRIDGE_CONFIG, SCHEDULER_CONFIG]) for (const name of environments(config)) mustRun(deployArgs(config, name, null));
  console.log("\ndeploy: every environment of both Workers builds and passes wrangler's checks (dry run)");
  process.exit(0);
}

if (!opts.env)
  fail(`--env is required: one of ${environments(SCHEDULER_CONFIG).filter(Boolean).join(", ")} (the top level is local development)`);
const scheduler = readEnv(SCHEDULER_CONFIG, opts.env);
const bridgeEnv = bridgeFor(scheduler, opts.env);
const tag = commitTag();
if (!tag) console.warn("deploy: not a git checkout, the versions are not tagged with a commit");
const db = scheduler.d1_databases.find((d) => d.binding === "DB");
if (!db) fail(`the "${opts.env}" environment has no D1 binding DB`);

console.log(
  `deploy: ${opts["dry-run"] ? "dry run of " : ""}environment "${opts.env}" at ${tag ?? "an untagged tree"}: ` +
    (bridgeEnv === null ? "" : `bridge ${readEnv(BRIDGE_CONFIG, bridgeEnv).name} (${BRIDGE_CONFIG} --env=${bridgeEnv}), then `) +
    `D1 ${db.database_name} migrations, then scheduler ${scheduler.name}`,
);

// 1. The executor before the Worker that binds it.
if (bridgeEnv !== null) mustRun(deployArgs(BRIDGE_CONFIG, bridgeEnv, tag, opts["bridge-secrets-file"]));

// 2. and 3. Migrations before the code that needs them; after it on the first deploy (no database yet).
const d1 = (args) => [...args, "DB", "--remote", `--env=${opts.env}`];
const migrate = () => {
  mustRun([...d1(["d1", "execute"]), "--yes", "--file", REPAIR_SQL]);
  mustRun(d1(["d1", "migrations", "apply"]));
};
if (opts["dry-run"]) {
  console.log(`\n(dry run: not run) wrangler d1 execute DB --remote --env=${opts.env} --yes --file ${REPAIR_SQL}`);
  console.log(`(dry run: not run) wrangler d1 migrations apply DB --remote --env=${opts.env}`);
  mustRun(deployArgs(SCHEDULER_CONFIG, opts.env, tag, opts["secrets-file"]));
} else {
  const probe = wrangler([...d1(["d1", "execute"]), "--yes", "--file", REPAIR_SQL], { capture: true });
  const firstDeploy = probe.status !== 0 && /Couldn't find .*D1 DB/.test(probe.output);
  if (probe.status !== 0 && !firstDeploy) fail("the D1 repair failed; nothing was deployed after the bridge");
  if (firstDeploy) console.log(`deploy: D1 ${db.database_name} does not exist yet: wrangler deploy provisions it, migrations follow`);
  else mustRun(d1(["d1", "migrations", "apply"]));
  mustRun(deployArgs(SCHEDULER_CONFIG, opts.env, tag, opts["secrets-file"]));
  if (firstDeploy) migrate();
}
console.log(`\ndeploy: done${opts["dry-run"] ? " (dry run: nothing was uploaded)" : ""}`);
