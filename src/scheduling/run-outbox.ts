/**
 * Delivery of run events from one job's Durable Object to the registered listeners, at least once.
 *
 * - `emit` stores the event in the object's own SQLite (`run_event_outbox`), one row naming the
 *   listeners that accept it, then delivers it. An event no listener accepts is not stored at all.
 * - A row leaves the table once every listener it names has taken the event. A listener that throws,
 *   or does not answer within DELIVERY_TIMEOUT_MS, keeps its name on the row; the row is retried
 *   with exponential backoff (RETRY_BASE_MS doubling up to RETRY_MAX_MS) at the object's next alarm
 *   or contact (`retryDue`); the engine keeps an alarm armed for it (`nextRetryAt`).
 * - Order per listener: rows go out in the order they were emitted, and a listener with an earlier
 *   event still waiting gets no later one, so a listener sees each object's events in order.
 * - Give-up: an event a listener still refuses DROP_AFTER_MS after it was emitted is dropped for that
 *   listener, with an error log naming the event (a dead listener must not grow the table forever).
 *   A listener that is no longer registered (a deployment removed it) is dropped with a warning.
 * - One delivery pass at a time per object; events emitted meanwhile join the running pass.
 */
import { withDeadline } from "../http/deadline";
import { logEvent } from "../http/log";
import type { RunEvent, RunListener } from "./run-events";

export const DELIVERY_TIMEOUT_MS = 10_000;
export const RETRY_BASE_MS = 1_000;
export const RETRY_MAX_MS = 10 * 60_000;
export const DROP_AFTER_MS = 24 * 3600_000;

type OutboxRow = {
  seq: number;
  event: string;
  pending: string;
  attempts: number;
  next_at: number;
  created: number;
};

/** The delay before the `attempts`-th retry. */
export function retryDelay(attempts: number): number {
  return Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.max(0, attempts - 1));
}

export interface OutboxDeps {
  sql: SqlStorage;
  env: Env;
  now: () => number;
  /** The registered listeners (read at every emit and delivery). */
  listeners: () => readonly RunListener[];
  /** Default DELIVERY_TIMEOUT_MS. */
  deliveryTimeoutMs?: number;
}

export class RunEventOutbox {
  private readonly sql: SqlStorage;
  /** Rows in the table (kept in memory: an empty outbox costs no query). */
  private rows: number;
  private running: Promise<void> | null = null;
  private again = false;

  constructor(private readonly deps: OutboxDeps) {
    this.sql = deps.sql;
    this.sql.exec(
      `CREATE TABLE IF NOT EXISTS run_event_outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, event TEXT NOT NULL,
         pending TEXT NOT NULL, attempts INTEGER NOT NULL, next_at INTEGER NOT NULL, created INTEGER NOT NULL)`,
    );
    this.rows = this.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM run_event_outbox`).one().n;
  }

  /**
   * Stores the event for the listeners that accept it and starts its delivery. The promise settles
   * when that delivery pass is over (it never rejects); a caller may leave it running.
   */
  emit(event: RunEvent): Promise<void> {
    const names: string[] = [];
    for (const l of this.deps.listeners()) if (accepts(l, event)) names.push(l.name);
    if (names.length === 0) return Promise.resolve();
    const now = this.deps.now();
    this.sql.exec(
      `INSERT INTO run_event_outbox (event, pending, attempts, next_at, created) VALUES (?, ?, 0, ?, ?)`,
      JSON.stringify(event),
      JSON.stringify(names),
      now,
      now,
    );
    this.rows++;
    return this.deliver();
  }

  /** Delivers the events that are due again (the object's alarm or a contact). */
  retryDue(): Promise<void> {
    if (this.rows === 0) return Promise.resolve();
    return this.deliver();
  }

  /** The delivery pass in progress, if any. */
  settled(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  /** When undelivered events are due again (the object must hold an alarm by then), or null. */
  nextRetryAt(): number | null {
    if (this.rows === 0) return null;
    return this.sql.exec<{ t: number | null }>(`SELECT MIN(next_at) AS t FROM run_event_outbox`).one().t;
  }

  /** How many events wait for delivery (tests and the debug snapshot). */
  size(): number {
    return this.rows;
  }

  private deliver(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    const run = async () => {
      do {
        this.again = false;
        await this.pass();
      } while (this.again);
    };
    this.running = run()
      .catch((e) => logEvent("error", "run_event.outbox_failed", { error: e }))
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  /**
   * One pass over the table in emission order. `waiting` holds, per listener, when its earliest
   * undelivered event is due again: its later events wait for it. Every row left after a pass has
   * `next_at` in the future (its own backoff, or the instant what it waits for is due).
   */
  private async pass(): Promise<void> {
    if (this.rows === 0) return;
    const rows = this.sql.exec<OutboxRow>(`SELECT * FROM run_event_outbox ORDER BY seq`).toArray();
    const now = this.deps.now();
    const waiting = new Map<string, number>();
    for (const row of rows) {
      const names = parseNames(row.pending);
      if (row.next_at > now) {
        for (const n of names) if (!waiting.has(n)) waiting.set(n, row.next_at);
        continue;
      }
      const event = JSON.parse(row.event) as RunEvent;
      const ready = names.filter((n) => !waiting.has(n));
      const results = await Promise.all(ready.map((n) => this.deliverTo(n, event, now, row.attempts + 1)));
      const failed = ready.filter((_n, i) => results[i] === "failed");
      let left = names.filter((n) => waiting.has(n) || failed.includes(n));
      if (failed.length && now - row.created >= DROP_AFTER_MS) {
        logEvent("error", "run_event.dropped", { listeners: failed, eventId: event.id, kind: event.kind, jobId: event.jobId, event });
        left = left.filter((n) => !failed.includes(n));
      }
      if (left.length === 0) {
        this.sql.exec(`DELETE FROM run_event_outbox WHERE seq = ?`, row.seq);
        this.rows--;
        continue;
      }
      const attempts = failed.length ? row.attempts + 1 : row.attempts;
      for (const n of left) if (!waiting.has(n)) waiting.set(n, now + retryDelay(attempts)); // failed now: its backoff
      const nextAt = Math.min(...left.map((n) => waiting.get(n)!));
      this.sql.exec(
        `UPDATE run_event_outbox SET pending = ?, attempts = ?, next_at = ? WHERE seq = ?`,
        JSON.stringify(left),
        attempts,
        nextAt,
        row.seq,
      );
    }
  }

  private async deliverTo(name: string, event: RunEvent, now: number, attempt: number): Promise<"done" | "failed" | "gone"> {
    const listener = this.deps.listeners().find((l) => l.name === name);
    if (!listener) {
      logEvent("warn", "run_event.listener_gone", { listener: name, eventId: event.id, kind: event.kind, jobId: event.jobId });
      return "gone";
    }
    const limit = this.deps.deliveryTimeoutMs ?? DELIVERY_TIMEOUT_MS;
    try {
      const context = { env: this.deps.env, now, attempt };
      await withDeadline(
        Promise.resolve().then(() => listener.handle(event, context)),
        limit,
        `no answer within ${limit} ms`,
      );
      return "done";
    } catch (e) {
      logEvent("warn", "run_event.delivery_failed", {
        listener: name,
        eventId: event.id,
        kind: event.kind,
        jobId: event.jobId,
        attempt,
        error: e,
      });
      return "failed";
    }
  }
}

/** A listener's filter; one that throws refuses the event (and is logged). */
function accepts(listener: RunListener, event: RunEvent): boolean {
  if (!listener.accepts) return true;
  try {
    return listener.accepts(event);
  } catch (e) {
    logEvent("warn", "run_event.accepts_failed", { listener: listener.name, eventId: event.id, error: e });
    return false;
  }
}

function parseNames(raw: string): string[] {
  try {
    const v: unknown = JSON.parse(raw);
    return Array.isArray(v) ? v.filter((n): n is string => typeof n === "string") : [];
  } catch {
    return [];
  }
}
