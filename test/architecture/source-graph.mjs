// The source tree as data, for the architecture test (test/architecture/imports.test.ts). The tests
// run in workerd, which cannot read the disk, so vitest.config.ts calls `sourceGraph()` in Node when
// the configuration loads and hands the result to the tests as the TEST_SOURCE_GRAPH binding.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

/**
 * Every `.ts` file under `dir` (default `src/`): its path relative to `root` (with `/`), its line
 * count, and the files it imports (static `import`/`export … from`, `import type`, side-effect
 * imports and dynamic `import("…")`), resolved to paths relative to `root`; package imports are left
 * out.
 * @param {string} root the repository root
 * @param {string} [dir] the folder to scan, relative to `root`
 * @returns {{ path: string; lines: number; imports: string[] }[]}
 */
export function sourceGraph(root, dir = "src") {
  const files = [];
  for (const file of walk(path.join(root, dir))) {
    const text = readFileSync(file, "utf8");
    const rel = toPosix(path.relative(root, file));
    const imports = [...new Set(importSpecifiers(text).filter((s) => s.startsWith(".")))].map((s) =>
      resolveImport(root, path.dirname(file), s),
    );
    files.push({ path: rel, lines: lineCount(text), imports: imports.sort() });
  }
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

/** Lines as `wc -l` counts them, plus a last line without its newline. */
export function lineCount(text) {
  if (text === "") return 0;
  const newlines = text.split("\n").length - 1;
  return text.endsWith("\n") ? newlines : newlines + 1;
}

/** The module specifiers a TypeScript source imports (comments are ignored). */
export function importSpecifiers(text) {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  const found = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[\w*{}\s,$]*?\s*from\s*["']([^"']+)["']/g,
    /\bimport\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) found.push(m[1]);
  return found;
}

function* walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(full);
    else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) yield full;
  }
}

/** `./x` from `src/a/b.ts` → `src/a/x.ts` (or `src/a/x/index.ts`, or the path as written). */
function resolveImport(root, fromDir, spec) {
  const base = path.resolve(fromDir, spec);
  for (const candidate of [base, `${base}.ts`, path.join(base, "index.ts")]) {
    try {
      readFileSync(candidate);
      return toPosix(path.relative(root, candidate));
    } catch {
      // not this one
    }
  }
  return toPosix(path.relative(root, base));
}

function toPosix(p) {
  return p.split(path.sep).join("/");
}
