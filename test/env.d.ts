/** Bindings the tests add to the Worker's generated `Env` (worker-configuration.d.ts): vitest.config.ts. */
import type { D1Migration } from "cloudflare:test";

declare global {
  namespace Cloudflare {
    interface Env {
      TEST_MIGRATIONS: D1Migration[];
    }
  }
}
