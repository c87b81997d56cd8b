/**
 * The architecture rules of docs/CONVENTIONS.md as data, and a checker over the source graph that
 * vitest.config.ts builds in Node (test/architecture/source-graph.mjs).
 */
export interface SourceFile {
  /** Relative to the repository root, e.g. `src/scheduling/engine.ts`. */
  path: string;
  lines: number;
  /** Files it imports, relative to the repository root. */
  imports: string[];
}

/** Files under `from` must not import files under `to`. */
export interface ImportRule {
  from: string;
  to: string;
  why: string;
}

export const IMPORT_RULES: ImportRule[] = [
  {
    from: "src/scheduling/",
    to: "src/queues/",
    why: "the engine reports run events; queues continue through a listener registered at the entry",
  },
  {
    from: "src/jobs/",
    to: "src/scheduling/",
    why: "the engine-handler contract is src/jobs/contract.ts; handlers reach maintenance through their run context",
  },
  { from: "src/http/", to: "src/users/", why: "http/ stays generic; authentication lives with users" },
  {
    from: "src/scheduling/",
    to: "src/history/",
    why: "run history reads the engine's own rows; the engine never calls the module that shows them",
  },
  {
    from: "src/scheduling/",
    to: "src/alerts/",
    why: "the engine reports run events; alerts decide through a listener registered at the entry",
  },
];

/** No source file longer than this (split by role instead). */
export const MAX_LINES = 600;

/** Every import that breaks `rule`, as `importer -> imported`. */
export function importViolations(files: SourceFile[], rule: ImportRule): string[] {
  const out: string[] = [];
  for (const f of files) {
    if (!f.path.startsWith(rule.from)) continue;
    for (const target of f.imports) if (target.startsWith(rule.to)) out.push(`${f.path} -> ${target}`);
  }
  return out;
}

/** Files over `max` lines, as `path (N lines)`. */
export function oversizedFiles(files: SourceFile[], max = MAX_LINES): string[] {
  return files.filter((f) => f.lines > max).map((f) => `${f.path} (${f.lines} lines)`);
}
