import type { D1Migration } from "cloudflare:test";
import type { Env as WorkerEnv } from "../src/env";

interface TestEnv extends WorkerEnv {
  TEST_MIGRATIONS: D1Migration[];
}

declare global {
  namespace Cloudflare {
    interface Env extends TestEnv {}
  }
}
