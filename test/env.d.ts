/** Bindings the tests add to the Worker's generated `Env` (worker-configuration.d.ts): vitest.config.ts. */
import type { D1Migration } from "cloudflare:test";
import type { SourceFile } from "./architecture/rules";

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
      /** migrations/*.sql by file name: their text as committed. */
      TEST_MIGRATION_FILES: Record<string, string>;
      /** scripts/d1-migration-renames.sql, which `npm run deploy` runs before applying migrations. */
      TEST_MIGRATION_REPAIR_SQL: string;
      /** src/ as data, built in Node by test/architecture/source-graph.mjs. */
      TEST_SOURCE_GRAPH: SourceFile[];
    }
  }
}
