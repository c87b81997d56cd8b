/**
 * A run on the configured external executor (docs/EXECUTOR.md), in two steps that never wait for
 * the executor, so that no Durable Object alarm holds a run for longer than one request (an alarm
 * has a 15-minute wall-time limit; analytics runs take hours):
 *
 * 1. `beginExecutorRun`: an unconfigured deployment fails the run at once (`JobRunError` with
 *    errorCodes ["E7010"], "Failed to validate job runtime: no executor configured (…)"). Otherwise a
 *    per-run callback token is created (stored hashed in D1) and the signed start request is sent,
 *    retried with exponential backoff on network errors, 408, 429 and 5xx; every attempt carries
 *    `Idempotency-Key: <runId>` so the executor never starts an occurrence twice. "done" ends the run;
 *    "accepted" returns a cursor (plain JSON, stored by the job's object).
 * 2. `stepExecutorRun`, from the job object's alarm or a callback's wake-up: turns the callbacks
 *    stored since the cursor into notifications (in order), ends the run on `complete`, forwards a
 *    cancel, and fails the run when the executor stayed silent past the heartbeat timeout. It returns
 *    the next cursor and the instant of the next step (`wakeAt`).
 */
import { JobCancelledError, JobRunError, type RunResult } from "../jobs/contract";
import type { JsonValue, NotificationLevel } from "../tasks/types";
import { readExecutorConfig, type ExecutorConfig, type ExecutorEnv } from "./config";
import {
  HEADER_IDEMPOTENCY,
  PROTOCOL_VERSION,
  isoUtc,
  randomToken,
  signedRequest,
  type CompleteCallback,
  type ErrorsCallback,
  type ItemCallback,
  type ItemErrorReport,
  type MessageCallback,
  type StartRequest,
  type StartResponse,
} from "./protocol";
import { EVENTS_PER_STEP, createExecutorRun, eventsAfter, purgeExpired, setRunState } from "./store";

/**
 * What a run's steps get (the scheduler's run context has this shape): the run's identity as the
 * start request carries it, plus the scheduler's hooks.
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
    /** Item errors (`errors` callbacks) go here; without it they become ERROR notifications. */
    addError?(code: string, uid: string | null | undefined, type: string, args?: readonly string[], message?: string): void;
  };
  /** Aborted when the run is cancelled. */
  signal?: AbortSignal;
  /** The clock (epoch ms). */
  now(): number;
  /** Waits `ms` of real time between start attempts (the scheduler's resolves early on cancel). */
  sleep?(ms: number): Promise<void>;
}

export const E7010 = "E7010";

/** A run between two steps is looked at least this often (it refreshes the job's heartbeat in D1). */
export const EXECUTOR_STEP_MS = 10_000;
/** How long a cancelled run waits for the executor's STOPPED completion. */
export const CANCEL_GRACE_MS = 30_000;
const MAX_BACKOFF_MS = 30_000;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The run's failure message for an unconfigured deployment. */
export function unconfiguredMessage(detail: string): string {
  return `Failed to validate job runtime: ${detail}`;
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
      const req = await signedRequest(cfg.secret, "POST", `${cfg.baseUrl}/runs`, { ...body, attempt }, ctx.now(), {
        [HEADER_IDEMPOTENCY]: ctx.runId,
      });
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
      await (ctx.sleep ?? defaultSleep)(Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (attempt - 1)));
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

async function relayErrors(ctx: ExecutorRunContext, errors: ItemErrorReport[]): Promise<void> {
  for (const e of errors) {
    const args = Array.isArray(e.args) ? e.args.map(String) : [];
    if (ctx.progress?.addError) ctx.progress.addError(String(e.code), e.id, String(e.type), args, e.message);
    else await ctx.notify("ERROR", e.message || `${e.code} ${e.type} ${e.id ?? ""}`.trim());
  }
}

/**
 * Where a run on the executor stands between two steps. Plain JSON: the job's object stores it and
 * calls `stepExecutorRun` again later (from its alarm, or the `executorEvent` RPC of a callback).
 */
type StoredCallback = Partial<MessageCallback & ItemCallback & CompleteCallback & ErrorsCallback> & { summary?: JsonValue };

export interface ExecutorRunCursor {
  runId: string;
  /** Id of the last callback turned into a notification. */
  lastId: number;
  /** When the executor was last heard from (epoch ms). */
  lastHeard: number;
  summary?: JsonValue;
  /** When the cancel was forwarded; null while not cancelled. */
  cancelAt: number | null;
}

/** Not done: the cursor to store and the instant (epoch ms) of the next step. */
export type ExecutorStep = { done: false; cursor: ExecutorRunCursor; wakeAt: number } | { done: true; result: RunResult };

async function finalize(ctx: ExecutorRunContext): Promise<void> {
  await setRunState(ctx.env.DB, ctx.runId, "FINISHED", ctx.now()).catch(() => undefined);
  await purgeExpired(ctx.env.DB, ctx.now()).catch(() => undefined);
}

/**
 * First step: validates the configuration (E7010 when missing), registers the run
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
  try {
    const { response } = await sendStart(cfg, ctx, body);
    if (response.status === "done") {
      const result = finishFromComplete({ outcome: response.outcome ?? "COMPLETED", message: response.message, summary: response.summary });
      await finalize(ctx);
      return { done: true, result };
    }
    const now = ctx.now();
    await setRunState(db, ctx.runId, "RUNNING", now);
    const cursor: ExecutorRunCursor = { runId: ctx.runId, lastId: 0, lastHeard: now, cancelAt: null };
    return { done: false, cursor, wakeAt: wakeAt(cfg, cursor, now) };
  } catch (err) {
    await finalize(ctx);
    throw err;
  }
}

/**
 * Next steps: turns the callbacks that arrived since the cursor into notifications,
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
      // Stored by our own route after validation: one of the callback bodies.
      let payload: StoredCallback = {};
      try {
        payload = JSON.parse(ev.payload);
      } catch {
        // Stored by our own route: always JSON.
      }
      if (ev.kind === "messages") {
        await relayMessage(ctx, levelOf(payload.level), String(payload.message ?? ""));
      } else if (ev.kind === "items") {
        // Straight to the notifications: an item outside a stage would open an empty stage.
        await ctx.notify("LOOP", itemMessage(payload));
      } else if (ev.kind === "errors") {
        await relayErrors(ctx, payload.errors ?? []);
      } else if (ev.kind === "summary") {
        cursor.summary = payload.summary;
      } else if (ev.kind === "complete") {
        const result = finishFromComplete(payload as CompleteCallback, cursor.summary);
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
    // More callbacks than one step relays: the next step follows at once.
    return { done: false, cursor, wakeAt: events.length === EVENTS_PER_STEP ? now : wakeAt(cfg, cursor, now) };
  } catch (err) {
    await finalize(ctx);
    throw err;
  }
}

/** When the run must be looked at next: the step period, the heartbeat deadline, the cancel grace. */
function wakeAt(cfg: ExecutorConfig, cursor: ExecutorRunCursor, now: number): number {
  const limits = [now + EXECUTOR_STEP_MS, cursor.lastHeard + cfg.heartbeatTimeoutMs + 1];
  if (cursor.cancelAt !== null) limits.push(cursor.cancelAt + CANCEL_GRACE_MS + 1);
  return Math.max(now, Math.min(...limits));
}

/**
 * The run is given up on this side (its job was deleted): the executor is told to cancel, and the
 * run's callbacks are refused from now on. Best effort; never throws.
 */
export async function abandonExecutorRun(ctx: ExecutorRunContext): Promise<void> {
  const cfg = readExecutorConfig(ctx.env);
  if (cfg.ok) await sendCancel(cfg.config, ctx);
  await finalize(ctx);
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
