/**
 * Alert test helpers: a stub webhook receiver behind the global `fetch` (the Worker's queue consumer
 * runs in this isolate, so its requests reach the stub) that checks every signature the way a
 * receiver following docs/EXECUTOR.md would; rules through the API; waiting for the real queue.
 */
import { env } from "cloudflare:test";
import { vi } from "vitest";
import { HEADER_SIGNATURE, HEADER_TIMESTAMP, verifySignature } from "../../src/executor/protocol";
import { clock } from "../../src/http/clock";
import { api, json } from "../helpers";

export const RECEIVER = "https://receiver.test";
export const SECRET = "alert-secret-0123456789";

export interface Received {
  path: string;
  headers: Headers;
  body: Record<string, unknown> & { id: string; alert: string; text: string };
  /** The signature checked with SECRET at the receiver's clock: null = valid, else why not. */
  signatureProblem: string | null;
}

export interface StubReceiver {
  received: Received[];
  /** Statuses to answer, in order; once used up, 200. */
  answers: number[];
  /** Requests to hosts other than the receiver (none expected). */
  stray: string[];
  restore(): void;
}

/** Replaces the global `fetch` with the receiver for RECEIVER; other hosts fail. */
export function stubReceiver(secret = SECRET): StubReceiver {
  const stub: StubReceiver = { received: [], answers: [], stray: [], restore: () => spy.mockRestore() };
  const spy = vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(input, init);
    const url = new URL(req.url);
    if (url.origin !== RECEIVER) {
      stub.stray.push(req.url);
      throw new TypeError("Network connection lost.");
    }
    const text = await req.text();
    const check = await verifySignature(secret, req, text, clock.now());
    stub.received.push({
      path: url.pathname + url.search,
      headers: new Headers([...req.headers]),
      body: JSON.parse(text),
      signatureProblem: check.ok ? null : check.message,
    });
    const status = stub.answers.shift() ?? 200;
    return new Response(status === 200 ? "ok" : "receiver says no", { status });
  });
  return stub;
}

export function webhookRule(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: `rule ${crypto.randomUUID().slice(0, 8)}`,
    scope: "ALL_JOBS",
    conditions: { failed: true, recovered: true },
    channel: { type: "WEBHOOK", url: `${RECEIVER}/hooks/T000/B000/XXXX?team=ops`, secret: SECRET },
    ...extra,
  };
}

/** Creates a rule as admin; returns its UID. */
export async function createRule(body: Record<string, unknown>): Promise<string> {
  const res = await api("/api/scheduler/alerts", { method: "POST", body });
  const msg = await json(res);
  if (res.status !== 201) throw new Error(`rule not created: ${res.status} ${JSON.stringify(msg)}`);
  return msg.response.uid;
}

export interface DeliveryRowView {
  uid: string;
  rule_uid: string;
  job_uid: string;
  event_id: string;
  alert: string;
  state: string;
  attempts: number;
  last_status: number | null;
  last_error: string | null;
  next_attempt: number | null;
}

export async function deliveries(ruleUid?: string): Promise<DeliveryRowView[]> {
  const q = ruleUid
    ? env.DB.prepare(`SELECT * FROM alert_deliveries WHERE rule_uid = ? ORDER BY created, uid`).bind(ruleUid)
    : env.DB.prepare(`SELECT * FROM alert_deliveries ORDER BY created, uid`);
  return (await q.all<DeliveryRowView>()).results;
}

const FINAL = ["DELIVERED", "FAILED", "DEAD_LETTER", "DISCARDED"];

/**
 * Waits until every delivery is in a final state (the real queue delivers them in the background).
 * Not a timed assertion: the deadline only keeps a broken pipeline from hanging the test.
 */
export async function settled(expected: number, ms = 25_000): Promise<DeliveryRowView[]> {
  const end = Date.now() + ms;
  for (;;) {
    const rows = await deliveries();
    if (rows.length >= expected && rows.every((r) => FINAL.includes(r.state))) return rows;
    if (Date.now() > end) throw new Error(`deliveries not settled: ${JSON.stringify(rows.map((r) => [r.alert, r.state, r.attempts]))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function clearAlerts(): Promise<void> {
  await env.DB.batch([
    env.DB.prepare(`DELETE FROM alert_rules`),
    env.DB.prepare(`DELETE FROM alert_rule_targets`),
    env.DB.prepare(`DELETE FROM alert_episodes`),
    env.DB.prepare(`DELETE FROM alert_deliveries`),
  ]);
}

export { HEADER_SIGNATURE, HEADER_TIMESTAMP };
