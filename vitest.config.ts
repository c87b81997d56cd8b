import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { sourceGraph } from "./test/architecture/source-graph.mjs";

const migrationsDir = path.join(import.meta.dirname, "migrations");
const migrations = await readD1Migrations(migrationsDir);
/** The text of every committed migration file, for the append-only check (test/migrations/). */
const migrationFiles = Object.fromEntries(
  readdirSync(migrationsDir)
    .filter((name) => name.endsWith(".sql"))
    .map((name) => [name, readFileSync(path.join(migrationsDir, name), "utf8")]),
);
const migrationRepairSql = readFileSync(path.join(import.meta.dirname, "scripts", "d1-migration-renames.sql"), "utf8");
/** src/ as data (paths, line counts, imports) for the architecture test: workerd cannot read the disk. */
const sources = sourceGraph(import.meta.dirname);

/**
 * Two projects, each in its own workerd runtime:
 * - "main": the scheduler Worker (wrangler.jsonc), tests under test/;
 * - "bridge": the DHIS2 bridge executor Worker (bridge/wrangler.jsonc: RUNS → BridgeRunObject),
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
              bindings: {
                TEST_MIGRATIONS: migrations,
                TEST_MIGRATION_FILES: migrationFiles,
                TEST_MIGRATION_REPAIR_SQL: migrationRepairSql,
                TEST_SOURCE_GRAPH: sources,
                ADMIN_PASSWORD: "district",
              },
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
