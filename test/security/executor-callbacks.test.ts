/**
 * Hostile executor callbacks (issue #8). The callback routes are public but signed: HMAC-SHA-256
 * over method, path, timestamp and body with the shared secret, plus the run's bearer token. The
 * test Worker has no EXECUTOR_SECRET, so the app is called with one (`fetchWith`), a run is created
 * in D1, and fast-check sends callbacks that are correctly signed and authenticated but hostile in
 * content type and body, and others that are broken in signature, timestamp, token or run id.
 * Invariants: 2xx or a 4xx WebMessage, never a 5xx; a refused callback stores no event.
 */
import { env } from "cloudflare:test";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { HEADER_SIGNATURE, HEADER_TIMESTAMP, computeSignature, signedPath } from "../../src/executor/protocol";
import { createExecutorRun } from "../../src/executor/store";
import { fetchWith } from "../reliability/support";
import { BASE } from "../helpers";
import { violation } from "./support";

const SECRET = "reliability-executor-secret";
const SEED = 0xca11bac;
const RUN_ID = "relRun0001";
const TOKEN = "reliability-run-token-0123456789abcdef";
const KINDS = ["messages", "items", "heartbeat", "summary", "complete", "errors"] as const;

interface Callback {
  kind: string;
  runId: string;
  body: string;
  contentType: string | null;
  signature: "valid" | "missing" | "malformed" | "wrong" | "stale";
  token: "valid" | "missing" | "wrong";
  label: string;
}

const bodyText = fc.oneof(
  fc.constantFrom(
    "",
    "{",
    "not json",
    "null",
    "[]",
    "42",
    '"x"',
    "{}",
    '{"message":"hi"}',
    '{"level":"LOOP","message":"x"}',
    '{"level":"NOPE","message":"x"}',
    `{"message":"${"m".repeat(20_000)}"}`,
    '{"index":-1,"total":"x"}',
    '{"summary":{"__proto__":{"polluted":true}}}',
    `{"outcome":"COMPLETED","errorCodes":${JSON.stringify(Array.from({ length: 50 }, () => "E1"))}}`,
    '{"outcome":"EXPLODED"}',
    '{"outcome":"FAILED","message":null}',
    `{"a":${"[".repeat(3000)}${"]".repeat(3000)}}`,
    '{"errors":[{"code":"E4000","id":"Rp268JB6Ne4","type":"OrganisationUnit","args":["openingDate"]}]}',
    '{"errors":[]}',
    '{"errors":[{"code":"E 4000","type":"x"}]}',
    '{"errors":[{"code":"E4000","type":"","args":"x"}]}',
    `{"errors":${JSON.stringify(Array.from({ length: 101 }, () => ({ code: "E1", type: "T" })))}}`,
    `{"errors":[{"code":"E1","type":"T","args":${JSON.stringify(Array.from({ length: 17 }, () => "a"))}}]}`,
    `{"errors":[{"code":"E1","type":"T","id":"${"i".repeat(129)}","message":"${"m".repeat(2001)}"}]}`,
    '{"errors":[{"code":"__proto__","type":"constructor","id":"__proto__","args":["\u0000"]}]}',
  ),
  fc.json({ maxDepth: 3 }),
  fc.string({ maxLength: 40 }),
);

const callback: fc.Arbitrary<Callback> = fc
  .record({
    kind: fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom<string>(...KINDS) },
      { weight: 1, arbitrary: fc.constantFrom("unknown", "complete/x", "..") },
    ),
    runId: fc.oneof(
      { weight: 5, arbitrary: fc.constant(RUN_ID) },
      { weight: 1, arbitrary: fc.constantFrom("nope", "x".repeat(65), "bad%20id", "relRun0002") },
    ),
    body: bodyText,
    contentType: fc.constantFrom<string | null>(
      "application/json",
      "application/json",
      "text/plain",
      "application/x-www-form-urlencoded",
      null,
      "application/json; charset=latin1",
    ),
    signature: fc.constantFrom<Callback["signature"]>("valid", "valid", "valid", "missing", "malformed", "wrong", "stale"),
    token: fc.constantFrom<Callback["token"]>("valid", "valid", "valid", "missing", "wrong"),
  })
  .map((c) => {
    const cb = {
      ...c,
      label: `${c.kind} run=${c.runId} sig=${c.signature} token=${c.token} type=${c.contentType} body=${c.body.slice(0, 120)}`,
    };
    Object.defineProperty(cb, fc.toStringMethod, { value: () => cb.label });
    return cb;
  });

async function send(c: Callback): Promise<Response> {
  const path = `/api/executor/runs/${c.runId}/${c.kind}`;
  const now = Date.now();
  const ts = String(c.signature === "stale" ? now - 10 * 60_000 : now);
  const headers: Record<string, string> = {};
  if (c.contentType) headers["Content-Type"] = c.contentType;
  if (c.token === "valid") headers.Authorization = `Bearer ${TOKEN}`;
  if (c.token === "wrong") headers.Authorization = `Bearer ${TOKEN}x`;
  // A nonce in the query keeps identical callbacks from being refused as replays.
  const target = `${path}?n=${crypto.randomUUID()}`;
  if (c.signature !== "missing") {
    headers[HEADER_TIMESTAMP] = ts;
    const sig = await computeSignature(c.signature === "wrong" ? `${SECRET}!` : SECRET, "POST", signedPath(BASE + target), ts, c.body);
    headers[HEADER_SIGNATURE] = c.signature === "malformed" ? sig.slice(0, 20) : sig;
  }
  return fetchWith({ EXECUTOR_SECRET: SECRET } as never, "POST", target, { auth: null, headers, body: c.body === "" ? undefined : c.body });
}

async function events(): Promise<number> {
  return (await env.DB.prepare(`SELECT COUNT(*) AS n FROM executor_events`).first<{ n: number }>())!.n;
}

describe(`hostile executor callbacks (seed ${SEED})`, () => {
  beforeAll(async () => {
    await createExecutorRun(env.DB, { runId: RUN_ID, jobId: "KBcP6Qw37gT", jobType: "TEST", token: TOKEN, now: Date.now() });
  });

  it("a correctly signed heartbeat is accepted (the harness signs like an executor)", async () => {
    const res = await send({
      kind: "heartbeat",
      runId: RUN_ID,
      body: "{}",
      contentType: "application/json",
      signature: "valid",
      token: "valid",
      label: "",
    });
    expect(res.status, await res.clone().text()).toBe(200);
  });

  it("signed and unsigned, well and badly formed callbacks: never a 5xx, a refused one stores nothing", async () => {
    const out = await fc.check(
      fc.asyncProperty(callback, async (c) => {
        // Keep the run open: a valid `complete` would otherwise end it for every later case.
        await env.DB.prepare(`UPDATE executor_runs SET state = 'RUNNING', finished = NULL, expires = ? WHERE run_id = ?`)
          .bind(Date.now() + 3_600_000, RUN_ID)
          .run();
        const before = await events();
        const res = await send(c);
        const status = res.status;
        const problem = await violation(res, "POST");
        if (problem) throw new Error(`${problem}\n  case: ${c.label}`);
        if (status >= 400 && (await events()) !== before)
          throw new Error(`refused callback (${status}) stored an event\n  case: ${c.label}`);
        if (c.signature !== "valid" || c.token !== "valid") expect(status, c.label).toBeGreaterThanOrEqual(400);
      }),
      { seed: SEED, numRuns: 200, endOnFailure: true, interruptAfterTimeLimit: 10_000, markInterruptAsFailure: false },
    );
    if (out.failed) throw new Error(fc.defaultReportMessage(out) ?? "property failed");
    console.log(`executor callbacks, seed ${SEED}: ${out.numRuns} cases`);
    expect(({} as any).polluted).toBeUndefined();
  });
});
