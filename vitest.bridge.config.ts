import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineProject } from "vitest/config";

/**
 * The "bridge" test project (referenced from vitest.config.ts): the DHIS2 bridge executor Worker of
 * bridge/wrangler.jsonc (its `fetch` and the `BridgeRunObject` Durable Object bound as RUNS) runs in
 * workerd, in the same isolate as the tests under bridge/test/.
 */
export default defineProject({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./bridge/wrangler.jsonc" },
      miniflare: {
        bindings: {
          EXECUTOR_SECRET: "bridge-test-secret-0123456789",
          // A host the tests' fetch stub answers for (bridge/test/harness.ts); never reached.
          DHIS2_BASE_URL: "https://dhis2.example.org/api",
          DHIS2_USERNAME: "admin",
          DHIS2_PASSWORD: "district",
          // Alarms are fired by the tests (runDurableObjectAlarm), never by the clock during a test.
          POLL_INTERVAL_SECONDS: "3600",
        },
      },
    }),
  ],
  test: {
    name: "bridge",
    include: ["bridge/test/**/*.test.ts"],
    testTimeout: 30000,
  },
});
