/**
 * `executorHandler(jobType)`: runs a job on the configured external executor (docs/EXECUTOR.md).
 *
 * 1. Unconfigured deployment → the run fails at once: `JobRunError` with errorCodes ["E7010"] and
 *    the message "Failed to validate job runtime: no executor configured (EXECUTOR_URL/EXECUTOR_SECRET)".
 * 2. Otherwise a per-run callback token is created (stored hashed in D1) and the signed start
 *    request is sent, retried with exponential backoff on network errors, 408, 429 and 5xx; every
 *    attempt carries `Idempotency-Key: <runId>` so the executor never starts an occurrence twice.
 * 3. "done" ends the run at once; "accepted" makes the handler drain the run's callbacks from D1 (in
 *    order) into notifications until `complete`, failing the run when the executor stays silent
 *    longer than the heartbeat timeout. A cancel (abort signal) is forwarded to the executor.
 */
import type { NotificationLevel } from "../tasks/types";
import { readExecutorConfig, type ExecutorConfig, type ExecutorEnv } from "./config";
import {
  HEADER_IDEMPOTENCY,
  PROTOCOL_VERSION,
  isoUtc,
  randomToken,
  signedRequest,
  type CompleteCallback,
  type ExecutorLevel,
  type ItemCallback,
  type MessageCallback,
  type StartRequest,
  type StartResponse,
} from "./protocol";
import { createExecutorRun, eventsAfter, purgeExpired, setRunState } from "./store";

/**
 * What a run handler gets (the scheduler adapts its own run context to this shape): the run's
 * identity as the start request carries it, plus the scheduler's hooks.
 */
export interface ExecutorRunContext extends Pick<StartRequest, "runId" | "jobId" | "jobType" | "jobName" | "parameters" | "user"> {
  env: { DB: D1Database } & ExecutorEnv;
  /** The occurrence (epoch ms) this run belongs to; defaults to the start instant. */
  scheduledAt?: number;
  /** A progress message for the run's task notifications. */
  notify(level: NotificationLevel, message: string): void | Promise<void>;
  /**
   * The scheduler's progress API, when the run has one: executor INFO/WARN/ERROR messages then go
   * through it, as in-worker handlers' do (items go to `notify` as LOOP messages).
   */
  progress?: {
    info(message: string): void;
    warn(message: string): void;
    error(message: string): void;
  };
  /** Aborted when the run is cancelled. */
  signal?: AbortSignal;
  /** The clock (epoch ms). */
  now(): number;
  /** Waits `ms` of real time (the scheduler's resolves early on cancel; tests inject short waits). */
  sleep?(ms: number): Promise<void>;
}

export interface RunResult {
  /** The final message of a successful run. */
  message?: string;
  /** The run's summary (`/api/system/taskSummaries/{type}/{id}`). */
  summary?: unknown;
}

export type JobHandlerFn = (ctx: ExecutorRunContext) => Promise<RunResult>;

/** A run failure with DHIS2 error codes, to be recorded on the job (`errorCodes`). */
export class JobRunError extends Error {
  constructor(
    message: string,
    readonly errorCodes: string[] = [],
  ) {
    super(message);
    this.name = "JobRunError";
  }
}

/** A run that ended because it was cancelled (the scheduler records STOPPED). */
export class JobCancelledError extends Error {
  constructor(message = "Job cancelled") {
    super(message);
    this.name = "AbortError";
  }
}

export const E7010 = "E7010";

/** How often (ms) a waiting run polls D1 for callbacks when no wake-up arrives. */
export let EXECUTOR_POLL_MS = 2000;
/** How long a cancelled run waits for the executor's STOPPED completion. */
export const CANCEL_GRACE_MS = 30_000;
const MAX_BACKOFF_MS = 30_000;

/** Tests: shorter polling. */
export function setExecutorPollMs(ms: number): void {
  EXECUTOR_POLL_MS = ms;
}

// In-isolate wake-ups. A callback stored for a run raises the run's flag; the waiting handler checks
// it between short sleep slices. Only a flag crosses contexts: resolving the handler's promise from
// the callback's request would run the handler on that request's I/O context (workerd forbids a
// request touching a Durable Object's I/O, and the handler runs inside the job's object).
const wakeFlags = new Map<string, boolean>();
/** Longest slice of a wait between two looks at the wake flag. */
const WAKE_SLICE_MS = 200;

/** Wakes the handler waiting for `runId` if it runs in this isolate (the callback route, the job object's RPC). */
export function wakeExecutorRun(runId: string): boolean {
  if (!wakeFlags.has(runId)) return false;
  wakeFlags.set(runId, true);
  return true;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function sleepOrWake(ctx: ExecutorRunContext, ms: number): Promise<void> {
  const sleep = ctx.sleep ?? defaultSleep;
  let waited = 0;
  while (waited < ms) {
    if (wakeFlags.get(ctx.runId) || ctx.signal?.aborted) break;
    const slice = Math.min(WAKE_SLICE_MS, ms - waited);
    await sleep(slice);
    waited += slice;
  }
  if (wakeFlags.has(ctx.runId)) wakeFlags.set(ctx.runId, false);
}

/** The run's failure message for an unconfigured deployment. */
export function unconfiguredMessage(detail: string): string {
  return `Failed to validate job runtime: ${detail}`;
}

export function executorHandler(jobType: string): JobHandlerFn {
  return async (ctx) => {
    const cfg = readExecutorConfig(ctx.env);
    if (!cfg.ok) {
      throw new JobRunError(unconfiguredMessage(`${cfg.message}; job type ${jobType} runs on an external executor`), [E7010]);
    }
    return runOnExecutor(cfg.config, { ...ctx, jobType });
  };
}

interface StartOutcome {
  response: StartResponse;
}

async function sendStart(cfg: ExecutorConfig, ctx: ExecutorRunContext, body: StartRequest): Promise<StartOutcome> {
  let lastError = "";
  for (let attempt = 1; attempt <= cfg.startAttempts; attempt++) {
    if (ctx.signal?.aborted) throw new JobCancelledError();
    let retriable = true;
    try {
      const req = await signedRequest(cfg.secret, "POST", `${cfg.baseUrl}/runs`, { ...body, attempt }, ctx.now(), { [HEADER_IDEMPOTENCY]: ctx.runId });
      const res = await cfg.fetcher.fetch(req);
      const text = await res.text();
      if (res.ok || res.status === 409) {
        // 409: the executor already holds this run (an earlier attempt got through).
        let parsed: StartResponse = { status: "accepted" };
        if (res.ok && text) {
          try {
            const json = JSON.parse(text) as StartResponse;
            if (json && (json.status === "done" || json.status === "accepted")) parsed = json;
          } catch {
            // A non-JSON 2xx counts as accepted.
          }
        }
        return { response: parsed };
      }
      lastError = `HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ""}`;
      retriable = res.status === 408 || res.status === 429 || res.status >= 500;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (!retriable) break;
    if (attempt < cfg.startAttempts) {
      await ctx.notify("WARN", `Executor start attempt ${attempt} of ${cfg.startAttempts} failed (${lastError}); retrying`);
      await sleepOrWake(ctx, Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (attempt - 1)));
    }
  }
  throw new JobRunError(`Executor did not accept the run: ${lastError || "no response"}`);
}

async function sendCancel(cfg: ExecutorConfig, ctx: ExecutorRunContext): Promise<void> {
  try {
    const req = await signedRequest(cfg.secret, "POST", `${cfg.baseUrl}/runs/${encodeURIComponent(ctx.runId)}/cancel`, {}, ctx.now());
    const res = await cfg.fetcher.fetch(req);
    await res.body?.cancel();
  } catch {
    // The executor also learns of the cancel from the state in every callback answer.
  }
}

function levelOf(v: unknown): NotificationLevel {
  return v === "DEBUG" || v === "INFO" || v === "WARN" || v === "ERROR" || v === "LOOP" ? v : "INFO";
}

export function itemMessage(item: ItemCallback): string {
  const text = item.message ?? "";
  if (typeof item.index === "number" && typeof item.total === "number") return `[${item.index}/${item.total}] ${text}`.trimEnd();
  if (typeof item.index === "number") return `[${item.index}] ${text}`.trimEnd();
  return text;
}

async function relayMessage(ctx: ExecutorRunContext, level: NotificationLevel, message: string): Promise<void> {
  const p = ctx.progress;
  if (p && level === "INFO") p.info(message);
  else if (p && level === "WARN") p.warn(message);
  else if (p && level === "ERROR") p.error(message);
  else await ctx.notify(level, message);
}

/**
 * Where a run on the executor stands between two steps. Plain JSON: a caller that cannot keep the
 * handler awaiting for hours (a Durable Object alarm has a 15-minute wall-time limit) can store it
 * and call `stepExecutorRun` again later (from an alarm, or the `executorEvent` RPC).
 */
export interface ExecutorRunCursor {
  runId: string;
  /** Id of the last callback turned into a notification. */
  lastId: number;
  /** When the executor was last heard from (epoch ms). */
  lastHeard: number;
  summary?: unknown;
  /** When the cancel was forwarded; null while not cancelled. */
  cancelAt: number | null;
}

export type ExecutorStep = { done: false; cursor: ExecutorRunCursor } | { done: true; result: RunResult };

async function finalize(ctx: ExecutorRunContext): Promise<void> {
  wakeFlags.delete(ctx.runId);
  await setRunState(ctx.env.DB, ctx.runId, "FINISHED", ctx.now()).catch(() => undefined);
  await purgeExpired(ctx.env.DB, ctx.now()).catch(() => undefined);
}

/**
 * Detached mode, first part: validates the configuration (E7010 when missing), registers the run
 * and delivers the start. Returns the result when the executor answered "done", else a cursor.
 * Throws `JobRunError` / `JobCancelledError` like the handler.
 */
export async function beginExecutorRun(ctx: ExecutorRunContext): Promise<ExecutorStep> {
  const cfg = readExecutorConfig(ctx.env);
  if (!cfg.ok) throw new JobRunError(unconfiguredMessage(`${cfg.message}; job type ${ctx.jobType} runs on an external executor`), [E7010]);
  return begin(cfg.config, ctx);
}

async function begin(cfg: ExecutorConfig, ctx: ExecutorRunContext): Promise<ExecutorStep> {
  const db = ctx.env.DB;
  const start = ctx.now();
  const token = randomToken();
  await createExecutorRun(db, { runId: ctx.runId, jobId: ctx.jobId, jobType: ctx.jobType, token, now: start });
  const body: StartRequest = {
    protocol: PROTOCOL_VERSION,
    runId: ctx.runId,
    jobId: ctx.jobId,
    jobType: ctx.jobType,
    jobName: ctx.jobName,
    parameters: ctx.parameters ?? {},
    user: ctx.user,
    scheduledAt: isoUtc(ctx.scheduledAt ?? start),
    startedAt: isoUtc(start),
    callback: { url: `${cfg.callbackBase}/api/executor/runs/${encodeURIComponent(ctx.runId)}`, token },
    heartbeatSeconds: Math.max(1, Math.floor(cfg.heartbeatTimeoutMs / 4000)),
    attempt: 1,
  };
  wakeFlags.set(ctx.runId, false);
  try {
    const { response } = await sendStart(cfg, ctx, body);
    if (response.status === "done") {
      const result = finishFromComplete({ outcome: response.outcome ?? "COMPLETED", message: response.message, summary: response.summary });
      await finalize(ctx);
      return { done: true, result };
    }
    await setRunState(db, ctx.runId, "RUNNING", ctx.now());
    return { done: false, cursor: { runId: ctx.runId, lastId: 0, lastHeard: ctx.now(), cancelAt: null } };
  } catch (err) {
    await finalize(ctx);
    throw err;
  }
}

/**
 * Detached mode, next parts: turns the callbacks that arrived since the cursor into notifications,
 * forwards a cancel (`ctx.signal` aborted), checks the heartbeat timeout. Never waits. Returns the
 * result once the executor completed, else the new cursor; throws when the run failed or stopped.
 */
export async function stepExecutorRun(ctx: ExecutorRunContext, cursor: ExecutorRunCursor): Promise<ExecutorStep> {
  const cfg = readExecutorConfig(ctx.env);
  if (!cfg.ok) {
    await finalize(ctx);
    throw new JobRunError(unconfiguredMessage(cfg.message), [E7010]);
  }
  return step(cfg.config, ctx, cursor);
}

async function step(cfg: ExecutorConfig, ctx: ExecutorRunContext, before: ExecutorRunCursor): Promise<ExecutorStep> {
  const db = ctx.env.DB;
  const cursor: ExecutorRunCursor = { ...before };
  try {
    const events = await eventsAfter(db, ctx.runId, cursor.lastId);
    for (const ev of events) {
      cursor.lastId = ev.id;
      cursor.lastHeard = Math.max(cursor.lastHeard, ev.received);
      let payload: Record<string, unknown> = {};
      try {
        payload = JSON.parse(ev.payload) as Record<string, unknown>;
      } catch {
        // Stored by our own route: always JSON.
      }
      if (ev.kind === "messages") {
        const m = payload as unknown as MessageCallback;
        await relayMessage(ctx, levelOf(m.level as ExecutorLevel), String(m.message ?? ""));
      } else if (ev.kind === "items") {
        // Straight to the notifications: an item outside a stage would open an empty stage.
        await ctx.notify("LOOP", itemMessage(payload as ItemCallback));
      } else if (ev.kind === "summary") {
        cursor.summary = payload.summary;
      } else if (ev.kind === "complete") {
        const result = finishFromComplete(payload as unknown as CompleteCallback, cursor.summary);
        await finalize(ctx);
        return { done: true, result };
      }
    }
    const now = ctx.now();
    if (ctx.signal?.aborted) {
      if (cursor.cancelAt === null) {
        cursor.cancelAt = now;
        await setRunState(db, ctx.runId, "CANCELLING", now);
        await sendCancel(cfg, ctx);
      } else if (now - cursor.cancelAt > CANCEL_GRACE_MS) {
        throw new JobCancelledError("Job cancelled; the executor did not confirm within 30 s");
      }
    } else if (now - cursor.lastHeard > cfg.heartbeatTimeoutMs) {
      throw new JobRunError(
        `Executor heartbeat timeout: no progress from the executor for ${Math.round((now - cursor.lastHeard) / 1000)} s (limit ${Math.round(cfg.heartbeatTimeoutMs / 1000)} s)`,
      );
    }
    return { done: false, cursor };
  } catch (err) {
    await finalize(ctx);
    throw err;
  }
}

/** The blocking handler: begin, then step until done, sleeping (or woken by a callback) in between. */
async function runOnExecutor(cfg: ExecutorConfig, ctx: ExecutorRunContext): Promise<RunResult> {
  let state = await begin(cfg, ctx);
  while (!state.done) {
    await sleepOrWake(ctx, EXECUTOR_POLL_MS);
    state = await step(cfg, ctx, state.cursor);
  }
  return state.result;
}

function finishFromComplete(c: CompleteCallback, summary?: unknown): RunResult {
  const finalSummary = c.summary !== undefined ? c.summary : summary;
  if (c.outcome === "FAILED") {
    const err = new JobRunError(c.message || "Executor reported failure", Array.isArray(c.errorCodes) ? c.errorCodes.map(String) : []);
    (err as JobRunError & { summary?: unknown }).summary = finalSummary;
    throw err;
  }
  if (c.outcome === "STOPPED") throw new JobCancelledError(c.message || "Job cancelled");
  const result: RunResult = {};
  if (c.message) result.message = c.message;
  if (finalSummary !== undefined) result.summary = finalSummary;
  return result;
}
