/**
 * The bridge's run logic, independent of the Workers runtime so tests can drive it:
 * - `handleBridgeRequest`: the HTTP surface (`POST /runs`, `POST /runs/{runId}/cancel`, `GET /health`),
 *   verifying the scheduler's signature before anything else;
 * - `BridgeRunner`: one run (one Durable Object in production): starts the DHIS2 task, polls it on
 *   alarms, relays new notifications as callbacks, then the item errors, the summary and the completion.
 *
 * Callbacks are delivered at least once: each is queued in the run's storage with its own nonce and
 * sent in order; one the scheduler did not answer (down, 5xx) is sent again, re-signed with the same
 * nonce, at the next alarm (the scheduler keeps a (run, nonce) once). A completion is retried until
 * the scheduler has it or the run's record expires.
 */
import {
  CallbackClient,
  HEADER_IDEMPOTENCY,
  MAX_ERRORS_PER_CALLBACK,
  MAX_SKEW_MS,
  ProtocolError,
  verifySignature,
  randomToken,
  type CallbackAck,
  type CallbackKind,
  type CompleteCallback,
  type ExecutorLevel,
  type FetchLike,
  type StartRequest,
  type StartResponse,
} from "../../src/executor/protocol";
import { Dhis2Client, Dhis2Error, startFor, type Dhis2Config, type Dhis2Notification } from "./dhis2";

/** What the runner needs from Durable Object storage (ctx.storage implements it). */
export interface RunStorage {
  get<T>(key: string): Promise<T | undefined>;
  put(key: string, value: unknown): Promise<void>;
  deleteAll(): Promise<void>;
  setAlarm(at: number): Promise<void>;
  deleteAlarm(): Promise<void>;
}

export interface BridgeDeps {
  secret: string;
  dhis2: Dhis2Config;
  /** Outbound requests to DHIS2. */
  dhis2Fetch: FetchLike;
  /** Outbound callbacks to the scheduler (a service binding, or global fetch). */
  callbackFetch: FetchLike;
  now(): number;
  pollIntervalMs: number;
}

interface RunState {
  phase: "RUNNING" | "FINISHED";
  start: StartRequest;
  taskType?: string;
  taskId?: string;
  createdJob?: boolean;
  seen: string[];
  failures: number;
  /** When the last callback went to the scheduler (heartbeats only fill silences). */
  lastSent?: number;
  result?: CompleteCallback;
  /** Callbacks not yet delivered, oldest first (each body carries its nonce). */
  outbox?: Outgoing[];
  /** When the run finished here (its record is kept TOMBSTONE_MS from then). */
  finishedAt?: number;
}

interface Outgoing {
  kind: CallbackKind;
  body: Record<string, unknown>;
}

/** What the scheduler's answers say of the run. */
type Delivery = "sent" | "later" | "cancelled" | "finished";

/** Consecutive failed DHIS2 polls before the run fails. */
export const MAX_POLL_FAILURES = 10;
/** A finished run's record (its result, for idempotent starts) is kept this long. */
export const TOMBSTONE_MS = 15 * 60 * 1000;
/** Undelivered callbacks kept at most (the oldest messages go first; a completion always stays). */
export const MAX_OUTBOX = 500;

export class BridgeRunner {
  constructor(
    private readonly storage: RunStorage,
    private readonly deps: BridgeDeps,
  ) {}

  private dhis2(): Dhis2Client {
    return new Dhis2Client(this.deps.dhis2, this.deps.dhis2Fetch);
  }

  private callbacks(start: StartRequest): CallbackClient {
    return new CallbackClient(this.deps.secret, start.callback.url, start.callback.token, this.deps.callbackFetch, () => this.deps.now());
  }

  /** Records a request signature; false when it was seen before (a replay). */
  private async accept(signature: string, expires: number): Promise<boolean> {
    const now = this.deps.now();
    const sigs = ((await this.storage.get<[string, number][]>("signatures")) ?? []).filter(([, exp]) => exp > now);
    if (sigs.some(([sig]) => sig === signature)) return false;
    sigs.push([signature, expires]);
    await this.storage.put("signatures", sigs);
    return true;
  }

  async start(
    req: StartRequest,
    signature: string,
    expires: number,
  ): Promise<{ status: number; body: StartResponse | { message: string } }> {
    if (!(await this.accept(signature, expires))) return { status: 409, body: { message: "Replayed request refused" } };
    const existing = await this.storage.get<RunState>("run");
    if (existing) {
      // Idempotent: the same run is never started twice.
      if (existing.phase === "FINISHED" && existing.result) return { status: 200, body: { status: "done", ...existing.result } };
      return { status: 202, body: { status: "accepted" } };
    }
    const plan = startFor(req.jobType, req.parameters, this.deps.now());
    let task: { taskType: string; taskId: string; createdJob: boolean };
    try {
      task = await this.dhis2().start(plan, req.runId);
    } catch (err) {
      const e = err instanceof Dhis2Error ? err : new Dhis2Error(String(err), true);
      // Unreachable DHIS2: 502 so the scheduler retries with backoff; a refusal ends the run.
      if (e.transient) return { status: 502, body: { message: e.message } };
      const result: CompleteCallback = { outcome: "FAILED", message: e.message };
      await this.storage.put("run", { phase: "FINISHED", start: req, seen: [], failures: 0, result } satisfies RunState);
      await this.storage.setAlarm(this.deps.now() + TOMBSTONE_MS);
      return { status: 200, body: { status: "done", ...result } };
    }
    const state: RunState = { phase: "RUNNING", start: req, ...task, seen: [], failures: 0, lastSent: this.deps.now() };
    await this.storage.put("run", state);
    await this.storage.setAlarm(this.deps.now() + this.deps.pollIntervalMs);
    return { status: 202, body: { status: "accepted" } };
  }

  async cancel(signature: string, expires: number): Promise<{ status: number; body: unknown }> {
    const state = await this.storage.get<RunState>("run");
    if (!state) return { status: 404, body: { message: "Unknown run" } };
    if (!(await this.accept(signature, expires))) return { status: 409, body: { message: "Replayed request refused" } };
    if (state.phase === "FINISHED") return { status: 200, body: { status: "finished" } };
    await this.stop(state, "Job cancelled");
    return { status: 202, body: { status: "cancelled" } };
  }

  private async stop(state: RunState, message: string): Promise<void> {
    if (state.taskId) {
      try {
        await this.dhis2().cancel(state.taskId);
      } catch {
        // The DHIS2 job may already be over.
      }
    }
    await this.finish(state, { outcome: "STOPPED", message });
  }

  private async finish(state: RunState, result: CompleteCallback): Promise<void> {
    state.phase = "FINISHED";
    state.result = result;
    state.finishedAt = this.deps.now();
    this.enqueue(state, "complete", { ...result });
    await this.storage.put("run", state);
    await this.flush(state);
    await this.storage.put("run", state);
    if (state.createdJob && state.taskId) {
      try {
        await this.dhis2().deleteJob(state.taskId);
      } catch {
        // DHIS2 removes finished run-once jobs itself after a while.
      }
    }
    await this.armFinished(state);
  }

  /** A finished run's next alarm: its undelivered completion sent again, else the end of its record. */
  private async armFinished(state: RunState): Promise<void> {
    const now = this.deps.now();
    await this.storage.setAlarm(state.outbox?.length ? now + this.deps.pollIntervalMs : (state.finishedAt ?? now) + TOMBSTONE_MS);
  }

  /** Queues a callback; its nonce stays the same for every attempt. */
  private enqueue(state: RunState, kind: CallbackKind, payload: Record<string, unknown>): void {
    state.outbox ??= [];
    const outbox = state.outbox;
    outbox.push({ kind, body: { ...payload, nonce: randomToken().slice(0, 16) } });
    while (outbox.length > MAX_OUTBOX) {
      const drop = outbox.findIndex((o) => o.kind !== "complete");
      if (drop < 0) break;
      outbox.splice(drop, 1);
    }
  }

  /**
   * Sends the queued callbacks in order, stopping at the first the scheduler did not take (no answer,
   * 408, 429 or 5xx: "later", the next alarm sends it again). A callback refused for good (400, 401)
   * is dropped. "cancelled" / "finished": the scheduler's answers say the run is to stop or is over.
   */
  private async flush(state: RunState): Promise<Delivery> {
    const cb = this.callbacks(state.start);
    state.outbox ??= [];
    const outbox = state.outbox;
    while (outbox.length) {
      const next = outbox[0];
      const res = await safePost(() => cb.post(next.kind, next.body));
      if (!res || res.status === 408 || res.status === 429 || res.status >= 500) return "later";
      outbox.shift();
      state.lastSent = this.deps.now();
      if (res.status === 409) {
        // The scheduler already finished the run (timeout, cancel, or this completion arrived before).
        if (state.phase === "RUNNING") {
          outbox.length = 0;
          return "finished";
        }
        continue;
      }
      if (!res.ok) continue;
      const body = (await res.json().catch(() => null)) as CallbackAck | null;
      if (body?.state === "CANCELLING" && state.phase === "RUNNING") return "cancelled";
    }
    return "sent";
  }

  /** One polling round (the Durable Object alarm). */
  async poll(): Promise<void> {
    const state = await this.storage.get<RunState>("run");
    if (!state) return;
    if (state.phase === "FINISHED") {
      const now = this.deps.now();
      const expires = (state.finishedAt ?? now) + TOMBSTONE_MS;
      if (!state.outbox?.length || now >= expires) {
        await this.storage.deleteAll();
        return;
      }
      // The scheduler did not have the completion yet: send it again.
      await this.flush(state);
      await this.storage.put("run", state);
      await this.armFinished(state);
      return;
    }
    let list: Dhis2Notification[];
    try {
      list = await this.dhis2().tasks(state.taskType!, state.taskId!);
      state.failures = 0;
    } catch (err) {
      state.failures++;
      const message = err instanceof Error ? err.message : String(err);
      if (state.failures >= MAX_POLL_FAILURES) {
        await this.finish(state, { outcome: "FAILED", message: `Lost the DHIS2 task after ${state.failures} failed polls: ${message}` });
        return;
      }
      await this.pollLater(state, false);
      return;
    }
    // Oldest first; skip what was relayed already and the PARAMETERS opener.
    const fresh = [...list].reverse().filter((n) => !state.seen.includes(key(n)));
    const newest = list[0];
    const done = newest?.completed === true;
    let relayed = 0;
    for (const n of fresh) {
      state.seen.push(key(n));
      if (done && n === newest) continue;
      if (n.dataType === "PARAMETERS" || !n.message) continue;
      const level = (["DEBUG", "INFO", "WARN", "ERROR", "LOOP"].includes(n.level ?? "") ? n.level : "INFO") as ExecutorLevel;
      if (level === "LOOP") this.enqueue(state, "items", { message: n.message });
      else this.enqueue(state, "messages", { level, message: n.message });
      relayed++;
    }
    if (state.seen.length > 2000) state.seen = state.seen.slice(-1000);
    if (done) {
      let summary: unknown;
      try {
        summary = await this.dhis2().summary(state.taskType!, state.taskId!);
      } catch {
        summary = undefined;
      }
      // DHIS2's item errors of the run (2.41+), before the completion: the scheduler keeps them with the run.
      const errors = await this.dhis2().runErrors(state.taskId!);
      for (let i = 0; i < errors.length; i += MAX_ERRORS_PER_CALLBACK) {
        this.enqueue(state, "errors", { errors: errors.slice(i, i + MAX_ERRORS_PER_CALLBACK) });
      }
      const failed = newest.level === "ERROR";
      const result: CompleteCallback = {
        outcome: failed ? "FAILED" : "COMPLETED",
        message: newest.message || (failed ? "DHIS2 job failed" : "DHIS2 job completed"),
      };
      if (summary !== undefined) result.summary = summary;
      await this.finish(state, result);
      return;
    }
    await this.pollLater(state, relayed > 0);
  }

  /**
   * Delivers the queued callbacks — or, when there were none to send (`relayed` false) and one is due,
   * a heartbeat — saves the run and arms the next poll (none when the scheduler's answers end the run).
   */
  private async pollLater(state: RunState, relayed: boolean): Promise<void> {
    await this.storage.put("run", state);
    let delivery = await this.flush(state);
    if (delivery === "sent" && !relayed && this.heartbeatDue(state)) {
      this.enqueue(state, "heartbeat", {});
      delivery = await this.flush(state);
      // A heartbeat carries nothing: one the scheduler did not take is not sent again.
      if (state.outbox?.at(-1)?.kind === "heartbeat") state.outbox.pop();
    }
    if (delivery === "cancelled") return this.stop(state, "Job cancelled");
    if (delivery === "finished") return this.stop(state, "Run finished by the scheduler");
    await this.storage.put("run", state);
    await this.storage.setAlarm(this.deps.now() + this.deps.pollIntervalMs);
  }

  /** A heartbeat is due when nothing was sent for half the scheduler's heartbeat period. */
  private heartbeatDue(state: RunState): boolean {
    const period = Math.max(1, state.start.heartbeatSeconds || 30) * 1000;
    return state.lastSent === undefined || this.deps.now() - state.lastSent >= period / 2;
  }
}

function key(n: Dhis2Notification): string {
  return n.uid ?? n.id ?? `${n.time}|${n.level}|${n.message}`;
}

async function safePost(fn: () => Promise<Response>): Promise<Response | null> {
  try {
    return await fn();
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------

/** Where runs live: Durable Objects in production, memory in tests. */
export interface RunHost {
  start(runId: string, req: StartRequest, signature: string, expires: number): Promise<{ status: number; body: unknown }>;
  cancel(runId: string, signature: string, expires: number): Promise<{ status: number; body: unknown }>;
}

function json(body: unknown, status: number): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

const RUN_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** Largest accepted request (a start carries job parameters only). */
export const MAX_REQUEST_BYTES = 1024 * 1024;

export async function handleBridgeRequest(req: Request, deps: Pick<BridgeDeps, "secret" | "now">, host: RunHost): Promise<Response> {
  const url = new URL(req.url);
  if (req.method === "GET" && url.pathname === "/health") return json({ status: "ok" }, 200);
  const cancelMatch = /^\/runs\/([^/]+)\/cancel$/.exec(url.pathname);
  if (url.pathname !== "/runs" && !cancelMatch) return json({ message: "Not found" }, 404);
  if (req.method !== "POST") return json({ message: "Method not allowed" }, 405);
  const declared = Number(req.headers.get("Content-Length"));
  if (Number.isFinite(declared) && declared > MAX_REQUEST_BYTES) return json({ message: "Request body too large" }, 413);
  const body = await req.text();
  if (body.length > MAX_REQUEST_BYTES) return json({ message: "Request body too large" }, 413);
  const now = deps.now();
  try {
    const sig = await verifySignature(deps.secret, req, body, now);
    if (!sig.ok) throw new ProtocolError(401, sig.message, sig.reason);
    const expires = sig.timestamp + MAX_SKEW_MS;
    if (cancelMatch) {
      const runId = decodeURIComponent(cancelMatch[1]);
      if (!RUN_ID.test(runId)) return json({ message: "Invalid run id" }, 400);
      const r = await host.cancel(runId, sig.signature, expires);
      return json(r.body, r.status);
    }
    let start: StartRequest;
    try {
      start = JSON.parse(body) as StartRequest;
    } catch {
      return json({ message: "Malformed JSON" }, 400);
    }
    if (
      !start ||
      typeof start !== "object" ||
      !RUN_ID.test(String(start.runId)) ||
      typeof start.jobType !== "string" ||
      !start.callback?.url ||
      !start.callback?.token
    ) {
      return json({ message: "Invalid start request" }, 400);
    }
    const idem = req.headers.get(HEADER_IDEMPOTENCY);
    if (idem !== null && idem !== start.runId) return json({ message: "Idempotency-Key must equal runId" }, 400);
    const r = await host.start(start.runId, start, sig.signature, expires);
    return json(r.body, r.status);
  } catch (err) {
    if (err instanceof ProtocolError) return json({ message: err.message }, err.status);
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------

/** In-memory storage with a manual alarm (tests, and `MemoryRunHost`). */
export class MemoryRunStorage implements RunStorage {
  readonly data = new Map<string, unknown>();
  alarm: number | null = null;
  async get<T>(key: string): Promise<T | undefined> {
    const v = this.data.get(key);
    return v === undefined ? undefined : (structuredClone(v) as T);
  }
  async put(key: string, value: unknown): Promise<void> {
    this.data.set(key, structuredClone(value));
  }
  async deleteAll(): Promise<void> {
    this.data.clear();
    this.alarm = null;
  }
  async setAlarm(at: number): Promise<void> {
    this.alarm = at;
  }
  async deleteAlarm(): Promise<void> {
    this.alarm = null;
  }
}

/** Runs kept in memory, alarms fired by `runDueAlarms` (tests drive the clock). */
export class MemoryRunHost implements RunHost {
  readonly runs = new Map<string, MemoryRunStorage>();
  constructor(private readonly deps: BridgeDeps) {}
  private runner(runId: string): BridgeRunner {
    let s = this.runs.get(runId);
    if (!s) {
      s = new MemoryRunStorage();
      this.runs.set(runId, s);
    }
    return new BridgeRunner(s, this.deps);
  }
  start(runId: string, req: StartRequest, signature: string, expires: number) {
    return this.runner(runId).start(req, signature, expires);
  }
  cancel(runId: string, signature: string, expires: number) {
    if (!this.runs.has(runId)) return Promise.resolve({ status: 404, body: { message: "Unknown run" } });
    return this.runner(runId).cancel(signature, expires);
  }
  /** Fires every alarm due at `now`; returns how many fired. */
  async runDueAlarms(now: number): Promise<number> {
    let fired = 0;
    for (const [runId, s] of this.runs) {
      if (s.alarm !== null && s.alarm <= now) {
        s.alarm = null;
        fired++;
        await this.runner(runId).poll();
      }
    }
    return fired;
  }
}
