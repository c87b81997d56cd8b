// Cold start: the CPU the scheduler Worker spends at startup (module evaluation: building the app, its
// routes and schemas), as `wrangler check startup` profiles it on this machine ("Active" time, which
// includes garbage collection). The Worker is bundled once (`wrangler deploy --dry-run --outfile`, the
// production environment), then profiled STARTUP_RUNS times (default 9); the median is the figure
// (target: under 60 ms), with min/max because the machine is shared. The heaviest functions of the
// median run are listed (inclusive time) to show where startup CPU goes.
// STARTUP_PROFILE_DIR keeps the .cpuprofile files (load them into Chrome DevTools or VS Code).
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ROOT, WRANGLER, WRANGLER_ENV } from "./lib.mjs";

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function wrangler(args) {
  const r = spawnSync(WRANGLER, args, { cwd: ROOT, env: WRANGLER_ENV, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`wrangler ${args[0]} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return `${r.stdout}\n${r.stderr}`;
}

/** Inclusive CPU time per function (ms) of a V8 .cpuprofile, idle excluded. */
function heaviest(profile, n) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const inclusive = new Map();
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i + 1] ?? 0) / 1000;
    if (byId.get(id).callFrame.functionName === "(idle)") return;
    const seen = new Set();
    for (let at = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at).callFrame;
      if (f.functionName === "(root)" || f.functionName === "") continue;
      const key = `${f.functionName}${f.lineNumber >= 0 ? ` (bundle line ${f.lineNumber + 1})` : ""}`;
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + dt);
    }
  });
  return [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, n);
}

export default async function startupBench() {
  const runs = Number(process.env.STARTUP_RUNS) || 9;
  const dir = process.env.STARTUP_PROFILE_DIR ?? (await mkdtemp(path.join(os.tmpdir(), "hrhis4-startup-")));
  try {
    const bundle = path.join(dir, "worker.bundle");
    wrangler(["deploy", "--dry-run", "--env=production", "--outfile", bundle]);
    const results = [];
    for (let i = 0; i < runs; i++) {
      const outfile = path.join(dir, `startup-${i + 1}.cpuprofile`);
      const out = wrangler(["check", "startup", "--env=production", "--worker", bundle, "--outfile", outfile]);
      const m = /Active: ([\d.]+) ms \(including ([\d.]+) ms garbage collection\)/.exec(out);
      if (!m) throw new Error(`no "Active" figure in the output of wrangler check startup:\n${out}`);
      results.push({ active: Number(m[1]), gc: Number(m[2]), outfile });
      console.log(`run ${i + 1}/${runs}: ${m[1]} ms active (${m[2]} ms GC)`);
    }
    const mid = median(results.map((r) => r.active));
    const actives = results.map((r) => r.active);
    console.log(
      `\nstartup CPU (wrangler check startup, Active): median ${mid.toFixed(1)} ms, min ${Math.min(...actives).toFixed(1)} ms, ` +
        `max ${Math.max(...actives).toFixed(1)} ms, GC median ${median(results.map((r) => r.gc)).toFixed(1)} ms over ${runs} runs ` +
        `(target: median < 60 ms: ${mid < 60 ? "met" : "NOT met"})`,
    );
    const closest = results.reduce((a, r) => (Math.abs(r.active - mid) < Math.abs(a.active - mid) ? r : a));
    console.log("heaviest functions of the median run (inclusive ms):");
    for (const [name, ms] of heaviest(JSON.parse(await readFile(closest.outfile, "utf8")), 12)) {
      console.log(`  ${ms.toFixed(1).padStart(7)}  ${name}`);
    }
  } finally {
    if (!process.env.STARTUP_PROFILE_DIR) await rm(dir, { recursive: true, force: true });
  }
}
