/**
 * Test harness of the bridge project (vitest.bridge.config.ts): the bridge Worker and its
 * `BridgeRunObject` run in workerd, in the same isolate as the tests, so a spy on the global `fetch`
 * answers everything the bridge sends out: its DHIS2 calls (a `StubDhis2`) and its callbacks to the
 * scheduler (recorded here, answered with a configurable acknowledgement).
 */
import { runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { vi } from "vitest";
import type { BridgeRunObject } from "../src/index";
import { HEADER_IDEMPOTENCY, signedRequest, verifySignature, type CallbackAck, type StartRequest } from "../../src/executor/protocol";
import { StubDhis2 } from "../../test/executor/stub-dhis2";

/** The bridge's bindings (bridge/wrangler.jsonc plus the test bindings of vitest.bridge.config.ts). */
export const bridgeEnv: BridgeEnv = env;
/** The bridge Worker's default export, through its loopback binding (the real `fetch` of bridge/src/index.ts). */
export const bridge = exports.default;

function testBinding(name: "EXECUTOR_SECRET" | "DHIS2_BASE_URL"): string {
  const value = bridgeEnv[name];
  if (!value) throw new Error(`${name} is missing from the test bindings (vitest.bridge.config.ts)`);
  return value;
}

export const SECRET = testBinding("EXECUTOR_SECRET");
export const BRIDGE_URL = "https://bridge.example.org";
export const SCHEDULER_ORIGIN = "https://edge.example.org";
/** DHIS2_BASE_URL of the test bindings, without its `/api` suffix (the bridge strips it too). */
export const DHIS2_ORIGIN = new URL(testBinding("DHIS2_BASE_URL")).origin;

/** A callback as the scheduler received it (read at once: bodies do not outlive the object's request). */
export interface RecordedCallback {
  kind: string;
  url: string;
  method: string;
  headers: Headers;
  text: string;
  body: Record<string, unknown>;
}

export interface Outbound {
  dhis2: StubDhis2;
  callbacks: RecordedCallback[];
  /** Requests to any other host (none expected). */
  stray: string[];
  /** The scheduler's answer to the next callbacks (default RUNNING). */
  ack: { state: CallbackAck["state"] } | { status: number };
  kinds(): string[];
  restore(): void;
}

/** Replaces the global `fetch` (of the tests and of the bridge's objects) with the stubs. */
export function stubOutbound(): Outbound {
  const dhis2 = new StubDhis2(DHIS2_ORIGIN);
  const out: Outbound = {
    dhis2,
    callbacks: [],
    stray: [],
    ack: { state: "RUNNING" },
    kinds: () => out.callbacks.map((c) => c.kind),
    restore: () => spy.mockRestore(),
  };
  const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(input, init);
    const url = new URL(req.url);
    if (url.origin === DHIS2_ORIGIN) return dhis2.fetch(req);
    if (url.origin === SCHEDULER_ORIGIN) {
      const text = await req.text();
      out.callbacks.push({
        kind: url.pathname.split("/").pop()!,
        url: req.url,
        method: req.method,
        headers: new Headers([...req.headers]),
        text,
        body: JSON.parse(text) as Record<string, unknown>,
      });
      const runId = url.pathname.split("/").at(-2)!;
      const ack = out.ack;
      if ("status" in ack) return new Response(JSON.stringify({ message: "refused" }), { status: ack.status });
      return Response.json({ runId, state: ack.state } satisfies CallbackAck);
    }
    out.stray.push(req.url);
    throw new TypeError(`fetch to an unexpected host: ${req.url}`);
  });
  return out;
}

export function startBody(runId: string, jobType: string, parameters: Record<string, unknown> = {}): StartRequest {
  const now = new Date().toISOString();
  return {
    protocol: 1,
    runId,
    jobId: "jobBridge01",
    jobType,
    jobName: "Bridge test job",
    parameters,
    user: { uid: "M5zQapPyTZI", username: "admin" },
    scheduledAt: now,
    startedAt: now,
    callback: { url: `${SCHEDULER_ORIGIN}/api/executor/runs/${runId}`, token: `token-${runId}` },
    heartbeatSeconds: 30,
    attempt: 1,
  };
}

/** A start request signed as the scheduler signs it. */
export function signedStart(body: StartRequest, secret = SECRET, at = Date.now()): Promise<Request> {
  return signedRequest(secret, "POST", `${BRIDGE_URL}/runs`, body, at, { [HEADER_IDEMPOTENCY]: body.runId });
}

/** A cancel request signed as the scheduler signs it. */
export function signedCancel(runId: string, at = Date.now()): Promise<Request> {
  return signedRequest(SECRET, "POST", `${BRIDGE_URL}/runs/${runId}/cancel`, undefined, at);
}

export function runStub(runId: string): DurableObjectStub<BridgeRunObject> {
  return bridgeEnv.RUNS.get(bridgeEnv.RUNS.idFromName(runId));
}

/** What the run's object holds: its run record, its replay cache and its alarm. */
export async function objectState(
  runId: string,
): Promise<{ keys: string[]; run: any; signatures: [string, number][] | undefined; alarm: number | null }> {
  return runInDurableObject(runStub(runId), async (_instance, state) => {
    const all = await state.storage.list();
    return {
      keys: [...all.keys()].sort(),
      run: all.get("run"),
      signatures: all.get("signatures") as [string, number][] | undefined,
      alarm: await state.storage.getAlarm(),
    };
  });
}

/** Checks that a callback is signed with the shared secret and carries the run's bearer token. */
export async function expectAuthentic(cb: RecordedCallback, body: StartRequest): Promise<string | null> {
  if (cb.headers.get("Authorization") !== `Bearer ${body.callback.token}`) return `bad token: ${cb.headers.get("Authorization")}`;
  if (!cb.url.startsWith(`${body.callback.url}/`)) return `bad URL: ${cb.url}`;
  const sig = await verifySignature(SECRET, { method: cb.method, url: cb.url, headers: cb.headers }, cb.text, Date.now());
  return sig.ok ? null : `bad signature: ${sig.message}`;
}
