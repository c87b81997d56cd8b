import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { sourceGraph } from "./test/architecture/source-graph.mjs";

const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
/** src/ as data (paths, line counts, imports) for the architecture test: workerd cannot read the disk. */
const sources = sourceGraph(import.meta.dirname);

/**
 * Two projects, each in its own workerd runtime:
 * - "main": the scheduler Worker (wrangler.jsonc), tests under test/;
 * - "bridge": the DHIS2 bridge executor Worker (bridge/wrangler.toml: RUNS → BridgeRunObject),
 *   tests under bridge/test/ (vitest.bridge.config.ts).
 */
export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.jsonc" },
            miniflare: {
              bindings: { TEST_MIGRATIONS: migrations, TEST_SOURCE_GRAPH: sources, ADMIN_PASSWORD: "district" },
            },
          }),
        ],
        test: {
          name: "main",
          setupFiles: ["./test/setup.ts"],
          include: ["test/**/*.test.ts"],
          testTimeout: 30000,
        },
      },
      "./vitest.bridge.config.ts",
    ],
  },
});
