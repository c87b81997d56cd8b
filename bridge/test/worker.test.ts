/**
 * The bridge Worker's `fetch` (bridge/src/index.ts) in workerd: signature checks, then the start of a
 * run in its own `BridgeRunObject` (bound as RUNS).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import worker, { bridgeDeps } from "../src/index";
import { HEADER_IDEMPOTENCY, MAX_SKEW_MS, signedRequest } from "../../src/executor/protocol";
import { BRIDGE_URL, SECRET, bridge, bridgeEnv, objectState, signedStart, startBody, stubOutbound, type Outbound } from "./harness";

let out: Outbound;
beforeEach(() => {
  out = stubOutbound();
});
afterEach(() => {
  out.restore();
});

describe("bridge Worker fetch", () => {
  it("answers its health check", async () => {
    const res = await bridge.fetch(`${BRIDGE_URL}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
    expect((await bridge.fetch(`${BRIDGE_URL}/nothing`)).status).toBe(404);
    expect((await bridge.fetch(`${BRIDGE_URL}/runs`)).status).toBe(405);
  });

  it("accepts a signed start and creates the run in its Durable Object", async () => {
    const body = startBody("runWorker001", "ANALYTICS_TABLE", { lastYears: 2, skipTableTypes: ["EVENT"], skipResourceTables: true });
    const before = Date.now();
    const res = await bridge.fetch(await signedStart(body));
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ status: "accepted" });

    // DHIS2 was asked once, at the configured base URL with the configured credentials.
    expect(out.dhis2.calls).toHaveLength(1);
    expect(out.dhis2.calls[0]).toMatchObject({
      method: "POST",
      path: "/api/resourceTables/analytics",
      query: "?lastYears=2&skipResourceTables=true&skipEvents=true",
      auth: `Basic ${btoa("admin:district")}`,
    });
    expect(out.callbacks).toHaveLength(0);
    expect(out.stray).toEqual([]);

    // The object named after the run holds it, RUNNING, and polls on its alarm (POLL_INTERVAL_SECONDS).
    const s = await objectState("runWorker001");
    expect(s.keys).toEqual(["run", "signatures"]);
    expect(s.run).toMatchObject({
      phase: "RUNNING",
      start: body,
      taskType: "ANALYTICS_TABLE",
      taskId: out.dhis2.taskId,
      createdJob: false,
      seen: [],
      failures: 0,
    });
    expect(s.signatures).toHaveLength(1);
    expect(s.signatures![0][0]).toMatch(/^v1=[0-9a-f]{64}$/);
    expect(s.alarm).toBeGreaterThanOrEqual(before + 3600_000);
    expect(s.alarm).toBeLessThanOrEqual(Date.now() + 3600_000);
  });

  it("refuses unsigned, wrongly signed and stale starts with 401, before any run exists", async () => {
    const body = startBody("runWorker002", "RESOURCE_TABLE");
    const unsigned = await bridge.fetch(`${BRIDGE_URL}/runs`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    expect(unsigned.status).toBe(401);
    expect(await unsigned.json()).toEqual({ message: "Missing X-HRHIS4-Timestamp or X-HRHIS4-Signature header" });
    const wrong = await bridge.fetch(await signedStart(body, "another-secret-0123456789"));
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ message: "Invalid request signature" });
    const stale = await bridge.fetch(await signedStart(body, SECRET, Date.now() - MAX_SKEW_MS - 60_000));
    expect(stale.status).toBe(401);
    // A tampered body does not match its signature.
    const good = await signedStart(body);
    const tampered = new Request(good.url, {
      method: "POST",
      headers: good.headers,
      body: JSON.stringify({ ...body, jobType: "MONITORING" }),
    });
    expect((await bridge.fetch(tampered)).status).toBe(401);

    expect(out.dhis2.calls).toHaveLength(0);
    expect((await objectState("runWorker002")).keys).toEqual([]);
  });

  it("refuses a replayed start with 409 and answers a repeated (newly signed) start without starting twice", async () => {
    const body = startBody("runWorker003", "RESOURCE_TABLE");
    const req = await signedStart(body);
    const replay = req.clone();
    expect((await bridge.fetch(req)).status).toBe(202);
    const again = await bridge.fetch(replay);
    expect(again.status).toBe(409);
    expect(await again.json()).toEqual({ message: "Replayed request refused" });
    // A retry of the same run (a new signature, a lost answer) is accepted, not run again.
    const retry = await bridge.fetch(await signedStart({ ...body, attempt: 2 }, SECRET, Date.now() + 1));
    expect(retry.status).toBe(202);
    expect(await retry.json()).toEqual({ status: "accepted" });
    expect(out.dhis2.callsTo("POST", "/api/resourceTables")).toHaveLength(1);
    expect((await objectState("runWorker003")).signatures).toHaveLength(2);
  });

  it("validates the start request after its signature", async () => {
    const body = startBody("runWorker004", "RESOURCE_TABLE");
    const badId = await bridge.fetch(await signedStart({ ...body, runId: "bad id!" }));
    expect(badId.status).toBe(400);
    expect(await badId.json()).toEqual({ message: "Invalid start request" });
    const mismatch = await bridge.fetch(
      await signedRequest(SECRET, "POST", `${BRIDGE_URL}/runs`, body, Date.now(), { [HEADER_IDEMPOTENCY]: "runOther0001" }),
    );
    expect(mismatch.status).toBe(400);
    expect(await mismatch.json()).toEqual({ message: "Idempotency-Key must equal runId" });
    expect(out.dhis2.calls).toHaveLength(0);
  });

  it("reads its configuration from the environment: token or user and password, poll interval", () => {
    const env: BridgeEnv = {
      ...bridgeEnv,
      DHIS2_BASE_URL: "https://dhis2.example.org",
      DHIS2_TOKEN: "d2pat_x",
      POLL_INTERVAL_SECONDS: "5",
    };
    expect(bridgeDeps(env)).toMatchObject({
      secret: SECRET,
      dhis2: { baseUrl: "https://dhis2.example.org", token: "d2pat_x" },
      pollIntervalMs: 5000,
    });
    expect(bridgeDeps({ ...env, POLL_INTERVAL_SECONDS: "x" }).pollIntervalMs).toBe(3000);
    expect(bridgeDeps({ ...env, POLL_INTERVAL_SECONDS: "0" }).pollIntervalMs).toBe(3000);
  });

  it("answers 503 when the bridge is not configured", async () => {
    const body = startBody("runWorker005", "RESOURCE_TABLE");
    for (const missing of ["EXECUTOR_SECRET", "DHIS2_BASE_URL"] as const) {
      const res = await worker.fetch(await signedStart(body), { ...bridgeEnv, [missing]: "" });
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ message: "Bridge not configured: set EXECUTOR_SECRET and DHIS2_BASE_URL" });
    }
    expect(out.dhis2.calls).toHaveLength(0);
    // The same request with the configured bindings is accepted by the same export.
    const ok = await worker.fetch(await signedStart(body), bridgeEnv);
    expect(ok.status).toBe(202);
  });

  it("ends the run at once when DHIS2 refuses to start it, and answers 502 while DHIS2 is unreachable", async () => {
    out.dhis2.refuseStart = { status: 409, message: "Job of type ANALYTICS_TABLE is already running" };
    const refused = await bridge.fetch(await signedStart(startBody("runWorker006", "ANALYTICS_TABLE")));
    expect(refused.status).toBe(200);
    expect(await refused.json()).toEqual({
      status: "done",
      outcome: "FAILED",
      message: "DHIS2 refused POST /api/resourceTables/analytics: Job of type ANALYTICS_TABLE is already running",
    });
    const s = await objectState("runWorker006");
    expect(s.run).toMatchObject({ phase: "FINISHED", result: { outcome: "FAILED" } });
    expect(s.alarm).toBeGreaterThan(Date.now() + 14 * 60_000); // kept as a tombstone for 15 min

    out.dhis2.refuseStart = null;
    out.dhis2.down = true;
    const down = await bridge.fetch(await signedStart(startBody("runWorker007", "RESOURCE_TABLE")));
    expect(down.status).toBe(502);
    expect(await down.json()).toEqual({ message: expect.stringMatching(/^DHIS2 server unreachable: /) });
    // No run is recorded: the scheduler's retry starts it.
    expect((await objectState("runWorker007")).run).toBeUndefined();
    expect(out.callbacks).toHaveLength(0);
  });
});
