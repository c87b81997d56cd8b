/**
 * Callback endpoints of the executor protocol (docs/EXECUTOR.md "Callbacks"):
 * `POST /api/executor/runs/{runId}/{messages|items|heartbeat|summary|complete|errors}`.
 *
 * Not authenticated by a user: each request must be signed with the shared secret (HMAC-SHA-256,
 * fresh timestamp, never seen before) and carry the run's bearer token. Accepted callbacks are
 * stored in D1 and wake the run in its job's object, whose next step turns them into the run's task
 * notifications and summary.
 */
import { jobObject } from "../scheduling/sync";
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { readBodyText } from "../http/body";
import { clock } from "../http/clock";
import { jsonResponse } from "../http/respond";
import { createRouter, type AppEnv } from "../http/router";
import { ApiError } from "../http/webmessage";
import {
  bearerToken,
  MAX_ERRORS_PER_CALLBACK,
  MAX_SKEW_MS,
  ProtocolError,
  verifySignature,
  type CallbackAck,
  type CallbackKind,
} from "./protocol";
import { appendEvent, D1ReplayCache, findExecutorRun, hashToken, type ExecutorRunRow } from "./store";

export const executorRoutes = createRouter();

const LEVELS = ["DEBUG", "INFO", "WARN", "ERROR", "LOOP"] as const;
const OUTCOMES = ["COMPLETED", "FAILED", "STOPPED"] as const;

const RunIdParam = z.object({
  runId: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, "Run id must be 1 to 64 characters of [A-Za-z0-9_-]")
    .openapi({ param: { name: "runId", in: "path" }, example: "r8Jq2mP0aZk" }),
});

const Ack = z
  .object({ runId: z.string(), state: z.enum(["RUNNING", "CANCELLING", "FINISHED"]) })
  .openapi("ExecutorCallbackAck", { description: "CANCELLING tells the executor to stop the run." });

const nonce = z.string().max(64).optional();

const BODIES = {
  messages: z
    .object({ level: z.enum(LEVELS).optional(), message: z.string().max(10_000), nonce })
    .openapi("ExecutorMessage", { description: "A progress message; LOOP replaces the newest LOOP message." }),
  items: z
    .object({
      message: z.string().max(10_000).optional(),
      index: z.number().int().min(0).optional(),
      total: z.number().int().min(0).optional(),
      nonce,
    })
    .openapi("ExecutorItem", { description: "A LOOP item, shown as `[index/total] message`." }),
  heartbeat: z.object({}).passthrough().openapi("ExecutorHeartbeat", { description: "Keeps the run alive; no notification." }),
  summary: z.object({ summary: z.unknown(), nonce }).openapi("ExecutorSummary", { description: "The run's summary (task summary JSON)." }),
  complete: z
    .object({
      outcome: z.enum(OUTCOMES),
      message: z.string().max(10_000).optional(),
      summary: z.unknown().optional(),
      errorCodes: z.array(z.string().max(16)).max(20).optional(),
      nonce,
    })
    .openapi("ExecutorComplete", { description: "Ends the run: COMPLETED, FAILED (ERROR notification) or STOPPED." }),
  errors: z
    .object({
      errors: z
        .array(
          z.object({
            code: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "An error code is 1 to 64 characters of [A-Za-z0-9_.-]"),
            id: z.string().max(128).optional(),
            type: z.string().min(1).max(128),
            args: z.array(z.string().max(1000)).max(16).optional(),
            message: z.string().max(2000).optional(),
          }),
        )
        .min(1)
        .max(MAX_ERRORS_PER_CALLBACK),
      nonce,
    })
    .openapi("ExecutorErrors", {
      description:
        "Item errors of the run (DHIS2's JobProgress.Error: code, object id and type, args); kept once each, at most 200 per run.",
    }),
} satisfies Record<CallbackKind, z.ZodTypeAny>;

const DESCRIPTIONS: Record<CallbackKind, string> = {
  messages: "Executor callback: a progress message of the run",
  items: "Executor callback: a LOOP item of the run",
  heartbeat: "Executor callback: heartbeat (the run is alive)",
  summary: "Executor callback: set the run's summary",
  complete: "Executor callback: the run finished",
  errors: "Executor callback: item errors of the run",
};

const verified = new WeakMap<Request, ExecutorRunRow>();

/** Signature, freshness, run token and replay, before any body validation. */
async function authenticateCallback(c: Context<AppEnv>, next: () => Promise<void>): Promise<void> {
  const env = c.env;
  const secret = env.EXECUTOR_SECRET;
  if (!secret) throw new ApiError(404, "No executor is configured for this server");
  const now = clock.now();
  const runId = c.req.param("runId") ?? "";
  try {
    // The raw body, within the size limit; cached so the validator parses the same bytes.
    const body = await readBodyText(c);
    (c.req.bodyCache as { text?: Promise<string> }).text = Promise.resolve(body);
    const sig = await verifySignature(secret, c.req.raw, body, now);
    if (!sig.ok) throw new ProtocolError(401, sig.message, sig.reason);
    const token = bearerToken(c.req.header("Authorization"));
    const run = await findExecutorRun(env.DB, runId);
    if (!token || !run || run.expires < now || (await hashToken(token)) !== run.token_hash) {
      throw new ProtocolError(401, "Invalid run token", "token");
    }
    if (!(await new D1ReplayCache(env.DB).remember(sig.signature, sig.timestamp + MAX_SKEW_MS, now))) {
      throw new ProtocolError(409, "Replayed request refused", "replay");
    }
    if (run.state === "FINISHED") throw new ProtocolError(409, `Run ${runId} is already finished`, "state");
    verified.set(c.req.raw, run);
  } catch (err) {
    if (err instanceof ProtocolError) {
      throw new ApiError(err.status, err.message, {}, err.status === 401 ? { "WWW-Authenticate": 'Bearer realm="executor"' } : {});
    }
    throw err;
  }
  await next();
}

for (const kind of Object.keys(BODIES) as CallbackKind[]) {
  const route = createRoute({
    method: "post",
    path: `/executor/runs/{runId}/${kind}`,
    // No user: each callback is signed (HMAC) and carries its run's token, checked by authenticateCallback.
    security: [],
    summary: DESCRIPTIONS[kind],
    description:
      "Called by an external executor (docs/EXECUTOR.md). Authenticated by `Authorization: Bearer <run token>` and an " +
      "HMAC-SHA-256 signature (`X-HRHIS4-Timestamp`, `X-HRHIS4-Signature`); stale (> 5 min) and replayed requests are refused.",
    tags: ["executor"],
    middleware: [authenticateCallback] as const,
    request: {
      params: RunIdParam,
      body: { content: { "application/json": { schema: BODIES[kind] } }, required: kind !== "heartbeat" },
    },
    responses: {
      200: { description: "Accepted; `state` says whether the run should go on", content: { "application/json": { schema: Ack } } },
      400: { description: "Malformed callback (WebMessage)" },
      401: { description: "Bad or stale signature, or bad run token (WebMessage)" },
      404: { description: "No executor is configured for this server (WebMessage)" },
      409: { description: "Replayed request, or the run is finished (WebMessage)" },
    },
  });
  executorRoutes.openapi(route, async (c) => {
    const env = c.env;
    const run = verified.get(c.req.raw);
    if (!run) throw new ApiError(401, "Invalid run token");
    const now = clock.now();
    let payload: unknown = {};
    const text = await c.req.text();
    if (text) payload = BODIES[kind].parse(JSON.parse(text));
    await appendEvent(env.DB, run.run_id, kind, payload, now);
    // The run's next step, now: through the job's Durable Object, which holds the run.
    const wake = wakeJobObject(env, run);
    try {
      c.executionCtx.waitUntil(wake);
    } catch {
      await wake;
    }
    const ack: CallbackAck = { runId: run.run_id, state: run.state === "CANCELLING" ? "CANCELLING" : "RUNNING" };
    return jsonResponse(ack, 200);
  });
}

/** Best effort: the job object's `executorEvent(runId)` RPC steps the run; its alarm steps it anyway. */
async function wakeJobObject(env: Env, run: ExecutorRunRow): Promise<void> {
  try {
    await jobObject(env, run.job_id).executorEvent(run.run_id);
  } catch {
    // The handler's poll picks the event up anyway.
  }
}
