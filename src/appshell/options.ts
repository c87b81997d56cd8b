/**
 * Option lists for the Scheduler app's job form (validation rule groups, predictors, dashboards, …).
 * This service owns none of that metadata, so every list comes from an `OptionSource`:
 *
 * - `emptyOptionSource` (the default): honest empty lists, never invented data.
 * - `bridgedOptionSource(fetchJson, …)`: the hook for a DHIS2 bridge (a later issue). It asks a real
 *   DHIS2 server through `fetchJson(path, signal)` with a timeout, caches each answer in the isolate,
 *   and on any failure (network, timeout, non-2xx, unexpected shape) logs a warning and answers an
 *   empty list, so the job form never sees a 5xx. The bridge installs it with `setOptionSourceFactory`.
 *
 * The analytics table types are not metadata: they are DHIS2's `AnalyticsTableType` enum, served as is.
 */
import { withDeadline } from "../http/deadline";

export interface OptionItem {
  id: string;
  displayName: string;
}

/** The list resources the form loads, named as their DHIS2 collection (also the JSON member name). */
export const OPTION_LISTS = [
  "validationRuleGroups",
  "predictors",
  "predictorGroups",
  "dashboards",
  "userGroups",
  "programs",
  "pushAnalysis",
  "aggregateDataExchanges",
] as const;
export type OptionListName = (typeof OPTION_LISTS)[number];

/** A data integrity check as `GET /api/dataIntegrity` lists it (DHIS2 DataIntegrityCheck). */
export type DataIntegrityCheck = { name: string; displayName: string } & Record<string, unknown>;

export interface OptionSource {
  list(name: OptionListName): Promise<OptionItem[]>;
  dataIntegrityChecks(): Promise<DataIntegrityCheck[]>;
}

/** DHIS2's AnalyticsTableType enum, in order: the one list the job parameters also use. */
export { ANALYTICS_TABLE_TYPES } from "../jobs/constants";

export const emptyOptionSource: OptionSource = {
  list: async () => [],
  dataIntegrityChecks: async () => [],
};

export interface BridgeOptions {
  /** Abort a bridge call after this long (default 3 s). */
  timeoutMs?: number;
  /** Keep an answer this long (default 5 min). Failures are not cached. */
  ttlMs?: number;
  /** The current time (the composition root passes `clock.now`). */
  now: () => number;
  /** Where warnings go (default `console.warn`). */
  warn?: (message: string) => void;
}

/** GETs a DHIS2 API path (e.g. `/api/predictors?fields=id,displayName&paging=false`) and parses JSON. */
export type BridgeFetch = (path: string, signal: AbortSignal) => Promise<unknown>;

function isOptionItem(v: unknown): v is OptionItem {
  return (
    typeof v === "object" && v !== null && typeof (v as OptionItem).id === "string" && typeof (v as OptionItem).displayName === "string"
  );
}

function isCheck(v: unknown): v is DataIntegrityCheck {
  return (
    typeof v === "object" &&
    v !== null &&
    typeof (v as DataIntegrityCheck).name === "string" &&
    typeof (v as DataIntegrityCheck).displayName === "string"
  );
}

/** Option lists answered by a real DHIS2 server (see the module comment). */
export function bridgedOptionSource(fetchJson: BridgeFetch, opts: BridgeOptions): OptionSource {
  const timeoutMs = opts.timeoutMs ?? 3000;
  const ttlMs = opts.ttlMs ?? 5 * 60_000;
  const warn = opts.warn ?? ((m: string) => console.warn(m));
  const cache = new Map<string, { expires: number; value: unknown[] }>();

  async function cached<T>(key: string, path: string, extract: (body: unknown) => T[] | null): Promise<T[]> {
    const hit = cache.get(key);
    if (hit && hit.expires > opts.now()) return hit.value as T[];
    const controller = new AbortController();
    try {
      const body = await withDeadline(fetchJson(path, controller.signal), timeoutMs, `timed out after ${timeoutMs} ms`, () =>
        controller.abort(),
      );
      const value = extract(body);
      if (value === null) throw new Error("unexpected response shape");
      cache.set(key, { expires: opts.now() + ttlMs, value });
      return value;
    } catch (e) {
      warn(`Option list ${key}: DHIS2 bridge failed (${e instanceof Error ? e.message : String(e)}); answering an empty list`);
      return [];
    }
  }

  return {
    list: (name) =>
      cached(name, `/api/${name}?fields=id,displayName&paging=false`, (body) => {
        const items = (body as Record<string, unknown> | null)?.[name];
        if (!Array.isArray(items)) return null;
        return items.filter(isOptionItem).map(({ id, displayName }) => ({ id, displayName }));
      }),
    dataIntegrityChecks: () => cached("dataIntegrity", `/api/dataIntegrity`, (body) => (Array.isArray(body) ? body.filter(isCheck) : null)),
  };
}

type OptionSourceFactory = (env: Env) => OptionSource;
let factory: OptionSourceFactory = () => emptyOptionSource;

/** The bridge (or a test) installs its source here; `null` restores the empty lists. */
export function setOptionSourceFactory(next: OptionSourceFactory | null): void {
  factory = next ?? (() => emptyOptionSource);
}

export function optionSource(env: Env): OptionSource {
  return factory(env);
}
