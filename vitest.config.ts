import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

const migrations = await readD1Migrations(path.join(import.meta.dirname, "migrations"));

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
              bindings: { TEST_MIGRATIONS: migrations, ADMIN_PASSWORD: "district" },
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
