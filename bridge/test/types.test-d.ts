/**
 * Type tests of the bridge project. Vitest's typecheck (vitest.bridge.config.ts) runs
 * `tsc -p bridge/tsconfig.json` for them, which also type-checks bridge/src and the other files under
 * bridge/test: a type error there fails `vitest run` (the root `tsc -p .` does not cover bridge/test).
 */
import { describe, expectTypeOf, it } from "vitest";
import worker, { bridgeDeps, type BridgeEnv, type BridgeRunObject } from "../src/index";
import type { RunHost } from "../src/runner";
import type { FetchLike, StartRequest } from "../../src/executor/protocol";
import { bridgeEnv, runStub, startBody } from "./harness";

describe("bridge types", () => {
  it("the run object's RPC methods take what the request handler hands to its RunHost", () => {
    type Rest<F> = F extends (runId: string, ...rest: infer R) => unknown ? R : never;
    expectTypeOf<Parameters<BridgeRunObject["start"]>>().toEqualTypeOf<Rest<RunHost["start"]>>();
    expectTypeOf<Parameters<BridgeRunObject["cancel"]>>().toEqualTypeOf<Rest<RunHost["cancel"]>>();
    expectTypeOf(runStub("x").start).parameters.toEqualTypeOf<[StartRequest, string, number]>();
  });

  it("the Worker and the harness use the bridge's bindings", () => {
    expectTypeOf(worker.fetch).parameters.toEqualTypeOf<[Request, BridgeEnv]>();
    expectTypeOf(bridgeEnv).toEqualTypeOf<BridgeEnv>();
    expectTypeOf(bridgeDeps(bridgeEnv).dhis2Fetch).toEqualTypeOf<FetchLike>();
    expectTypeOf(startBody).returns.toEqualTypeOf<StartRequest>();
  });
});
