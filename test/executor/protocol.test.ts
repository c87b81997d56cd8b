import { describe, expect, it } from "vitest";
import {
  HEADER_SIGNATURE,
  HEADER_TIMESTAMP,
  MAX_SKEW_MS,
  MemoryReplayCache,
  ProtocolError,
  canonicalString,
  computeSignature,
  signedRequest,
  verifyIncoming,
  verifySignature,
} from "../../src/executor/protocol";
import { readExecutorConfig } from "../../src/executor/config";

const SECRET = "s3cret-s3cret-s3cret";
const T = Date.UTC(2026, 10, 29, 10, 0, 0);

describe("executor protocol signing", () => {
  it("signs method, path with query, timestamp and body hash", async () => {
    const canon = await canonicalString("post", "/runs?x=1", "1700000000000", "{}");
    expect(canon).toBe(
      "HRHIS4-HMAC-SHA256\nPOST\n/runs?x=1\n1700000000000\n44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
    );
    const sig = await computeSignature(SECRET, "POST", "/runs?x=1", "1700000000000", "{}");
    expect(sig).toMatch(/^v1=[0-9a-f]{64}$/);
    expect(await computeSignature(SECRET, "POST", "/runs?x=1", "1700000000000", "{}")).toBe(sig);
    expect(await computeSignature(SECRET, "POST", "/runs?x=2", "1700000000000", "{}")).not.toBe(sig);
    expect(await computeSignature(`${SECRET}x`, "POST", "/runs?x=1", "1700000000000", "{}")).not.toBe(sig);
  });

  it("verifies a signed request and refuses tampering, staleness and missing headers", async () => {
    const req = await signedRequest(SECRET, "POST", "https://ex.example/runs", { a: 1 }, T);
    expect(req.headers.get(HEADER_TIMESTAMP)).toBe(String(T));
    const body = await req.clone().text();
    expect(await verifySignature(SECRET, req, body, T + 1000)).toMatchObject({ ok: true, timestamp: T });
    expect(await verifySignature(SECRET, req, '{"a":2}', T)).toMatchObject({ ok: false, reason: "mismatch" });
    expect(await verifySignature("other-secret-xxxxxx", req, body, T)).toMatchObject({ ok: false, reason: "mismatch" });
    expect(await verifySignature(SECRET, req, body, T + MAX_SKEW_MS + 1)).toMatchObject({ ok: false, reason: "stale" });
    expect(await verifySignature(SECRET, req, body, T - MAX_SKEW_MS - 1)).toMatchObject({ ok: false, reason: "stale" });
    const bare = new Request("https://ex.example/runs", { method: "POST", body });
    expect(await verifySignature(SECRET, bare, body, T)).toMatchObject({ ok: false, reason: "missing" });
    const bad = new Request("https://ex.example/runs", {
      method: "POST",
      body,
      headers: { [HEADER_TIMESTAMP]: "abc", [HEADER_SIGNATURE]: "v1=zz" },
    });
    expect(await verifySignature(SECRET, bad, body, T)).toMatchObject({ ok: false, reason: "malformed" });
    // Same signature on another path does not verify.
    const moved = new Request("https://ex.example/runs/x/cancel", { method: "POST", body, headers: req.headers });
    expect(await verifySignature(SECRET, moved, body, T)).toMatchObject({ ok: false, reason: "mismatch" });
  });

  it("refuses a replayed request", async () => {
    const cache = new MemoryReplayCache();
    const req = await signedRequest(SECRET, "POST", "https://ex.example/runs", { a: 1 }, T);
    expect(await verifyIncoming(SECRET, req.clone(), cache, T)).toBe('{"a":1}');
    await expect(verifyIncoming(SECRET, req.clone(), cache, T + 10)).rejects.toMatchObject({ status: 409, reason: "replay" });
    await expect(verifyIncoming(SECRET, req.clone(), cache, T + MAX_SKEW_MS + 10)).rejects.toBeInstanceOf(ProtocolError);
  });
});

describe("executor configuration", () => {
  it("names what is missing", () => {
    expect(readExecutorConfig({})).toMatchObject({
      ok: false,
      missing: ["EXECUTOR_URL", "EXECUTOR_SECRET"],
      message: "no executor configured (EXECUTOR_URL/EXECUTOR_SECRET)",
    });
    expect(readExecutorConfig({ EXECUTOR_URL: "https://x.example" })).toMatchObject({
      ok: false,
      missing: ["EXECUTOR_SECRET", "EXECUTOR_CALLBACK_URL"],
    });
    expect(
      readExecutorConfig({ EXECUTOR_URL: "http://x.example", EXECUTOR_SECRET: SECRET, EXECUTOR_CALLBACK_URL: "https://me.example" }),
    ).toMatchObject({
      ok: false,
      message: "EXECUTOR_URL must use https",
    });
    const ok = readExecutorConfig({
      EXECUTOR_URL: "https://x.example/exec/",
      EXECUTOR_SECRET: SECRET,
      EXECUTOR_CALLBACK_URL: "https://me.example/api",
    });
    expect(ok).toMatchObject({
      ok: true,
      config: { baseUrl: "https://x.example/exec", callbackBase: "https://me.example", heartbeatTimeoutMs: 120000, startAttempts: 5 },
    });
    const local = readExecutorConfig({
      EXECUTOR_URL: "http://localhost:8788",
      EXECUTOR_SECRET: SECRET,
      EXECUTOR_CALLBACK_URL: "http://localhost:8787",
    });
    expect(local.ok).toBe(true);
    const bound = readExecutorConfig({ EXECUTOR: { fetch: async () => new Response() }, EXECUTOR_SECRET: SECRET });
    expect(bound).toMatchObject({
      ok: true,
      config: { baseUrl: "https://executor.internal", callbackBase: "https://hrhis4-edge.internal" },
    });
  });
});

describe("executor callbacks in the OpenAPI document", () => {
  it("lists the five callback routes under the executor tag", async () => {
    const { app } = await import("../../src/app");
    const doc = app.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "t", version: "1" } }) as any;
    for (const kind of ["messages", "items", "heartbeat", "summary", "complete"]) {
      const op = doc.paths[`/api/executor/runs/{runId}/${kind}`]?.post;
      expect(op, kind).toBeDefined();
      expect(op.tags).toEqual(["executor"]);
      expect(Object.keys(op.responses).sort()).toEqual(["200", "400", "401", "404", "409"]);
    }
  });
});

describe("executor run records", () => {
  it("a new run of a job closes a run of that job left behind", async () => {
    const { env } = await import("cloudflare:test");
    const { createExecutorRun, findExecutorRun, purgeExpired, D1ReplayCache, FINISHED_GRACE_MS } = await import("../../src/executor/store");
    await createExecutorRun(env.DB, { runId: "orphan00001", jobId: "jobOrphan01", jobType: "RESOURCE_TABLE", token: "t1", now: T });
    await createExecutorRun(env.DB, { runId: "fresh000001", jobId: "jobOrphan01", jobType: "RESOURCE_TABLE", token: "t2", now: T + 1000 });
    expect(await findExecutorRun(env.DB, "orphan00001")).toMatchObject({
      state: "FINISHED",
      finished: T + 1000,
      expires: T + 1000 + FINISHED_GRACE_MS,
    });
    expect(await findExecutorRun(env.DB, "fresh000001")).toMatchObject({ state: "STARTING", last_heard: T + 1000 });
    // The replay cache accepts a signature once until it expires, and purging drops expired rows.
    const cache = new D1ReplayCache(env.DB);
    expect(await cache.remember("v1=aa", T + 10, T)).toBe(true);
    expect(await cache.remember("v1=aa", T + 10, T + 5)).toBe(false);
    expect(await cache.remember("v1=aa", T + 30, T + 20)).toBe(true);
    await purgeExpired(env.DB, T + 1000 + FINISHED_GRACE_MS + 1);
    expect(await findExecutorRun(env.DB, "orphan00001")).toBeNull();
    expect(await env.DB.prepare(`SELECT COUNT(*) AS n FROM executor_replay`).first<{ n: number }>()).toEqual({ n: 0 });
  });
});

describe("callback request limits", () => {
  it("refuses a body over MAX_BODY_BYTES before checking anything else", async () => {
    const { env, createExecutionContext } = await import("cloudflare:test");
    const { app } = await import("../../src/app");
    const big = JSON.stringify({ message: "x".repeat(2000) });
    const req = await signedRequest(SECRET, "POST", "https://edge.example.org/api/executor/runs/runBig00001/messages", JSON.parse(big), T);
    const res = await app.fetch(req, { ...env, EXECUTOR_SECRET: SECRET, MAX_BODY_BYTES: "1000" }, createExecutionContext());
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ httpStatusCode: 413, message: "Request body exceeds the limit of 1000 bytes." });
  });
});
