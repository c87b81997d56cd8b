/**
 * Event counters for /api/metrics (authentication failures, throttled requests, …), kept in D1 so that
 * every isolate reports the same totals. Counting is cheap and bounded even under attack: an isolate
 * adds events up in memory and writes them in one batch at most every FLUSH_INTERVAL_MS (the first
 * event after a quiet period is written at once; later ones join a flush scheduled with `waitUntil`).
 * Events of an isolate that dies before its flush are lost; the counters are for monitoring, not billing.
 */

/** Shortest time between two flushes of one isolate. */
export const FLUSH_INTERVAL_MS = 5_000;

export type CounterLabels = Record<string, string>;

interface Pending {
  name: string;
  labels: string;
  n: number;
}

const pending = new Map<string, Pending>();
let lastFlush = 0;
let scheduled: Promise<void> | null = null;

/** The canonical text of a label set (keys sorted), as stored. */
export function labelKey(labels: CounterLabels = {}): string {
  return JSON.stringify(Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));
}

export interface CounterSink {
  db: D1Database;
  /** Keeps the flush alive after the response (the request's `executionCtx.waitUntil`). */
  waitUntil(p: Promise<unknown>): void;
  now(): number;
}

/** Counts `n` events of `name` with `labels`; written to D1 by this or a later flush of the isolate. */
export function countEvent(sink: CounterSink, name: string, labels: CounterLabels = {}, n = 1): void {
  const key = `${name}\u0000${labelKey(labels)}`;
  const entry = pending.get(key);
  if (entry) entry.n += n;
  else pending.set(key, { name, labels: labelKey(labels), n });
  if (scheduled) return;
  const run = (async () => {
    await Promise.resolve(); // `scheduled` is set before the first flush starts
    try {
      while (pending.size > 0) {
        const wait = Math.min(FLUSH_INTERVAL_MS, Math.max(0, lastFlush + FLUSH_INTERVAL_MS - sink.now()));
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        await flushCounters(sink.db, sink.now());
      }
    } finally {
      scheduled = null; // after a failed flush the counts wait for the next event's flush
    }
  })();
  scheduled = run;
  sink.waitUntil(run.catch(() => undefined));
}

/** Writes what this isolate has counted (one batch); on failure the counts stay for the next flush. */
export async function flushCounters(db: D1Database, now: number): Promise<void> {
  if (pending.size === 0) return;
  const entries = [...pending.values()];
  pending.clear();
  lastFlush = now;
  try {
    await db.batch(
      entries.map((e) =>
        db
          .prepare(
            `INSERT INTO metric_counters (name, labels, value, updated) VALUES (?, ?, ?, ?)
             ON CONFLICT (name, labels) DO UPDATE SET value = value + excluded.value, updated = excluded.updated`,
          )
          .bind(e.name, e.labels, e.n, now),
      ),
    );
  } catch (e) {
    for (const entry of entries) {
      const key = `${entry.name}\u0000${entry.labels}`;
      const again = pending.get(key);
      if (again) again.n += entry.n;
      else pending.set(key, entry);
    }
    throw e;
  }
}

export interface CounterRow {
  name: string;
  labels: CounterLabels;
  value: number;
}

/** Every stored counter (what /api/metrics reports). */
export async function readCounters(db: D1Database): Promise<CounterRow[]> {
  const { results } = await db
    .prepare(`SELECT name, labels, value FROM metric_counters ORDER BY name, labels`)
    .all<{ name: string; labels: string; value: number }>();
  return results.map((r) => ({ name: r.name, labels: JSON.parse(r.labels) as CounterLabels, value: r.value }));
}

/** Tests: forget what this isolate holds. */
export function resetCounterBuffer(): void {
  pending.clear();
  lastFlush = 0;
  scheduled = null;
}
