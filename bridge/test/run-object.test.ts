/**
 * `BridgeRunObject` (bridge/src/index.ts) in workerd: runs started through the Worker's `fetch`, then
 * followed on the object's alarms (fired by `runDurableObjectAlarm`) against a stub DHIS2, with the
 * callbacks the object posts to the scheduler recorded and checked. Mirrors the main flows of
 * test/executor/bridge-e2e.test.ts (which drives the same logic in memory) on the real object.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { verifySignature, type StartRequest } from "../../src/executor/protocol";
import { analyticsScript } from "../../test/executor/stub-dhis2";
import {
  bridge,
  expectAuthentic,
  objectState,
  runStub,
  signedCancel,
  signedStart,
  startBody,
  stubOutbound,
  type Outbound,
} from "./harness";

const TASK = "ZtmqFRnEyuV";
const TOMBSTONE_MS = 15 * 60 * 1000;

let out: Outbound;
beforeEach(() => {
  out = stubOutbound();
});
afterEach(() => {
  out.restore();
});

async function start(runId: string, jobType: string, parameters: Record<string, unknown> = {}): Promise<StartRequest> {
  const body = startBody(runId, jobType, parameters);
  const res = await bridge.fetch(await signedStart(body));
  expect(res.status).toBe(202);
  expect(await res.json()).toEqual({ status: "accepted" });
  return body;
}

/** Fires the run object's pending alarm (one DHIS2 poll); false when none was set. */
function alarm(runId: string): Promise<boolean> {
  return runDurableObjectAlarm(runStub(runId));
}

describe("BridgeRunObject", () => {
  it("polls the DHIS2 task on each alarm and relays new notifications in order, then completes", async () => {
    out.dhis2.script = analyticsScript();
    const body = await start("runObject001", "ANALYTICS_TABLE", { lastYears: 2 });
    const tasks = () => out.dhis2.callsTo("GET", `/api/system/tasks/ANALYTICS_TABLE/${TASK}`).length;
    expect(tasks()).toBe(0);

    // Poll 1: the PARAMETERS opener is skipped, one message relayed.
    expect(await alarm("runObject001")).toBe(true);
    expect(tasks()).toBe(1);
    expect(out.kinds()).toEqual(["messages"]);
    expect(out.callbacks[0].body).toEqual({
      level: "INFO",
      message: "Analytics table update parameters: lastYears=2",
      nonce: expect.stringMatching(/^[A-Za-z0-9_-]{16}$/),
    });
    let s = await objectState("runObject001");
    expect(s.run).toMatchObject({ phase: "RUNNING", seen: ["n0000000001", "n0000000002"] });
    expect(s.alarm).toBeGreaterThan(Date.now() + 3500_000); // the next poll is armed

    // Poll 2: a message and a LOOP notification (an item); nothing already relayed is sent again.
    expect(await alarm("runObject001")).toBe(true);
    expect(out.kinds()).toEqual(["messages", "messages", "items"]);
    expect(out.callbacks[1].body).toMatchObject({ level: "INFO", message: "Performing pre-create table work" });
    expect(out.callbacks[2].body).toMatchObject({ message: "[1/2] Populated analytics_2025" });

    // Poll 3: the last item, then the completed notification ends the run with its message.
    expect(await alarm("runObject001")).toBe(true);
    expect(tasks()).toBe(3);
    expect(out.dhis2.callsTo("GET", `/api/system/taskSummaries/ANALYTICS_TABLE/${TASK}`)).toHaveLength(1);
    expect(out.kinds()).toEqual(["messages", "messages", "items", "items", "complete"]);
    expect(out.callbacks[3].body).toMatchObject({ message: "[2/2] Populated analytics_2026" });
    const complete = out.callbacks[4].body;
    expect(complete).toEqual({ outcome: "COMPLETED", message: "Analytics tables updated: 00:01:02.345", nonce: expect.any(String) });
    expect(complete).not.toHaveProperty("summary"); // DHIS2 had none (an empty body)

    // Every callback is signed with the shared secret and carries the run's token; nonces differ.
    for (const cb of out.callbacks) {
      expect(cb.method).toBe("POST");
      expect(await expectAuthentic(cb, body)).toBeNull();
      const forged = await verifySignature(
        "another-secret-0123456789",
        { method: cb.method, url: cb.url, headers: cb.headers },
        cb.text,
        Date.now(),
      );
      expect(forged.ok).toBe(false);
    }
    expect(out.callbacks.map((c) => c.url)).toEqual(
      ["messages", "messages", "items", "items", "complete"].map((k) => `https://edge.example.org/api/executor/runs/runObject001/${k}`),
    );
    expect(new Set(out.callbacks.map((c) => c.body.nonce)).size).toBe(5);

    // The object keeps the finished run (for idempotent starts) until its tombstone alarm.
    s = await objectState("runObject001");
    expect(s.run).toMatchObject({ phase: "FINISHED", result: { outcome: "COMPLETED", message: "Analytics tables updated: 00:01:02.345" } });
    expect(s.run.seen).toEqual(["n0000000001", "n0000000002", "n0000000003", "n0000000004", "n0000000005", "n0000000006"]);
    expect(s.alarm).toBeGreaterThan(Date.now() + TOMBSTONE_MS - 60_000);
    expect(s.alarm).toBeLessThanOrEqual(Date.now() + TOMBSTONE_MS);
    // A repeated start of the finished run is answered with its result, without DHIS2.
    const repeat = await bridge.fetch(await signedStart({ ...body, attempt: 2 }, undefined, Date.now() + 1));
    expect(repeat.status).toBe(200);
    expect(await repeat.json()).toEqual({ status: "done", outcome: "COMPLETED", message: "Analytics tables updated: 00:01:02.345" });
    expect(out.dhis2.callsTo("POST", "/api/resourceTables/analytics")).toHaveLength(1);

    // The tombstone alarm clears the object; no alarm is left.
    expect(await alarm("runObject001")).toBe(true);
    s = await objectState("runObject001");
    expect(s.keys).toEqual([]);
    expect(s.alarm).toBeNull();
    expect(await alarm("runObject001")).toBe(false);
    expect(out.callbacks).toHaveLength(5);
    expect(out.stray).toEqual([]);
  });

  it("runs other job types as a one-off DHIS2 job configuration, relays its summary and deletes the job", async () => {
    out.dhis2.script = [[{ uid: "m0000000001", level: "INFO", message: "Metadata sync done", completed: true }]];
    out.dhis2.summary = { status: "OK", stats: { created: 3, updated: 1 } };
    const body = await start("runObject002", "META_DATA_SYNC", { dataValuesPageSize: 5000 });
    const created = out.dhis2.callsTo("POST", "/api/jobConfigurations");
    expect(created).toHaveLength(1);
    expect(JSON.parse(created[0].body)).toEqual({
      name: "HRHIS4 META_DATA_SYNC runObject002",
      jobType: "META_DATA_SYNC",
      schedulingType: "ONCE_ASAP",
      jobParameters: { dataValuesPageSize: 5000 },
    });
    expect((await objectState("runObject002")).run).toMatchObject({ taskType: "META_DATA_SYNC", taskId: TASK, createdJob: true });

    expect(await alarm("runObject002")).toBe(true);
    expect(out.kinds()).toEqual(["complete"]);
    expect(out.callbacks[0].body).toMatchObject({
      outcome: "COMPLETED",
      message: "Metadata sync done",
      summary: { status: "OK", stats: { created: 3, updated: 1 } },
    });
    expect(await expectAuthentic(out.callbacks[0], body)).toBeNull();
    expect(out.dhis2.callsTo("GET", `/api/system/tasks/META_DATA_SYNC/${TASK}`)).toHaveLength(1);
    expect(out.dhis2.callsTo("DELETE", `/api/jobConfigurations/${TASK}`)).toHaveLength(1);
    // The DELETE comes after the completion was posted.
    expect(out.dhis2.calls.map((c) => `${c.method} ${c.path}`).pop()).toBe(`DELETE /api/jobConfigurations/${TASK}`);
  });

  it("fails the run with DHIS2's message when its last notification is an ERROR", async () => {
    out.dhis2.script = [
      [
        { uid: "e0000000001", level: "WARN", message: "Table analytics_temp missing, recreating" },
        { uid: "e0000000002", level: "ERROR", message: "Process failed: relation does not exist", completed: true },
      ],
    ];
    await start("runObject003", "RESOURCE_TABLE");
    expect(await alarm("runObject003")).toBe(true);
    expect(out.kinds()).toEqual(["messages", "complete"]);
    expect(out.callbacks[0].body).toMatchObject({ level: "WARN", message: "Table analytics_temp missing, recreating" });
    expect(out.callbacks[1].body).toMatchObject({ outcome: "FAILED", message: "Process failed: relation does not exist" });
    expect((await objectState("runObject003")).run).toMatchObject({ phase: "FINISHED", result: { outcome: "FAILED" } });
  });

  it("relays the item errors DHIS2 (2.41+) kept of the run before the completion, in callbacks of at most 100", async () => {
    out.dhis2.script = [[{ uid: "x0000000001", level: "INFO", message: "Import done", completed: true }]];
    const errors = Array.from({ length: 150 }, (_, i) => ({
      code: "E4000",
      id: `ou${String(i).padStart(9, "0")}`,
      type: "OrganisationUnit",
      args: ["openingDate"],
      message: "Missing required property `openingDate`",
    }));
    // DHIS2's JobRunErrors, with a member the bridge does not pass on and an entry it cannot relay.
    out.dhis2.runErrors = { id: TASK, type: "METADATA_IMPORT", codes: "ErrorCode", errors: [...errors, { code: "no spaces allowed" }] };
    const body = await start("runObject011", "METADATA_IMPORT");
    expect(await alarm("runObject011")).toBe(true);
    expect(out.dhis2.callsTo("GET", `/api/jobConfigurations/${TASK}/errors`)).toHaveLength(1);
    expect(out.kinds()).toEqual(["errors", "errors", "complete"]);
    expect(out.callbacks[0].body).toEqual({ errors: errors.slice(0, 100), nonce: expect.any(String) });
    expect(out.callbacks[1].body).toEqual({ errors: errors.slice(100), nonce: expect.any(String) });
    for (const cb of out.callbacks) expect(await expectAuthentic(cb, body)).toBeNull();
  });

  it("a DHIS2 without the errors endpoint (before 2.41) completes the run as before", async () => {
    out.dhis2.script = [[{ uid: "y0000000001", level: "INFO", message: "Done", completed: true }]];
    await start("runObject012", "RESOURCE_TABLE");
    expect(await alarm("runObject012")).toBe(true);
    expect(out.dhis2.callsTo("GET", `/api/jobConfigurations/${TASK}/errors`)).toHaveLength(1); // 404
    expect(out.kinds()).toEqual(["complete"]);
  });

  it("forwards a signed cancel to DHIS2 and posts a STOPPED completion", async () => {
    out.dhis2.script = analyticsScript();
    const body = await start("runObject004", "ANALYTICS_TABLE");
    expect(await alarm("runObject004")).toBe(true);
    expect(out.kinds()).toEqual(["messages"]);

    const cancel = await signedCancel("runObject004");
    const replay = cancel.clone();
    const res = await bridge.fetch(cancel);
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ status: "cancelled" });
    expect(out.dhis2.callsTo("POST", `/api/jobConfigurations/${TASK}/cancel`)).toHaveLength(1);
    expect(out.kinds()).toEqual(["messages", "complete"]);
    expect(out.callbacks[1].body).toEqual({ outcome: "STOPPED", message: "Job cancelled", nonce: expect.any(String) });
    expect(await expectAuthentic(out.callbacks[1], body)).toBeNull();
    let s = await objectState("runObject004");
    expect(s.run).toMatchObject({ phase: "FINISHED", result: { outcome: "STOPPED", message: "Job cancelled" } });
    expect(s.alarm).toBeGreaterThan(Date.now() + TOMBSTONE_MS - 60_000);

    // The same cancel again is a replay; a new one finds the run finished. Neither reaches DHIS2.
    const again = await bridge.fetch(replay);
    expect(again.status).toBe(409);
    expect(await again.json()).toEqual({ message: "Replayed request refused" });
    const late = await bridge.fetch(await signedCancel("runObject004", Date.now() + 1));
    expect(late.status).toBe(200);
    expect(await late.json()).toEqual({ status: "finished" });
    expect(out.dhis2.callsTo("POST", `/api/jobConfigurations/${TASK}/cancel`)).toHaveLength(1);

    // The tombstone alarm does not poll DHIS2 any more: it only clears the object.
    const polls = out.dhis2.callsTo("GET", "/api/system/tasks/").length;
    expect(await alarm("runObject004")).toBe(true);
    expect(out.dhis2.callsTo("GET", "/api/system/tasks/").length).toBe(polls);
    s = await objectState("runObject004");
    expect(s.keys).toEqual([]);
    expect(out.callbacks).toHaveLength(2);
  });

  it("refuses to cancel an unknown run and an unsigned cancel", async () => {
    const unknown = await bridge.fetch(await signedCancel("runObject005"));
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ message: "Unknown run" });
    expect((await objectState("runObject005")).keys).toEqual([]);

    await start("runObject006", "RESOURCE_TABLE");
    const unsigned = await bridge.fetch("https://bridge.example.org/runs/runObject006/cancel", { method: "POST" });
    expect(unsigned.status).toBe(401);
    expect((await objectState("runObject006")).run).toMatchObject({ phase: "RUNNING" });
    expect(out.dhis2.callsTo("POST", `/api/jobConfigurations/${TASK}/cancel`)).toHaveLength(0);
    expect(out.callbacks).toHaveLength(0);
  });

  it("stops the DHIS2 job when the scheduler answers a callback with CANCELLING", async () => {
    out.dhis2.script = analyticsScript();
    await start("runObject007", "ANALYTICS_TABLE");
    out.ack = { state: "CANCELLING" };
    expect(await alarm("runObject007")).toBe(true);
    expect(out.kinds()).toEqual(["messages", "complete"]);
    expect(out.callbacks[1].body).toMatchObject({ outcome: "STOPPED", message: "Job cancelled" });
    expect(out.dhis2.callsTo("POST", `/api/jobConfigurations/${TASK}/cancel`)).toHaveLength(1);
    const s = await objectState("runObject007");
    expect(s.run).toMatchObject({ phase: "FINISHED", result: { outcome: "STOPPED" } });
    expect(s.run.seen).toEqual(["n0000000001", "n0000000002"]);
    expect(s.run.outbox).toEqual([]);
  });

  it("stops when the scheduler already finished the run (a callback answered 409)", async () => {
    out.dhis2.script = analyticsScript();
    await start("runObject008", "ANALYTICS_TABLE");
    out.ack = { status: 409 };
    expect(await alarm("runObject008")).toBe(true);
    expect(out.kinds()).toEqual(["messages", "complete"]);
    expect(out.callbacks[1].body).toMatchObject({ outcome: "STOPPED", message: "Run finished by the scheduler" });
    expect(out.dhis2.callsTo("POST", `/api/jobConfigurations/${TASK}/cancel`)).toHaveLength(1);
  });

  it("delivers callbacks at least once: what the scheduler did not take is sent again, in order, with its nonce", async () => {
    out.dhis2.script = analyticsScript();
    const body = await start("runObject010", "ANALYTICS_TABLE");
    const header = (i: number) => out.callbacks[i].headers.get("X-HRHIS4-Signature");

    // Poll 1: the scheduler is down; the message stays queued in the object's storage.
    out.ack = { status: 503 };
    expect(await alarm("runObject010")).toBe(true);
    expect(out.kinds()).toEqual(["messages"]);
    let s = await objectState("runObject010");
    expect(s.run).toMatchObject({ phase: "RUNNING", outbox: [{ kind: "messages", body: out.callbacks[0].body }] });
    expect(s.alarm).not.toBeNull();

    // Poll 2: the queued message first (same nonce, signed anew), then the new notifications.
    out.ack = { state: "RUNNING" };
    expect(await alarm("runObject010")).toBe(true);
    expect(out.kinds()).toEqual(["messages", "messages", "messages", "items"]);
    expect(out.callbacks[1].body).toEqual(out.callbacks[0].body);
    expect(header(1)).not.toBe(header(0));
    expect(out.callbacks.slice(1).map((c) => c.body.message)).toEqual([
      "Analytics table update parameters: lastYears=2",
      "Performing pre-create table work",
      "[1/2] Populated analytics_2025",
    ]);
    expect((await objectState("runObject010")).run.outbox).toEqual([]);

    // Poll 3: DHIS2 is done but the scheduler is down again: the run is finished here, its last
    // item and its completion wait in the outbox, and the next alarm comes at the poll interval.
    out.ack = { status: 503 };
    expect(await alarm("runObject010")).toBe(true);
    expect(out.kinds().slice(4)).toEqual(["items"]);
    s = await objectState("runObject010");
    expect(s.run).toMatchObject({ phase: "FINISHED", result: { outcome: "COMPLETED" } });
    expect(s.run.outbox.map((o: { kind: string }) => o.kind)).toEqual(["items", "complete"]);
    expect(s.alarm).toBeLessThan(Date.now() + 3600_000 + 1000);
    expect(s.alarm).toBeGreaterThan(Date.now() + 3500_000);

    // Alarm 4: no DHIS2 poll, the queue is delivered; then the tombstone alarm.
    out.ack = { state: "RUNNING" };
    const polls = out.dhis2.callsTo("GET", "/api/system/tasks/").length;
    expect(await alarm("runObject010")).toBe(true);
    expect(out.dhis2.callsTo("GET", "/api/system/tasks/").length).toBe(polls);
    expect(out.kinds().slice(5)).toEqual(["items", "complete"]);
    expect(out.callbacks[5].body).toEqual(out.callbacks[4].body);
    expect(out.callbacks[6].body).toMatchObject({ outcome: "COMPLETED", message: "Analytics tables updated: 00:01:02.345" });
    for (const cb of out.callbacks) expect(await expectAuthentic(cb, body)).toBeNull();
    s = await objectState("runObject010");
    expect(s.run.outbox).toEqual([]);
    expect(s.alarm).toBeGreaterThan(Date.now() + TOMBSTONE_MS - 60_000);
    expect(await alarm("runObject010")).toBe(true);
    expect((await objectState("runObject010")).keys).toEqual([]);
    expect(out.callbacks).toHaveLength(7);
  });

  it("keeps polling through a DHIS2 outage and finishes when DHIS2 is back", async () => {
    out.dhis2.script = [[{ uid: "p0000000001", level: "INFO", message: "", dataType: "PARAMETERS" }]];
    await start("runObject009", "RESOURCE_TABLE");
    out.dhis2.down = true;
    expect(await alarm("runObject009")).toBe(true);
    expect(await alarm("runObject009")).toBe(true);
    let s = await objectState("runObject009");
    expect(s.run).toMatchObject({ phase: "RUNNING", failures: 2 });
    expect(s.alarm).not.toBeNull();
    expect(out.callbacks).toHaveLength(0); // no heartbeat due yet (the run started moments ago)
    out.dhis2.down = false;
    out.dhis2.script = [[{ uid: "p0000000002", level: "INFO", message: "Resource tables generated", completed: true }]];
    expect(await alarm("runObject009")).toBe(true);
    expect(out.kinds()).toEqual(["complete"]);
    expect(out.callbacks[0].body).toMatchObject({ outcome: "COMPLETED", message: "Resource tables generated" });
    s = await objectState("runObject009");
    expect(s.run).toMatchObject({ phase: "FINISHED", failures: 0 });
  });
});
