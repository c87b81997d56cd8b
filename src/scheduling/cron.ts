/**
 * Spring's `CronExpression` dialect (the one DHIS2 validates and schedules with), evaluated by
 * croner in an IANA time zone.
 *
 * Spring rules reproduced here:
 * - exactly six whitespace-separated fields: second minute hour day-of-month month day-of-week;
 * - macros `@yearly`/`@annually`, `@monthly`, `@weekly`, `@daily`/`@midnight`, `@hourly`;
 * - `*`, `a-b`, lists, steps `*\/n`, `a-b/n` and `a/n` (= `a-max/n`); `?` in the two day fields;
 * - month names JAN-DEC and day names MON-SUN (case-insensitive); Sunday is 0 or 7 (a range that
 *   starts at 7 starts at Sunday: `SUN-MON` is Sunday and Monday);
 * - day-of-month `L`, `L-n`, `LW`, `nW`; day-of-week `dL` (last d of the month), `d#n` (nth d);
 * - day-of-month AND day-of-week must both match (Unix cron ORs them).
 *
 * DST (croner's fixed-time rule "no-wildcard"): a job whose second, minute and hour fields have no
 * wildcard or step runs at the first valid instant after a skipped local time and only once in a
 * repeated hour; other jobs keep their cadence in real time.
 */
import { Cron, type CronOptions } from "croner";
import { wallClock } from "../http/dates";

const MACROS: Record<string, string> = {
  "@yearly": "0 0 0 1 1 *",
  "@annually": "0 0 0 1 1 *",
  "@monthly": "0 0 0 1 * *",
  "@weekly": "0 0 0 * * 0",
  "@daily": "0 0 0 * * *",
  "@midnight": "0 0 0 * * *",
  "@hourly": "0 0 * * * *",
};

const MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAYS = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"];

interface FieldType {
  /** Java's ChronoField name, used in Spring's range messages. */
  name: string;
  min: number;
  max: number;
}

const SECOND: FieldType = { name: "SecondOfMinute", min: 0, max: 59 };
const MINUTE: FieldType = { name: "MinuteOfHour", min: 0, max: 59 };
const HOUR: FieldType = { name: "HourOfDay", min: 0, max: 23 };
const DAY_OF_MONTH: FieldType = { name: "DayOfMonth", min: 1, max: 31 };
const MONTH: FieldType = { name: "MonthOfYear", min: 1, max: 12 };
const DAY_OF_WEEK: FieldType = { name: "DayOfWeek", min: 1, max: 7 };

class CronSyntaxError extends Error {}

/** A day-of-month item that croner cannot express (or that we evaluate ourselves). */
type DomItem =
  | { kind: "range"; min: number; max: number; step: number }
  | { kind: "last"; offset: number }
  | { kind: "lastWeekday" }
  | { kind: "nearestWeekday"; day: number };

/** A parsed expression: a croner pattern plus, when needed, our own day-of-month matcher. */
export interface ParsedCron {
  /** The normalised expression (macros resolved, trimmed). */
  expression: string;
  /** Six-part croner pattern. */
  pattern: string;
  /** Day-of-month items evaluated outside croner (`L`, `L-n`, `LW`, `nW`), or null. */
  dom: DomItem[] | null;
}

function parseJavaInt(text: string): number {
  if (!/^[+-]?\d+$/.test(text)) throw new CronSyntaxError(`For input string: "${text}"`);
  const n = Number(text);
  if (n > 2147483647 || n < -2147483648) throw new CronSyntaxError(`For input string: "${text}"`);
  return n;
}

function checkValue(type: FieldType, n: number): number {
  if (type === DAY_OF_WEEK && n === 0) return 0;
  if (n < type.min || n > type.max) {
    throw new CronSyntaxError(`Invalid value for ${type.name} (valid values ${type.min} - ${type.max}): ${n}`);
  }
  return n;
}

/** Replaces names (JAN, MON…) by their Spring numbers (months 1-12, days MON=1…SUN=7). */
function replaceOrdinals(value: string, names: string[]): string {
  let out = value.toUpperCase();
  names.forEach((name, i) => {
    out = out.split(name).join(String(i + 1));
  });
  return out;
}

/** One list item without Quartz extensions: `*`, `n`, `a-b`, each with an optional `/step`. */
function parseRangeItem(item: string, type: FieldType): { min: number; max: number; step: number } {
  const slash = item.indexOf("/");
  const rangePart = slash === -1 ? item : item.slice(0, slash);
  let min: number;
  let max: number;
  if (rangePart === "*") {
    min = type.min;
    max = type.max;
  } else {
    const hyphen = rangePart.indexOf("-", 1);
    if (hyphen === -1) {
      min = max = checkValue(type, parseJavaInt(rangePart));
    } else {
      min = checkValue(type, parseJavaInt(rangePart.slice(0, hyphen)));
      max = checkValue(type, parseJavaInt(rangePart.slice(hyphen + 1)));
      if (type === DAY_OF_WEEK && min === 7) min = 0;
      if (min > max) throw new CronSyntaxError("Minimum value must be less than maximum value");
    }
  }
  let step = 1;
  if (slash !== -1) {
    step = parseJavaInt(item.slice(slash + 1));
    if (step <= 0) throw new CronSyntaxError("Incrementer delta must be 1 or higher");
    // Spring: `a/n` means from a to the end of the field.
    if (rangePart !== "*" && rangePart.indexOf("-", 1) === -1) max = type === DAY_OF_WEEK ? 7 : type.max;
  }
  return { min, max, step };
}

function rangeToCroner(r: { min: number; max: number; step: number }, type: FieldType): string {
  if (r.step === 1) {
    if (r.min === type.min && r.max === type.max) return "*";
    return r.min === r.max ? String(r.min) : `${r.min}-${r.max}`;
  }
  // A step past the range's end selects only its start (Spring accepts any positive step; croner
  // rejects steps larger than the field).
  if (r.step > r.max - r.min) return String(r.min);
  return `${r.min}-${r.max}/${r.step}`;
}

function parseSimpleField(value: string, type: FieldType): string {
  const items = value.split(",");
  return items
    .map((item) => {
      if (item === "") throw new CronSyntaxError(`For input string: ""`);
      return rangeToCroner(parseRangeItem(item, type), type);
    })
    .join(",");
}

function wrapField(value: string, fn: () => string): string;
function wrapField<T>(value: string, fn: () => T): T;
function wrapField<T>(value: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof CronSyntaxError) throw new CronSyntaxError(`${e.message} '${value}'`);
    throw e;
  }
}

function parseDayOfMonth(value: string): { croner: string; dom: DomItem[] | null } {
  const v = value.toUpperCase();
  if (!v.includes("L") && !v.includes("W")) {
    return { croner: parseSimpleField(v === "?" ? "*" : v, DAY_OF_MONTH), dom: null };
  }
  const items: DomItem[] = v.split(",").map((item): DomItem => {
    if (item === "L") return { kind: "last", offset: 0 };
    if (item === "LW") return { kind: "lastWeekday" };
    if (item.startsWith("L-")) {
      const offset = parseJavaInt(item.slice(2));
      if (offset < 0 || offset > 30) throw new CronSyntaxError("Offset from last day must be between 0 and 30");
      return { kind: "last", offset };
    }
    if (item.endsWith("W") && item.length > 1) {
      const day = checkValue(DAY_OF_MONTH, parseJavaInt(item.slice(0, -1)));
      return { kind: "nearestWeekday", day };
    }
    if (item.includes("L") || item.includes("W")) throw new CronSyntaxError(`Unrecognized characters: ${item}`);
    const r = parseRangeItem(item === "?" ? "*" : item, DAY_OF_MONTH);
    return { kind: "range", ...r };
  });
  return { croner: "*", dom: items };
}

function parseDayOfWeek(value: string): string {
  if (value === "") throw new CronSyntaxError(`For input string: ""`);
  const v = replaceOrdinals(value, DAYS);
  if (v === "?" || v === "*") return "*";
  return v
    .split(",")
    .map((item) => {
      if (item === "") throw new CronSyntaxError(`For input string: ""`);
      const hash = item.indexOf("#");
      if (hash !== -1) {
        const day = checkValue(DAY_OF_WEEK, parseJavaInt(item.slice(0, hash)));
        const nth = parseJavaInt(item.slice(hash + 1));
        if (nth < 1 || nth > 5) throw new CronSyntaxError(`Ordinal '${nth}' in '${item}' must be 1-5`);
        return `${day % 7}#${nth}`;
      }
      if (item.endsWith("L")) {
        const dayText = item.slice(0, -1);
        if (dayText === "") throw new CronSyntaxError("No day-of-week before 'L'");
        const day = checkValue(DAY_OF_WEEK, parseJavaInt(dayText));
        return `${day % 7}L`;
      }
      const r = parseRangeItem(item === "?" ? "*" : item, DAY_OF_WEEK);
      // Expand to an explicit list so 7 (Sunday) and ranges through 7 mean the same to croner.
      const days = new Set<number>();
      for (let d = r.min; d <= r.max; d += r.step) days.add(d % 7);
      if (days.size === 7) return "*";
      return [...days].sort((a, b) => a - b).join(",");
    })
    .join(",");
}

/** Parses a Spring cron expression; throws an Error with Spring's message when it is invalid. */
export function parseCron(input: string): ParsedCron {
  if (typeof input !== "string" || input.length === 0) throw new Error("Expression string must not be empty");
  let expression = input.trim();
  const macro = MACROS[expression.toLowerCase()];
  if (macro) expression = macro;
  const fields = expression.split(/\s+/).filter((f) => f.length > 0);
  if (fields.length !== 6) {
    throw new Error(`Cron expression must consist of 6 fields (found ${fields.length} in "${expression}")`);
  }
  try {
    const [sec, min, hour, dom, month, dow] = fields;
    const parts = [
      wrapField(sec, () => parseSimpleField(sec, SECOND)),
      wrapField(min, () => parseSimpleField(min, MINUTE)),
      wrapField(hour, () => parseSimpleField(hour, HOUR)),
    ];
    const domParsed = wrapField(dom, () => parseDayOfMonth(dom));
    parts.push(domParsed.croner);
    parts.push(wrapField(month, () => parseSimpleField(replaceOrdinals(month, MONTHS), MONTH)));
    parts.push(wrapField(dow, () => parseDayOfWeek(dow)));
    const pattern = parts.join(" ");
    // Croner's own parse is the final check (it must accept everything we produce).
    new Cron(pattern, cronerOptions("Etc/UTC"));
    return { expression, pattern, dom: domParsed.dom };
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    throw new Error(`${detail} in cron expression "${expression}"`);
  }
}

function cronerOptions(timezone: string): CronOptions {
  return {
    timezone,
    mode: "6-part",
    domAndDow: true,
    sloppyRanges: true,
    paused: true,
    fixedTimeRule: "no-wildcard",
  };
}

/** Null when `expr` is a valid Spring cron expression, otherwise Spring's error message. */
export function validateCron(expr: string): string | null {
  try {
    parseCron(expr);
    return null;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** DHIS2's "no schedule" sentinel (the 2.29–2.33 continuous-execution cron) and blank crons. */
export function isNoScheduleCron(expr: string | null | undefined): boolean {
  if (expr == null) return true;
  const t = expr.trim();
  return t === "" || t.split(/\s+/).join(" ") === "* * * * * ?";
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/** Puts a value in a bounded cache, dropping the oldest entry when it is full. */
function remember<V>(cache: Map<string, V>, key: string, value: V, maxEntries: number): void {
  if (cache.has(key)) cache.delete(key);
  else if (cache.size >= maxEntries) cache.delete(cache.keys().next().value as string);
  cache.set(key, value);
}

const compiled = new Map<string, { parsed: ParsedCron; cron: Cron }>();

function compile(expr: string, timeZone: string): { parsed: ParsedCron; cron: Cron } {
  const key = `${timeZone}\u0000${expr}`;
  let hit = compiled.get(key);
  if (!hit) {
    const parsed = parseCron(expr);
    hit = { parsed, cron: new Cron(parsed.pattern, cronerOptions(timeZone)) };
    remember(compiled, key, hit, 1000);
  }
  return hit;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** 0 = Sunday … 6 = Saturday. */
function weekday(year: number, month: number, day: number): number {
  return new Date(Date.UTC(year, month - 1, day)).getUTCDay();
}

/** Spring's `nW`: the weekday nearest to day n, never leaving the month. */
function nearestWeekday(year: number, month: number, day: number): number | null {
  const last = daysInMonth(year, month);
  if (day > last) return null;
  const wd = weekday(year, month, day);
  if (wd === 6) return day === 1 ? 3 : day - 1; // Saturday → Friday (or Monday the 3rd)
  if (wd === 0) return day === last ? day - 2 : day + 1; // Sunday → Monday (or Friday)
  return day;
}

function domMatches(items: DomItem[], year: number, month: number, day: number): boolean {
  const last = daysInMonth(year, month);
  return items.some((item) => {
    switch (item.kind) {
      case "range":
        return day >= item.min && day <= item.max && (day - item.min) % item.step === 0;
      case "last":
        return day === last - item.offset;
      case "lastWeekday": {
        const wd = weekday(year, month, last);
        const target = wd === 6 ? last - 1 : wd === 0 ? last - 2 : last;
        return day === target;
      }
      case "nearestWeekday":
        return nearestWeekday(year, month, item.day) === day;
      default:
        return false;
    }
  });
}

const SEARCH_LIMIT_MS = 8 * 366 * 24 * 3600 * 1000;

/**
 * The first occurrence of `expr` strictly after `afterMs` (epoch ms), evaluated in `timeZone`.
 * Null when the expression is invalid, is the "no schedule" sentinel, or never fires again.
 * Occurrences are whole seconds.
 */
/**
 * Exact memo per (zone, expression): the answer `next` for a start `from` is also the answer for
 * every start in [from, next), so list reads of many jobs with the same cron skip the evaluation.
 */
const NEXT_MEMO = new Map<string, { from: number; next: number }>();
const NEXT_MEMO_MAX = 20_000;

export function nextCronOccurrence(expr: string, afterMs: number, timeZone: string): number | null {
  const key = `${timeZone}\u0000${expr}`;
  const hit = NEXT_MEMO.get(key);
  if (hit && hit.from <= afterMs && afterMs < hit.next) return hit.next;
  const next = computeNextOccurrence(expr, afterMs, timeZone);
  if (next !== null) remember(NEXT_MEMO, key, { from: afterMs, next }, NEXT_MEMO_MAX);
  return next;
}

function computeNextOccurrence(expr: string, afterMs: number, timeZone: string): number | null {
  if (isNoScheduleCron(expr)) return null;
  let c: { parsed: ParsedCron; cron: Cron };
  try {
    c = compile(expr, timeZone);
  } catch {
    return null;
  }
  // croner's nextRun(from) is strictly after `from` at second precision; step back to the whole
  // second so an `afterMs` inside a second never yields that same second.
  let from = Math.floor(afterMs / 1000) * 1000;
  const limit = afterMs + SEARCH_LIMIT_MS;
  for (let guard = 0; guard < 10_000; guard++) {
    const next = c.cron.nextRun(new Date(from));
    if (!next) return null;
    const t = next.getTime();
    if (t > limit) return null;
    if (!c.parsed.dom) return t;
    const p = wallClock(t, timeZone);
    if (domMatches(c.parsed.dom, p.year, p.month, p.day)) return t;
    // Skip the rest of this local day; stay an hour short so a 25-hour day cannot be overshot.
    const rest = ((23 - p.hour) * 3600 + (59 - p.minute) * 60 + (59 - p.second)) * 1000;
    from = t + Math.max(0, rest - 3600_000);
  }
  return null;
}

/** The next `count` occurrences after `afterMs` (for tests and previews). */
export function nextCronOccurrences(expr: string, afterMs: number, timeZone: string, count: number): number[] {
  const out: number[] = [];
  let t = afterMs;
  while (out.length < count) {
    const n = nextCronOccurrence(expr, t, timeZone);
    if (n === null) break;
    out.push(n);
    t = n;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Meaning and density (the same-cron check E7000 and the shortest-interval quota)

/** Sorted values as canonical text: runs of consecutive values as `a-b`. */
function valuesText(values: Iterable<number>): string {
  const sorted = [...new Set(values)].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    out.push(j > i ? `${sorted[i]}-${sorted[j]}` : String(sorted[i]));
    i = j + 1;
  }
  return out.join(",");
}

/** The values a croner field (`*`, `n`, `a-b`, `a-b/s`, comma-separated) selects. */
function expandField(field: string, type: FieldType): number[] {
  const values: number[] = [];
  for (const item of field.split(",")) {
    const m = /^(\*|\d+)(?:-(\d+))?(?:\/(\d+))?$/.exec(item);
    if (!m) continue;
    const min = m[1] === "*" ? type.min : Number(m[1]);
    const max = m[1] === "*" ? type.max : m[2] !== undefined ? Number(m[2]) : min;
    const step = m[3] !== undefined ? Number(m[3]) : 1;
    for (let v = min; v <= max; v += step) values.push(v);
  }
  return values;
}

/**
 * What a cron expression means, as one canonical text: the values each field selects (`0-59/1`, `0-59`
 * and `*` are the same), `?` as `*`, Sunday as 0, day items evaluated outside croner (`L`, `W`, `#`)
 * in a fixed order. Two expressions with the same meaning fire at the same instants. Null when the
 * expression is invalid; `none` for DHIS2's "no schedule" sentinel.
 */
export function cronMeaning(expr: string): string | null {
  if (isNoScheduleCron(expr)) return "none";
  let parsed: ParsedCron;
  try {
    parsed = parseCron(expr);
  } catch {
    return null;
  }
  const [sec, min, hour, dom, month, dow] = parsed.pattern.split(" ");
  let days: string;
  if (parsed.dom === null) days = valuesText(expandField(dom, DAY_OF_MONTH));
  else {
    const plain: number[] = [];
    const special: string[] = [];
    for (const item of parsed.dom) {
      if (item.kind === "range") for (let d = item.min; d <= item.max; d += item.step) plain.push(d);
      else if (item.kind === "last") special.push(`L-${item.offset}`);
      else if (item.kind === "lastWeekday") special.push("LW");
      else special.push(`${item.day}W`);
    }
    days = [valuesText(plain), ...[...new Set(special)].sort()].filter(Boolean).join(",");
  }
  const weekdays = dow.split(",");
  const plainWeekdays = weekdays.filter((d) => /^(\*|\d+)$/.test(d)).join(",");
  const specialWeekdays = [...new Set(weekdays.filter((d) => !/^(\*|\d+)$/.test(d)))].sort();
  const dowText = [plainWeekdays ? valuesText(expandField(plainWeekdays, { name: "", min: 0, max: 6 })) : "", ...specialWeekdays]
    .filter(Boolean)
    .join(",");
  return [
    valuesText(expandField(sec, SECOND)),
    valuesText(expandField(min, MINUTE)),
    valuesText(expandField(hour, HOUR)),
    days,
    valuesText(expandField(month, MONTH)),
    dowText,
  ].join(" ");
}

/** Occurrences sampled by `shortestCronInterval`: more than a minute of every-second firing. */
const INTERVAL_SAMPLES = 128;

/**
 * The shortest time (ms) between two consecutive occurrences among the next INTERVAL_SAMPLES after
 * `afterMs`, or null when the expression fires fewer than twice (or is invalid). A cron's densest
 * stretch repeats at least every day, and more than a minute of occurrences is sampled, so this is
 * how often it can fire.
 */
export function shortestCronInterval(expr: string, afterMs: number, timeZone: string): number | null {
  const times = nextCronOccurrences(expr, afterMs, timeZone, INTERVAL_SAMPLES);
  let shortest: number | null = null;
  for (let i = 1; i < times.length; i++) {
    const gap = times[i] - times[i - 1];
    if (shortest === null || gap < shortest) shortest = gap;
  }
  return shortest;
}
