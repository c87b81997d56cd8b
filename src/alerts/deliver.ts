/**
 * The consumer side of alerts: the Worker's `queue` handler for the alert queue and its dead-letter
 * queue (wrangler.jsonc `queues.consumers`; the dead-letter queue's name ends in `-dlq`).
 *
 * Alert queue, per message (a delivery id): take the delivery for one attempt (a lease in D1, so a
 * message delivered twice is sent once), then
 * - webhook: POST the stored JSON payload, signed with the rule's secret exactly as the executor
 *   protocol signs (X-HRHIS4-Timestamp, X-HRHIS4-Signature = v1=HMAC-SHA-256 over method, path, time
 *   and the body's SHA-256; src/executor/protocol.ts), with `Idempotency-Key: <delivery id>`;
 *   redirects are not followed; 10 s timeout;
 * - e-mail: `ALERT_EMAIL.send()` (the send_email binding) from ALERT_EMAIL_FROM.
 * A 2xx (or a sent e-mail) is DELIVERED. 408, 429, 5xx, a network error or a timeout is RETRYING:
 * `message.retry({ delaySeconds })` with backoff ALERT_RETRY_BASE_SECONDS × 2^(attempt−1), at most
 * 15 min. Any other answer (3xx, 4xx) is FAILED for good. After the consumer's `max_retries` the
 * platform moves the message to the dead-letter queue, whose consumer marks the delivery DEAD_LETTER.
 * No URL, secret or answer body is logged; an error text has the URL replaced by its origin.
 */
import { signatureHeaders } from "../executor/protocol";
import { logEvent } from "../http/log";
import { deliveryOf } from "./listener";
import { type AlertPayload, emailOf } from "./message";
import {
  claimDelivery,
  closeDelivery,
  type DeliveryWithChannel,
  FINAL_STATES,
  finishAttempt,
  loadDeliveryForSend,
  markDeadLetter,
} from "./store";
import { emailConfigured, maskUrl } from "./validate";

export const LEASE_MS = 60_000;
export const SEND_TIMEOUT_MS = 10_000;
export const RETRY_MAX_SECONDS = 900;
export const DEFAULT_RETRY_BASE_SECONDS = 10;
/** Messages of one batch handled at once (Workers allow 6 simultaneous outbound connections). */
const PARALLEL = 6;

/** The alert queues this Worker consumes: `hrhis4-alerts…`, the dead-letter one ending in `-dlq`. */
export function isAlertQueue(name: string): boolean {
  return name.startsWith("hrhis4-alerts");
}
export function isDeadLetterQueue(name: string): boolean {
  return name.endsWith("-dlq");
}

export function retryBaseSeconds(env: Pick<Env, "ALERT_RETRY_BASE_SECONDS">): number {
  const text = env.ALERT_RETRY_BASE_SECONDS;
  const n = text === undefined || text.trim() === "" ? Number.NaN : Number(text);
  return Number.isFinite(n) && n >= 0 ? Math.min(n, RETRY_MAX_SECONDS) : DEFAULT_RETRY_BASE_SECONDS;
}

/** Seconds before the `attempt`-th attempt is tried again. */
export function retryDelaySeconds(attempt: number, baseSeconds: number): number {
  return Math.min(RETRY_MAX_SECONDS, Math.round(baseSeconds * 2 ** Math.max(0, attempt - 1)));
}

type SendResult = { ok: true; status: number | null } | { ok: false; retry: boolean; status: number | null; error: string };

/** What to do with the message: acknowledge it, or have it delivered again after `retryAfter` seconds. */
export type Step = { ack: true } | { ack: false; retryAfter: number };

type ConsumerEnv = Pick<Env, "DB" | "ALERT_EMAIL" | "ALERT_EMAIL_FROM" | "ALERT_RETRY_BASE_SECONDS">;

/** The queue handler for the alert queues. */
export async function consumeAlerts(batch: MessageBatch, env: ConsumerEnv, now: () => number): Promise<void> {
  const dead = isDeadLetterQueue(batch.queue);
  const messages = [...batch.messages];
  const work = async () => {
    for (let m = messages.shift(); m; m = messages.shift()) await handleMessage(m, env, now, dead, batch.queue);
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, messages.length) }, work));
}

async function handleMessage(message: Message, env: ConsumerEnv, now: () => number, dead: boolean, queue: string): Promise<void> {
  const uid = deliveryOf(message.body);
  if (uid === null) {
    logEvent("error", "alert.message_malformed", { queue, message: message.id });
    message.ack();
    return;
  }
  try {
    if (dead) {
      await markDeadLetter(env.DB, uid, now());
      logEvent("error", "alert.dead_letter", { delivery: uid, queue });
      message.ack();
      return;
    }
    const step = await attemptDelivery(env, uid, message.attempts, now);
    if (step.ack) message.ack();
    else message.retry({ delaySeconds: step.retryAfter });
  } catch (e) {
    // D1 unreachable, say: the message comes back later.
    logEvent("error", "alert.consumer_failed", { delivery: uid, queue, error: e });
    message.retry({ delaySeconds: retryDelaySeconds(message.attempts, retryBaseSeconds(env)) });
  }
}

/**
 * One attempt at delivery `uid` (the message's `attempt`-th): what to do with its message.
 * Exported for tests and for callers that drive a delivery by hand.
 */
export async function attemptDelivery(env: ConsumerEnv, uid: string, attempt: number, now: () => number): Promise<Step> {
  const db = env.DB;
  const row = await loadDeliveryForSend(db, uid);
  if (!row || FINAL_STATES.includes(row.state)) return { ack: true };
  if (row.rule_exists !== 1 || row.rule_channel !== row.channel_type) {
    await closeDelivery(db, uid, "DISCARDED", "The rule was deleted or its channel changed before delivery", now());
    return { ack: true };
  }
  const t = now();
  if (row.state === "SENDING" && row.lease_until !== null && row.lease_until > t) {
    return { ack: false, retryAfter: Math.max(1, Math.ceil((row.lease_until - t) / 1000)) }; // an attempt is in flight
  }
  if (!(await claimDelivery(db, row, t, LEASE_MS))) return { ack: false, retryAfter: Math.ceil(LEASE_MS / 1000) };
  const result = row.channel_type === "WEBHOOK" ? await postWebhook(row, row.attempts + 1, t) : await sendEmail(env, row);
  const end = now();
  if (result.ok) {
    await finishAttempt(db, uid, { state: "DELIVERED", status: result.status, error: null, nextAttempt: null }, end);
    return { ack: true };
  }
  if (!result.retry) {
    await finishAttempt(db, uid, { state: "FAILED", status: result.status, error: result.error, nextAttempt: null }, end);
    logEvent("warn", "alert.refused", { delivery: uid, rule: row.rule_uid, status: result.status ?? undefined });
    return { ack: true };
  }
  const delay = retryDelaySeconds(attempt, retryBaseSeconds(env));
  await finishAttempt(db, uid, { state: "RETRYING", status: result.status, error: result.error, nextAttempt: end + delay * 1000 }, end);
  logEvent("warn", "alert.retry", { delivery: uid, rule: row.rule_uid, attempt, status: result.status ?? undefined, delaySeconds: delay });
  return { ack: false, retryAfter: delay };
}

/** Whether an HTTP status is worth another attempt. */
export function retryable(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

async function postWebhook(row: DeliveryWithChannel, attempt: number, now: number): Promise<SendResult> {
  const url = row.webhook_url ?? "";
  const secret = row.webhook_secret ?? "";
  const body = row.payload;
  const headers: Record<string, string> = {
    "Content-Type": "application/json",
    "User-Agent": "HRHIS4-Edge-Alerts/1",
    "Idempotency-Key": row.uid,
    "X-HRHIS4-Alert": row.alert,
    "X-HRHIS4-Attempt": String(attempt),
    ...(await signatureHeaders(secret, "POST", url, body, now)),
  };
  let res: Response;
  try {
    res = await fetch(url, { method: "POST", headers, body, redirect: "manual", signal: AbortSignal.timeout(SEND_TIMEOUT_MS) });
  } catch (e) {
    const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    return { ok: false, retry: true, status: null, error: clip(text.split(url).join(maskUrl(url))) };
  }
  const answer = clip(await res.text().catch(() => ""), 200);
  if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
  const error = `HTTP ${res.status}${answer ? `: ${answer}` : ""}`;
  return { ok: false, retry: retryable(res.status), status: res.status, error };
}

async function sendEmail(env: ConsumerEnv, row: DeliveryWithChannel): Promise<SendResult> {
  if (!emailConfigured(env) || !row.email_address) {
    return {
      ok: false,
      retry: false,
      status: null,
      error: "E-mail alerts are not configured (send_email binding ALERT_EMAIL, ALERT_EMAIL_FROM)",
    };
  }
  let payload: AlertPayload;
  try {
    payload = JSON.parse(row.payload) as AlertPayload;
  } catch {
    return { ok: false, retry: false, status: null, error: "The stored alert does not parse" };
  }
  const { subject, text } = emailOf(payload);
  try {
    await env.ALERT_EMAIL.send({
      from: env.ALERT_EMAIL_FROM,
      to: row.email_address,
      subject,
      text,
    });
    return { ok: true, status: null };
  } catch (e) {
    const text = e instanceof Error ? e.message : String(e);
    return { ok: false, retry: !/not allowed|invalid/i.test(text), status: null, error: clip(text) };
  }
}

function clip(text: string, max = 500): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
