/**
 * The architecture rules hold over src/ (docs/CONVENTIONS.md "Dependencies"): which folders may not
 * import which, and no file over MAX_LINES. The source graph is built in Node when vitest loads its
 * configuration (test/architecture/source-graph.mjs) and arrives as the TEST_SOURCE_GRAPH binding.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { IMPORT_RULES, MAX_LINES, importViolations, oversizedFiles, type SourceFile } from "./rules";

const files = env.TEST_SOURCE_GRAPH;

describe("the source graph", () => {
  it("covers src/ with resolved imports (the data the rules run on is real)", () => {
    const byPath = new Map(files.map((f) => [f.path, f]));
    expect(files.length).toBeGreaterThan(100);
    expect(byPath.get("src/index.ts")?.imports).toContain("src/app.ts");
    expect(byPath.get("src/scheduling/engine.ts")?.lines).toBeGreaterThan(100);
    // `import type` counts as an import.
    expect(byPath.get("src/scheduling/sync.ts")?.imports).toContain("src/scheduling/job-object.ts");
  });
});

describe("import rules", () => {
  for (const rule of IMPORT_RULES) {
    it(`nothing in ${rule.from} imports ${rule.to} (${rule.why})`, () => {
      expect(importViolations(files, rule)).toEqual([]);
    });
  }

  it("the checker finds a violation when there is one", () => {
    const fake: SourceFile[] = [
      { path: "src/scheduling/engine.ts", lines: 10, imports: ["src/queues/runs.ts", "src/http/clock.ts"] },
      { path: "src/queues/hooks.ts", lines: 10, imports: ["src/scheduling/hooks.ts"] },
    ];
    expect(importViolations(fake, IMPORT_RULES[0])).toEqual(["src/scheduling/engine.ts -> src/queues/runs.ts"]);
  });
});

describe("file size", () => {
  it(`no source file over ${MAX_LINES} lines`, () => {
    expect(oversizedFiles(files)).toEqual([]);
  });

  it("the checker names an oversized file", () => {
    expect(oversizedFiles([{ path: "src/big.ts", lines: MAX_LINES + 1, imports: [] }])).toEqual([`src/big.ts (${MAX_LINES + 1} lines)`]);
  });
});
