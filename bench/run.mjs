// `npm run bench [-- name…]`: runs every bench/*.bench.mjs (or only the named ones, e.g. `system`)
// one after the other. Each file's default export is an async function.
import { readdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const dir = path.dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2).map((a) => a.replace(/\.bench\.mjs$/, ""));
const all = (await readdir(dir)).filter((f) => f.endsWith(".bench.mjs")).sort();
const files = wanted.length ? all.filter((f) => wanted.includes(f.replace(/\.bench\.mjs$/, ""))) : all;
const unknown = wanted.filter((w) => !all.includes(`${w}.bench.mjs`));
if (unknown.length) {
  console.error(`No such benchmark: ${unknown.join(", ")} (available: ${all.map((f) => f.replace(/\.bench\.mjs$/, "")).join(", ")})`);
  process.exit(2);
}
let failed = false;
for (const file of files) {
  console.log(`\n=== ${file}`);
  try {
    const mod = await import(pathToFileURL(path.join(dir, file)).href);
    await mod.default();
  } catch (e) {
    failed = true;
    console.error(`${file} failed:`, e instanceof Error ? e.message : e);
  }
}
process.exit(failed ? 1 : 0);
