/** The bridge on its own: polling, heartbeats, DHIS2 outages, the mapping of job types (the Worker entry: bridge/test/). */
import { describe, expect, it } from "vitest";
import { startFor } from "../../bridge/src/dhis2";
import { MAX_POLL_FAILURES, MemoryRunHost, handleBridgeRequest } from "../../bridge/src/runner";
import { HEADER_IDEMPOTENCY, signedRequest, type StartRequest } from "../../src/executor/protocol";
import { StubDhis2 } from "./stub-dhis2";

const SECRET = "bridge-secret-0123456789";
const T0 = Date.UTC(2026, 10, 29, 10, 0, 0);

function setup() {
  let now = T0;
  const dhis2 = new StubDhis2();
  const callbacks: { kind: string; body: any }[] = [];
  const host = new MemoryRunHost({
    secret: SECRET,
    dhis2: { baseUrl: dhis2.baseUrl, token: "d2pat_x" },
    dhis2Fetch: dhis2,
    callbackFetch: {
      fetch: async (input, init) => {
        const req = new Request(input, init);
        callbacks.push({ kind: new URL(req.url).pathname.split("/").pop()!, body: await req.json() });
        return new Response(JSON.stringify({ runId: "r", state: "RUNNING" }), { status: 200 });
      },
    },
    now: () => now,
    pollIntervalMs: 3000,
  });
  const start = async (jobType: string, parameters: Record<string, unknown> = {}, runId = "runBridge01") => {
    const body: StartRequest = {
      protocol: 1,
      runId,
      jobId: "job00000001",
      jobType,
      parameters,
      scheduledAt: new Date(now).toISOString(),
      startedAt: new Date(now).toISOString(),
      callback: { url: `https://edge.example.org/api/executor/runs/${runId}`, token: "tok" },
      heartbeatSeconds: 30,
      attempt: 1,
    };
    const req = await signedRequest(SECRET, "POST", "https://bridge.example.org/runs", body, now, { [HEADER_IDEMPOTENCY]: runId });
    return handleBridgeRequest(req, { secret: SECRET, now: () => now }, host);
  };
  const tick = async (ms: number) => {
    now += ms;
    await host.runDueAlarms(now);
  };
  return { dhis2, callbacks, host, start, tick };
}

describe("DHIS2 bridge runner", () => {
  it("sends heartbeats only to fill silences, and survives a short DHIS2 outage", async () => {
    const s = setup();
    s.dhis2.script = [[{ uid: "p0000000001", level: "INFO", message: "", dataType: "PARAMETERS" }]];
    expect((await s.start("RESOURCE_TABLE")).status).toBe(202);
    for (let i = 0; i < 10; i++) await s.tick(3000); // 30 s of an idle task
    expect(s.callbacks.map((c) => c.kind)).toEqual(["heartbeat", "heartbeat"]); // at 15 s and 30 s
    expect(s.callbacks[0].body).toEqual({ nonce: expect.stringMatching(/^[A-Za-z0-9_-]{16}$/) });
    s.dhis2.down = true;
    await s.tick(3000);
    await s.tick(3000);
    s.dhis2.down = false;
    s.dhis2.script = [[{ uid: "p0000000002", level: "INFO", message: "Resource tables generated", completed: true }]];
    await s.tick(3000);
    expect(s.callbacks.map((c) => c.kind).pop()).toBe("complete");
    expect(s.callbacks.pop()!.body).toMatchObject({ outcome: "COMPLETED", message: "Resource tables generated" });
  });

  it("fails the run after repeated failed polls", async () => {
    const s = setup();
    s.dhis2.script = [[]];
    await s.start("RESOURCE_TABLE");
    s.dhis2.down = true;
    for (let i = 0; i < MAX_POLL_FAILURES; i++) await s.tick(3000);
    const last = s.callbacks.pop()!;
    expect(last.kind).toBe("complete");
    expect(last.body).toMatchObject({
      outcome: "FAILED",
      message: `Lost the DHIS2 task after ${MAX_POLL_FAILURES} failed polls: DHIS2 server unreachable: fetch failed: connection refused`,
    });
  });

  it("answers 502 when DHIS2 is unreachable at start (the scheduler retries), 400 on bad requests", async () => {
    const s = setup();
    s.dhis2.down = true;
    const res = await s.start("ANALYTICS_TABLE");
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({ message: "DHIS2 server unreachable: fetch failed: connection refused" });
    const bad = await signedRequest(SECRET, "POST", "https://bridge.example.org/runs", { runId: "x" }, T0);
    expect((await handleBridgeRequest(bad, { secret: SECRET, now: () => T0 }, s.host)).status).toBe(400);
    const wrongKey = await signedRequest(
      SECRET,
      "POST",
      "https://bridge.example.org/runs",
      { runId: "a", jobType: "X", callback: { url: "u", token: "t" } },
      T0,
      {
        [HEADER_IDEMPOTENCY]: "b",
      },
    );
    expect(await (await handleBridgeRequest(wrongKey, { secret: SECRET, now: () => T0 }, s.host)).json()).toEqual({
      message: "Idempotency-Key must equal runId",
    });
    const unknownCancel = await signedRequest(SECRET, "POST", "https://bridge.example.org/runs/nope/cancel", {}, T0);
    expect((await handleBridgeRequest(unknownCancel, { secret: SECRET, now: () => T0 }, s.host)).status).toBe(404);
  });

  it("maps job types and parameters onto DHIS2 calls", () => {
    const now = Date.UTC(2026, 10, 29, 12);
    expect(
      startFor(
        "ANALYTICS_TABLE",
        { lastYears: 3, skipTableTypes: ["DATA_VALUE", "COMPLETENESS", "COMPLETENESS_TARGET", "OWNERSHIP"], skipOutliers: true },
        now,
      ),
    ).toEqual({
      mode: "task",
      method: "POST",
      path: "/api/resourceTables/analytics",
      query: [
        ["lastYears", "3"],
        ["skipOutliers", "true"],
        ["skipAggregate", "true"],
        ["skipOrgUnitOwnership", "true"],
      ],
      taskType: "ANALYTICS_TABLE",
    });
    // A part of a table group, or skipPrograms, needs the full parameters: a one-off job.
    expect(startFor("ANALYTICS_TABLE", { skipTableTypes: ["DATA_VALUE"] }, now)).toMatchObject({ mode: "job", jobType: "ANALYTICS_TABLE" });
    expect(startFor("ANALYTICS_TABLE", { skipPrograms: ["IpHINAT79UW"] }, now)).toMatchObject({ mode: "job" });
    expect(startFor("DATA_INTEGRITY", { checks: ["a", "b"] }, now)).toMatchObject({
      path: "/api/dataIntegrity",
      query: [["checks", "a,b"]],
    });
    expect(startFor("DATA_INTEGRITY", { type: "DETAILS" }, now)).toMatchObject({
      path: "/api/dataIntegrity/details",
      taskType: "DATA_INTEGRITY_DETAILS",
    });
    expect(startFor("PREDICTOR", { relativeStart: -30, relativeEnd: 0, predictors: ["p1"], predictorGroups: ["g1"] }, now)).toMatchObject({
      path: "/api/predictions",
      query: [
        ["startDate", "2026-10-30"],
        ["endDate", "2026-11-29"],
        ["async", "true"],
        ["predictor", "p1"],
        ["predictorGroup", "g1"],
      ],
    });
    expect(startFor("MONITORING", {}, now)).toMatchObject({ path: "/api/resourceTables/monitoring" });
    expect(startFor("MONITORING", { relativeStart: -7 }, now)).toMatchObject({ mode: "job", jobType: "MONITORING" });
    expect(startFor("META_DATA_SYNC", {}, now)).toEqual({ mode: "job", jobType: "META_DATA_SYNC", parameters: {} });
  });
});
