/**
 * Delivery of alerts: through the real queue (retries after 5xx answers, the dead-letter queue after
 * the last retry, 4xx refusals, e-mail through the send_email binding, never twice for one episode),
 * and the Worker's `queue` handler driven directly with the plugin's `createMessageBatch` /
 * `getQueueResult` (the exact retry delays, the dead-letter consumer, malformed and foreign messages).
 */
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { alertListener, repairAlerts } from "../../src/alerts/listener";
import worker from "../../src/index";
import type { RunEvent } from "../../src/scheduling/run-events";
import { syncJobObject } from "../../src/scheduling/sync";
import { api, json } from "../helpers";
import { T0, fire, insertJob, schedulerTestLifecycle } from "../scheduling/support";
import { clearAlerts, createRule, deliveries, RECEIVER, SECRET, settled, type StubReceiver, stubReceiver, webhookRule } from "./support";

const clk = schedulerTestLifecycle();
let receiver: StubReceiver;

beforeEach(async () => {
  await clearAlerts();
  receiver = stubReceiver();
});
afterEach(() => receiver.restore());

/** An ANALYTICS_TABLE job (no executor here: every run fails with E7010) run once at T0 + 1 min. */
async function failingRun(name = "analytics"): Promise<string> {
  const uid = await insertJob({ name, jobType: "ANALYTICS_TABLE", cron: "0 * * * * *" });
  await syncJobObject(env, uid);
  clk.set(T0 + 60_000);
  expect(await fire(uid)).toBe(true);
  return uid;
}

function failedEvent(jobId: string, n = 1): RunEvent {
  const at = T0 + n * 60_000;
  return {
    kind: "RUN_ENDED",
    id: `${jobId}-${at}:ended`,
    at,
    jobId,
    jobType: "TEST",
    jobName: "by hand",
    scheduledAt: at,
    executedBy: null,
    runId: `${jobId}-${at}`,
    trigger: "CRON",
    startedAt: at,
    latenessMs: 0,
    status: "FAILED",
    finishedAt: at,
    durationMs: 0,
    errorCodes: [],
    message: "failed by hand",
  };
}

/** A delivery straight in D1 (QUEUED, never put on the queue), for the consumer driven by hand. */
async function queuedDelivery(ruleUid: string, uid: string): Promise<void> {
  const payload = JSON.stringify({ text: "x", protocol: 1, id: uid, alert: "FAILED", job: { id: "jobByHand01", name: "n", type: "TEST" } });
  await env.DB.prepare(
    `INSERT INTO alert_deliveries (uid, rule_uid, job_uid, event_id, alert, channel_type, payload, state, attempts, created, updated)
     VALUES (?, ?, 'jobByHand01', ?, 'FAILED', 'WEBHOOK', ?, 'QUEUED', 0, ?, ?)`,
  )
    .bind(uid, ruleUid, `event-${uid}`, payload, T0, T0)
    .run();
}

/**
 * Runs the Worker's queue handler on a batch made with `createMessageBatch`; returns the plugin's
 * `getQueueResult` and the `delaySeconds` each retried message asked for (the plugin's result does not
 * carry them, so `retry` is observed on the messages themselves).
 */
async function consume(queue: string, bodies: { id: string; attempts: number; body: unknown }[], over: Partial<Env> = {}) {
  const batch = createMessageBatch(
    queue,
    bodies.map((b) => ({ ...b, timestamp: T0 })),
  );
  const delays = new Map<string, number | undefined>();
  for (const m of batch.messages) {
    const retry = m.retry.bind(m);
    vi.spyOn(m, "retry").mockImplementation((options) => {
      delays.set(m.id, options?.delaySeconds);
      retry(options);
    });
  }
  const ctx = createExecutionContext();
  await worker.queue(batch, { ...env, ...over }, ctx);
  return { ...(await getQueueResult(batch, ctx)), delays };
}

describe("delivery through the queue", () => {
  it("5xx answers are retried, re-signed, with the same delivery id, until the receiver takes it", async () => {
    await createRule(webhookRule());
    receiver.answers = [503, 502, 500];
    await failingRun();
    const [row] = await settled(1);
    expect(row).toMatchObject({ alert: "FAILED", state: "DELIVERED", attempts: 4, last_status: 200, last_error: null });
    expect(receiver.received).toHaveLength(4);
    expect(receiver.received.map((r) => r.signatureProblem)).toEqual([null, null, null, null]);
    expect(receiver.received.map((r) => r.headers.get("Idempotency-Key"))).toEqual([row.uid, row.uid, row.uid, row.uid]);
    expect(receiver.received.map((r) => r.headers.get("X-HRHIS4-Attempt"))).toEqual(["1", "2", "3", "4"]);
    expect(new Set(receiver.received.map((r) => JSON.stringify(r.body))).size).toBe(1);
  });

  it("dead-lettered after the last retry: 11 attempts (max_retries 10), then the dead-letter consumer records it", async () => {
    const rule = await createRule(webhookRule());
    receiver.answers = Array(30).fill(503);
    await failingRun();
    const [row] = await settled(1, 80_000);
    expect(row).toMatchObject({ state: "DEAD_LETTER", attempts: 11, last_status: 503, last_error: "HTTP 503: receiver says no" });
    expect(receiver.received).toHaveLength(11);
    const res = await api(`/api/scheduler/alerts/${rule}/deliveries?state=DEAD_LETTER`);
    expect((await json(res)).deliveries).toMatchObject([{ id: row.uid, state: "DEAD_LETTER", attempts: 11, lastStatus: 503 }]);
  }, 120_000);

  it("a 4xx answer fails for good after one attempt; a 429 is retried", async () => {
    await createRule(webhookRule({ name: "refused" }));
    receiver.answers = [404];
    await failingRun("first");
    expect((await settled(1)).map((r) => [r.state, r.attempts, r.last_status])).toEqual([["FAILED", 1, 404]]);
    await clearAlerts();
    await createRule(webhookRule({ name: "throttled" }));
    receiver.answers = [429];
    await failingRun("second");
    expect((await settled(1)).map((r) => [r.state, r.attempts])).toEqual([["DELIVERED", 2]]);
  });

  it("the receiver refuses a signature made with another secret (the check is real)", async () => {
    receiver.restore();
    receiver = stubReceiver("a-different-secret-000");
    await createRule(webhookRule());
    await failingRun();
    await settled(1);
    expect(receiver.received.map((r) => r.signatureProblem)).toEqual(["Invalid request signature"]);
  });

  it("e-mail: sent through the send_email binding, nothing posted", async () => {
    const rule = await createRule(webhookRule({ channel: { type: "EMAIL", address: "ops@example.org" } }));
    await failingRun();
    const rows = await settled(1);
    expect(rows.map((r) => [r.rule_uid, r.state, r.attempts, r.last_error])).toEqual([[rule, "DELIVERED", 1, null]]);
    expect(receiver.received).toEqual([]);
  });

  it("never twice: an event delivered again to the listener adds nothing; a message consumed again posts nothing", async () => {
    const rule = await createRule(webhookRule());
    const event = failedEvent("jobByHand01");
    const ctx = { env, now: T0 + 60_000, attempt: 1 };
    await alertListener.handle(event, ctx);
    await alertListener.handle(event, { ...ctx, attempt: 2 });
    const [row] = await settled(1);
    expect((await deliveries()).length).toBe(1);
    expect(row).toMatchObject({ rule_uid: rule, state: "DELIVERED" });
    const result = await consume("hrhis4-alerts", [{ id: "again", attempts: 1, body: { v: 1, delivery: row.uid } }]);
    expect(result.explicitAcks).toEqual(["again"]);
    expect(receiver.received).toHaveLength(1);
    // The next failure of the same job is in the same episode: no alert either.
    await alertListener.handle(failedEvent("jobByHand01", 2), ctx);
    expect((await deliveries()).length).toBe(1);
  });

  it("a delivery left PENDING (its enqueue was interrupted) is put on the queue again by the Cron Trigger's repair", async () => {
    const rule = await createRule(webhookRule());
    await queuedDelivery(rule, "pendingAbc1");
    await env.DB.prepare(`UPDATE alert_deliveries SET state = 'PENDING', updated = ?`)
      .bind(T0 - 10 * 60_000)
      .run();
    expect(await repairAlerts(env, T0)).toEqual({ requeued: 1, purged: 0 });
    expect((await settled(1)).map((r) => [r.uid, r.state])).toEqual([["pendingAbc1", "DELIVERED"]]);
  });
});

describe("the Worker's queue handler", () => {
  it("retries with backoff: ALERT_RETRY_BASE_SECONDS doubling per attempt, at most 15 minutes", async () => {
    const rule = await createRule(webhookRule());
    const uids = ["backoffAaa1", "backoffBbb2", "backoffCcc3", "backoffDdd4"];
    for (const uid of uids) await queuedDelivery(rule, uid);
    receiver.answers = [503, 503, 503, 503];
    const result = await consume(
      "hrhis4-alerts",
      uids.map((uid, i) => ({ id: `m${i}`, attempts: [1, 2, 4, 11][i], body: { v: 1, delivery: uid } })),
      { ALERT_RETRY_BASE_SECONDS: "10" },
    );
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages.map((r) => r.msgId).sort()).toEqual(["m0", "m1", "m2", "m3"]);
    const expected = new Map([
      ["m0", 10],
      ["m1", 20],
      ["m2", 80],
      ["m3", 900],
    ]);
    expect(result.delays).toEqual(expected);
    // The API shows when each comes back.
    const rows = await deliveries(rule);
    expect(rows.map((r) => [r.uid, r.state, r.attempts, r.last_status, r.next_attempt])).toEqual(
      uids.map((uid, i) => [uid, "RETRYING", 1, 503, T0 + 1000 * (expected.get(`m${i}`) ?? 0)]),
    );
  });

  it("a 2xx answer acknowledges the message and records DELIVERED", async () => {
    const rule = await createRule(webhookRule());
    await queuedDelivery(rule, "okDelivery1");
    const result = await consume("hrhis4-alerts", [{ id: "m", attempts: 1, body: { v: 1, delivery: "okDelivery1" } }]);
    expect(result).toMatchObject({ outcome: "ok", explicitAcks: ["m"], retryMessages: [] });
    expect(result.delays.size).toBe(0);
    expect((await deliveries(rule)).map((r) => r.state)).toEqual(["DELIVERED"]);
    expect(receiver.received[0].signatureProblem).toBeNull();
    expect(receiver.received[0].path).toBe("/hooks/T000/B000/XXXX?team=ops");
  });

  it("the dead-letter consumer marks the delivery DEAD_LETTER and keeps its last error", async () => {
    const rule = await createRule(webhookRule());
    await queuedDelivery(rule, "deadLetter1");
    await env.DB.prepare(`UPDATE alert_deliveries SET state = 'RETRYING', attempts = 11, last_status = 503, last_error = 'HTTP 503'`).run();
    const result = await consume("hrhis4-alerts-dlq", [{ id: "d", attempts: 1, body: { v: 1, delivery: "deadLetter1" } }]);
    expect(result.explicitAcks).toEqual(["d"]);
    expect((await deliveries(rule)).map((r) => [r.state, r.attempts, r.last_error])).toEqual([["DEAD_LETTER", 11, "HTTP 503"]]);
    expect(receiver.received).toEqual([]);
  });

  it("a dead letter of a delivery that did arrive after all leaves it DELIVERED", async () => {
    const rule = await createRule(webhookRule());
    await queuedDelivery(rule, "arrived0001");
    await env.DB.prepare(`UPDATE alert_deliveries SET state = 'DELIVERED'`).run();
    await consume("hrhis4-alerts-dlq", [{ id: "d", attempts: 1, body: { v: 1, delivery: "arrived0001" } }]);
    expect((await deliveries(rule)).map((r) => r.state)).toEqual(["DELIVERED"]);
  });

  it("malformed messages are acknowledged (never retried); a foreign queue's messages are left to the platform", async () => {
    const malformed = await consume("hrhis4-alerts", [
      { id: "a", attempts: 1, body: "text" },
      { id: "b", attempts: 1, body: { delivery: "../../etc" } },
      { id: "c", attempts: 1, body: null },
    ]);
    expect(malformed.explicitAcks.sort()).toEqual(["a", "b", "c"]);
    const foreign = await consume("someone-elses-queue", [{ id: "x", attempts: 1, body: { v: 1, delivery: "abcdefghijk" } }]);
    expect(foreign.retryBatch.retry).toBe(true);
    expect(receiver.received).toEqual([]);
  });

  it("a delivery whose rule changed its channel before delivery is DISCARDED, not sent to the new address", async () => {
    const rule = await createRule(webhookRule());
    await queuedDelivery(rule, "changedCh01");
    const put = await api(`/api/scheduler/alerts/${rule}`, {
      method: "PUT",
      body: webhookRule({ name: "moved", channel: { type: "WEBHOOK", url: `${RECEIVER}/elsewhere`, secret: `${SECRET}-new` } }),
    });
    expect(put.status).toBe(200);
    const result = await consume("hrhis4-alerts", [{ id: "m", attempts: 1, body: { v: 1, delivery: "changedCh01" } }]);
    expect(result.explicitAcks).toEqual(["m"]);
    expect((await deliveries(rule)).map((r) => [r.state, r.last_error])).toEqual([
      ["DISCARDED", "The rule's channel changed before delivery"],
    ]);
    expect(receiver.received).toEqual([]);
  });

  it("the same delivery twice in one batch is sent once; the other copy comes back and finds it made", async () => {
    const rule = await createRule(webhookRule());
    await queuedDelivery(rule, "twiceInOne1");
    const body = { v: 1, delivery: "twiceInOne1" };
    const result = await consume("hrhis4-alerts", [
      { id: "a", attempts: 1, body },
      { id: "b", attempts: 1, body },
    ]);
    expect(result.explicitAcks).toEqual(["a"]);
    expect(result.delays).toEqual(new Map([["b", 60]]));
    const again = await consume("hrhis4-alerts", [{ id: "b", attempts: 2, body }]);
    expect(again.explicitAcks).toEqual(["b"]);
    expect(receiver.received).toHaveLength(1);
    expect((await deliveries(rule)).map((r) => [r.state, r.attempts])).toEqual([["DELIVERED", 1]]);
  });

  it("an attempt in flight (lease held) is not sent twice: the second message comes back after the lease", async () => {
    const rule = await createRule(webhookRule());
    await queuedDelivery(rule, "inFlight001");
    await env.DB.prepare(`UPDATE alert_deliveries SET state = 'SENDING', attempts = 1, lease_until = ?`)
      .bind(T0 + 30_000)
      .run();
    const result = await consume("hrhis4-alerts", [{ id: "m", attempts: 1, body: { v: 1, delivery: "inFlight001" } }]);
    expect(result.retryMessages).toEqual([{ msgId: "m" }]);
    expect(result.delays).toEqual(new Map([["m", 30]]));
    expect(receiver.received).toEqual([]);
  });
});
