/**
 * HRHIS4 DHIS2 bridge: an executor (docs/EXECUTOR.md) that runs job types against a DHIS2-compatible
 * server. One Durable Object per run follows the DHIS2 task on alarms and relays its notifications
 * and summary to the scheduler's callback endpoints.
 */
import { DurableObject } from "cloudflare:workers";
import type { FetchLike, StartRequest } from "../../src/executor/protocol";
import { BridgeRunner, handleBridgeRequest, type BridgeDeps, type RunHost, type RunStorage } from "./runner";

const globalFetch: FetchLike = { fetch: (input, init) => fetch(input, init) };

export function bridgeDeps(env: BridgeEnv): BridgeDeps {
  const poll = Number(env.POLL_INTERVAL_SECONDS);
  return {
    secret: env.EXECUTOR_SECRET ?? "",
    dhis2: { baseUrl: env.DHIS2_BASE_URL ?? "", username: env.DHIS2_USERNAME, password: env.DHIS2_PASSWORD, token: env.DHIS2_TOKEN },
    dhis2Fetch: globalFetch,
    callbackFetch: env.SCHEDULER ?? globalFetch,
    now: () => Date.now(),
    pollIntervalMs: (Number.isFinite(poll) && poll >= 1 ? poll : 3) * 1000,
  };
}

function storageOf(storage: DurableObjectStorage): RunStorage {
  return {
    get: (key) => storage.get(key),
    put: (key, value) => storage.put(key, value),
    deleteAll: async () => {
      await storage.deleteAlarm();
      await storage.deleteAll();
    },
    setAlarm: (at) => storage.setAlarm(at),
    deleteAlarm: () => storage.deleteAlarm(),
  };
}

export class BridgeRunObject extends DurableObject<BridgeEnv> {
  private runner(): BridgeRunner {
    return new BridgeRunner(storageOf(this.ctx.storage), bridgeDeps(this.env));
  }
  async start(req: StartRequest, signature: string, expires: number): Promise<{ status: number; body: unknown }> {
    return this.runner().start(req, signature, expires);
  }
  async cancel(signature: string, expires: number): Promise<{ status: number; body: unknown }> {
    if ((await this.ctx.storage.get("run")) === undefined) return { status: 404, body: { message: "Unknown run" } };
    return this.runner().cancel(signature, expires);
  }
  override async alarm(): Promise<void> {
    await this.runner().poll();
  }
}

function doHost(env: BridgeEnv): RunHost {
  const stub = (runId: string) => env.RUNS.get(env.RUNS.idFromName(runId));
  return {
    start: (runId, req, signature, expires) => stub(runId).start(req, signature, expires),
    cancel: (runId, signature, expires) => stub(runId).cancel(signature, expires),
  };
}

export default {
  async fetch(req: Request, env: BridgeEnv): Promise<Response> {
    if (!env.EXECUTOR_SECRET || !env.DHIS2_BASE_URL) {
      return new Response(JSON.stringify({ message: "Bridge not configured: set EXECUTOR_SECRET and DHIS2_BASE_URL" }), {
        status: 503,
        headers: { "Content-Type": "application/json" },
      });
    }
    return handleBridgeRequest(req, { secret: env.EXECUTOR_SECRET, now: () => Date.now() }, doHost(env));
  },
} satisfies ExportedHandler<BridgeEnv>;
