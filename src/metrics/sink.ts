/** The counter sink of a request (src/metrics/counters.ts): its D1, its `waitUntil`, the clock. */
import type { Context } from "hono";
import { clock } from "../http/clock";
import type { AppEnv } from "../http/router";
import type { CounterSink } from "./counters";

export function requestCounterSink(c: Context<AppEnv>): CounterSink {
  return {
    db: c.env.DB,
    now: () => clock.now(),
    waitUntil: (p) => {
      try {
        c.executionCtx.waitUntil(p);
      } catch {
        // No execution context (the app called directly): the flush still runs, unawaited.
      }
    },
  };
}
