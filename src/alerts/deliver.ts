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
  claimStatement,
  closeStatement,
  type DeliveryWithChannel,
  FINAL_STATES,
  finishStatement,
  loadDeliveriesForSend,
  markDeadLetters,
} from "./store";
import { emailConfigured, maskUrl } from "./model";

export const LEASE_MS = 60_000;
export const SEND_TIMEOUT_MS = 10_000;
export const RETRY_MAX_SECONDS = 900;
export const DEFAULT_RETRY_BASE_SECONDS = 10;
/** Deliveries of one batch sent at once (Workers allow 6 simultaneous outbound connections). */
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
/** What to do with a message: acknowledge it, or have it delivered again after `retryAfter` seconds. */
export type Step = { ack: true } | { ack: false; retryAfter: number };

type ConsumerEnv = Pick<Env, "DB" | "ALERT_EMAIL" | "ALERT_EMAIL_FROM" | "ALERT_RETRY_BASE_SECONDS">;

/** The queue handler for the alert queues. */
export async function consumeAlerts(batch: MessageBatch, env: ConsumerEnv, now: () => number): Promise<void> {
  const dead = isDeadLetterQueue(batch.queue);
  const wanted: { message: Message; uid: string }[] = [];
  for (const message of batch.messages) {
    const uid = deliveryOf(message.body);
    if (uid !== null) wanted.push({ message, uid });
    else {
      logEvent("error", "alert.message_malformed", { queue: batch.queue, message: message.id });
      message.ack();
    }
  }
  try {
    if (dead) {
      await markDeadLetters(
        env.DB,
        wanted.map((w) => w.uid),
        now(),
      );
      for (const w of wanted) logEvent("error", "alert.dead_letter", { delivery: w.uid, queue: batch.queue });
      for (const w of wanted) w.message.ack();
      return;
    }
    const steps = await deliverBatch(
      env,
      wanted.map((w) => ({ uid: w.uid, attempt: w.message.attempts })),
      now,
    );
    wanted.forEach((w, i) => {
      const step = steps[i];
      if (step.ack) w.message.ack();
      else w.message.retry({ delaySeconds: step.retryAfter });
    });
  } catch (e) {
    // D1 unreachable, say: the messages come back later (a delivery already made is not made again).
    logEvent("error", "alert.consumer_failed", { queue: batch.queue, messages: wanted.length, error: e });
    for (const w of wanted) w.message.retry({ delaySeconds: retryDelaySeconds(w.message.attempts, retryBaseSeconds(env)) });
  }
}

/**
 * One attempt at each delivery of a batch (`attempt`: the message's attempt number), in three D1 round
 * trips whatever the batch's size: read them, claim them (a lease), record the outcomes. Returns what
 * to do with each message, in order.
 */
export async function deliverBatch(env: ConsumerEnv, items: { uid: string; attempt: number }[], now: () => number): Promise<Step[]> {
  const db = env.DB;
  const rows = await loadDeliveriesForSend(
    db,
    items.map((i) => i.uid),
  );
  const t = now();
  const steps: Step[] = items.map(() => ({ ack: true }));
  const writes: D1PreparedStatement[] = [];
  const claimed: { index: number; row: DeliveryWithChannel; statement: number }[] = [];
  const seen = new Set<string>();
  items.forEach(({ uid }, index) => {
    const row = rows.get(uid);
    if (!row || FINAL_STATES.includes(row.state)) return; // made, refused, dead or gone: nothing to do
    if (row.rule_exists !== 1 || row.rule_channel !== row.channel_type) {
      writes.push(closeStatement(db, uid, "DISCARDED", "The rule was deleted or its channel changed before delivery", t));
      return;
    }
    if (row.state === "SENDING" && row.lease_until !== null && row.lease_until > t) {
      // An attempt is in flight: look again when its lease is over.
      steps[index] = { ack: false, retryAfter: Math.ceil((row.lease_until - t) / 1000) };
      return;
    }
    if (seen.has(uid)) {
      // The same delivery twice in one batch: this copy looks again after the other's attempt.
      steps[index] = { ack: false, retryAfter: Math.ceil(LEASE_MS / 1000) };
      return;
    }
    seen.add(uid);
    claimed.push({ index, row, statement: writes.length });
    writes.push(claimStatement(db, row, t, LEASE_MS));
  });
  const results = writes.length > 0 ? await db.batch(writes) : [];
  const mine = claimed.filter((c) => {
    if (results[c.statement]?.meta.changes === 1) return true;
    steps[c.index] = { ack: false, retryAfter: Math.ceil(LEASE_MS / 1000) }; // someone else took it meanwhile
    return false;
  });
  const outcomes = await inParallel(mine, (c) =>
    c.row.channel_type === "WEBHOOK" ? postWebhook(c.row, c.row.attempts + 1, t) : sendEmail(env, c.row),
  );
  const end = now();
  const finish: D1PreparedStatement[] = [];
  mine.forEach((c, i) => {
    const result = outcomes[i];
    const uid = c.row.uid;
    if (result.ok) {
      finish.push(finishStatement(db, uid, { state: "DELIVERED", status: result.status, error: null, nextAttempt: null }, end));
    } else if (!result.retry) {
      finish.push(finishStatement(db, uid, { state: "FAILED", status: result.status, error: result.error, nextAttempt: null }, end));
      logEvent("warn", "alert.refused", { delivery: uid, rule: c.row.rule_uid, status: result.status ?? undefined });
    } else {
      const attempt = items[c.index].attempt;
      const delay = retryDelaySeconds(attempt, retryBaseSeconds(env));
      finish.push(
        finishStatement(db, uid, { state: "RETRYING", status: result.status, error: result.error, nextAttempt: end + delay * 1000 }, end),
      );
      logEvent("warn", "alert.retry", {
        delivery: uid,
        rule: c.row.rule_uid,
        attempt,
        status: result.status ?? undefined,
        delaySeconds: delay,
      });
      steps[c.index] = { ack: false, retryAfter: delay };
    }
  });
  if (finish.length > 0) await db.batch(finish);
  return steps;
}

/** `fn` over `items`, at most PARALLEL at a time (Workers allow 6 simultaneous outbound connections). */
async function inParallel<T, R>(items: T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const work = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]);
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, work));
  return out;
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
