/**
 * DHIS2 writes dates as `yyyy-MM-dd'T'HH:mm:ss.SSS` in the server time zone, with no offset.
 * Everything here is a pure function of an epoch-millisecond instant and an IANA zone.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-GB", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** Wall-clock fields of `instant` in `timeZone`. */
export function wallClock(instant: number, timeZone: string) {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(instant))) {
    if (p.type !== "literal") parts[p.type] = Number(p.value);
  }
  const ms = ((instant % 1000) + 1000) % 1000;
  return { year: parts.year, month: parts.month, day: parts.day, hour: parts.hour, minute: parts.minute, second: parts.second, ms };
}

/** Offset of `timeZone` from UTC at `instant`, in milliseconds. */
export function zoneOffset(instant: number, timeZone: string): number {
  const w = wallClock(instant, timeZone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second, w.ms);
  return asUtc - instant;
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

export function formatDate(instant: number | null | undefined, timeZone: string): string | undefined {
  if (instant === null || instant === undefined || !Number.isFinite(instant)) return undefined;
  const w = wallClock(instant, timeZone);
  return `${pad(w.year, 4)}-${pad(w.month)}-${pad(w.day)}T${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}.${pad(w.ms, 3)}`;
}

/** `HH:mm:ss.SSS` for a duration (DHIS2's lastRuntimeExecution). */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms));
  const h = Math.floor(total / 3_600_000);
  const m = Math.floor((total % 3_600_000) / 60_000);
  const s = Math.floor((total % 60_000) / 1000);
  return `${pad(h)}:${pad(m)}:${pad(s)}.${pad(total % 1000, 3)}`;
}

const LOCAL = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?)?$/;

/**
 * Reads a date as DHIS2 accepts it: an ISO instant with an offset, or a local date-time
 * (`yyyy-MM-dd[THH:mm[:ss[.SSS]]]`) interpreted in `timeZone`. Returns epoch ms or null.
 */
export function parseDate(text: string, timeZone: string): number | null {
  const m = LOCAL.exec(text.trim());
  if (!m) {
    if (!/[zZ]|[+-]\d{2}:?\d{2}$/.test(text)) return null;
    const t = Date.parse(text);
    return Number.isNaN(t) ? null : t;
  }
  const [, y, mo, d, h = "0", mi = "0", s = "0", frac = "0"] = m;
  const wall = Date.UTC(+y, +mo - 1, +d, +h, +mi, +s, Number(frac.padEnd(3, "0")));
  const check = new Date(wall);
  if (check.getUTCMonth() !== +mo - 1 || check.getUTCDate() !== +d) return null;
  // Two passes find the instant whose wall clock in the zone equals `wall` (DST-safe).
  let guess = wall - zoneOffset(wall, timeZone);
  guess = wall - zoneOffset(guess, timeZone);
  return guess;
}

export const DEFAULT_TIME_ZONE = "Etc/UTC";

/** The server time zone (`SERVER_TIMEZONE`, default Etc/UTC): cron evaluation and every API date. */
export function serverTimeZone(env: { SERVER_TIMEZONE?: string }): string {
  return env.SERVER_TIMEZONE || DEFAULT_TIME_ZONE;
}
