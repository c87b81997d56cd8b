/**
 * The producer side of alerts: a run listener (registered at the Worker's entry) that decides, per
 * rule covering the job, whether the event opens or closes an episode (decide.ts), records that in
 * D1 in one batch (the episode, and a PENDING delivery per alert), then puts the deliveries on the
 * alert queue (ALERT_QUEUE) and marks them QUEUED. The Worker's queue handler delivers them (deliver.ts).
 *
 * At least once, never twice: events arrive in order per job, the episode keeps the id of the last
 * event applied (a repeat is skipped), a delivery is unique per (rule, event), and an event whose
 * deliveries were stored but not enqueued (the send failed: the listener throws and is retried)
 * enqueues them on its retry. The Cron Trigger re-enqueues deliveries left PENDING (`repairAlerts`).
 *
 * `accepts` is cheap and precise: run ends (any outcome: a success may close an episode), and run
 * starts late enough for the smallest `lateSeconds` a rule may have.
 */
import { generateUid } from "../http/uid";
import { logEvent } from "../http/log";
import type { RunEvent, RunListener } from "../scheduling/run-events";
import { isRunEnd } from "../scheduling/run-events";
import { decide, mayBeLate, NO_EPISODE, sameEpisode } from "./decide";
import { buildPayload } from "./message";
import { LATE_SECONDS_MIN } from "./model";
import {
  activeRulesFor,
  insertDelivery,
  loadEpisodes,
  markQueued,
  pendingOfEvent,
  purgeDeliveries,
  saveEpisode,
  stalePending,
} from "./store";

/** The message on the alert queue: which delivery to make (never a secret or a URL). */
export interface AlertMessage {
  v: 1;
  delivery: string;
}

/** A queue message body as this module wrote it, else null. */
export function deliveryOf(body: unknown): string | null {
  if (body === null || typeof body !== "object") return null;
  const d = (body as { delivery?: unknown }).delivery;
  return typeof d === "string" && /^[A-Za-z0-9]{11}$/.test(d) ? d : null;
}

/** Deliveries left PENDING this long are enqueued again by the Cron Trigger. */
export const PENDING_REPAIR_MS = 2 * 60_000;
/** Finished deliveries are kept this long. */
export const DELIVERY_RETENTION_MS = 30 * 24 * 3600_000;
const SEND_BATCH = 100;

export const alertListener: RunListener = {
  name: "alerts",
  accepts: (event) => isRunEnd(event) || (event.kind === "RUN_STARTED" && mayBeLate(event.latenessMs, LATE_SECONDS_MIN)),
  async handle(event, { env, now }) {
    await onRunEvent(env, event, now);
  },
};

/** Applies one run event to every rule covering its job, then enqueues the alerts it raised. */
export async function onRunEvent(env: Pick<Env, "DB" | "ALERT_QUEUE" | "SYSTEM_NAME">, event: RunEvent, now: number): Promise<void> {
  const db = env.DB;
  const rules = await activeRulesFor(db, event.jobId, event.jobType);
  if (rules.length === 0) return;
  const episodes = await loadEpisodes(
    db,
    rules.map((r) => r.uid),
    event.jobId,
  );
  const writes: D1PreparedStatement[] = [];
  for (const rule of rules) {
    const stored = episodes.get(rule.uid);
    if (stored?.lastEvent === event.id) continue; // applied already: this is a repeat
    const current = stored ?? NO_EPISODE;
    const d = decide(rule.conditions, current, event);
    if (!d.alert && sameEpisode(d.next, current)) continue;
    writes.push(saveEpisode(db, rule.uid, event.jobId, d.next, event.id, now));
    if (!d.alert) continue;
    const recovered = d.alert === "RECOVERED";
    const deliveryId = generateUid();
    const payload = buildPayload({
      deliveryId,
      alert: d.alert,
      system: env.SYSTEM_NAME || "HRHIS4 Edge",
      rule: { id: rule.uid, name: rule.name },
      event,
      failuresInARow: recovered ? d.failuresBefore : d.next.failures,
      openedAt: recovered ? current.openedAt : d.next.openedAt,
    });
    writes.push(
      insertDelivery(
        db,
        {
          uid: deliveryId,
          ruleUid: rule.uid,
          jobUid: event.jobId,
          eventId: event.id,
          alert: d.alert,
          channel: rule.channel,
          payload: JSON.stringify(payload),
        },
        now,
      ),
    );
  }
  if (writes.length > 0) await db.batch(writes);
  await enqueue(env, await pendingOfEvent(db, event.id), now);
}

/** Puts deliveries on the alert queue and marks them QUEUED (a throw leaves them PENDING). */
export async function enqueue(env: Pick<Env, "DB" | "ALERT_QUEUE">, uids: string[], now: number): Promise<void> {
  for (let i = 0; i < uids.length; i += SEND_BATCH) {
    const chunk = uids.slice(i, i + SEND_BATCH);
    await env.ALERT_QUEUE.sendBatch(chunk.map((delivery) => ({ body: { v: 1, delivery } satisfies AlertMessage, contentType: "json" })));
    await markQueued(env.DB, chunk, now);
  }
}

/**
 * The Cron Trigger's part for alerts: deliveries PENDING for more than PENDING_REPAIR_MS (their
 * listener gave up, or its object died between the D1 write and the send) go on the queue again, and
 * finished deliveries older than DELIVERY_RETENTION_MS are deleted.
 */
export async function repairAlerts(env: Pick<Env, "DB" | "ALERT_QUEUE">, now: number): Promise<{ requeued: number; purged: number }> {
  const stale = await stalePending(env.DB, now - PENDING_REPAIR_MS, 500);
  if (stale.length > 0) {
    await enqueue(env, stale, now);
    logEvent("warn", "alert.requeued", { count: stale.length });
  }
  const purged = await purgeDeliveries(env.DB, now - DELIVERY_RETENTION_MS, 1000);
  return { requeued: stale.length, purged };
}
