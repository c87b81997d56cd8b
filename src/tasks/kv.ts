/**
 * The KV copy of task notifications and summaries (binding `TASKS`), written through by each job's
 * Durable Object and read by the listing endpoints.
 *
 * Keys (one of each per job, the latest run only):
 * - `task:<JOB_TYPE>:<jobId>`    value: the notifications, newest first (JSON array, as the API shows them)
 *                                metadata: {@link TaskKeyMetadata}
 * - `summary:<JOB_TYPE>:<jobId>` value: the run's summary JSON
 *                                metadata: {@link SummaryKeyMetadata}
 *
 * The metadata carries what a listing needs to sort, filter by reader and (usually) answer a gist
 * without reading values, so `list({prefix})` alone answers `/api/system/tasks?gist=true`.
 * Every put carries an expiration of `notifierMaxAgeDays` (never below KV's 60 s minimum), so keys of
 * jobs that stopped reporting disappear by themselves after the retention period.
 */
import { ApiError } from "../http/webmessage";
import type { Notification } from "./types";

export const TASK_PREFIX = "task:";
export const SUMMARY_PREFIX = "summary:";
/** KV refuses an expiration less than 60 s away. */
export const MIN_KV_TTL_SECONDS = 60;
/** KV's metadata limit is 1024 bytes of JSON; the gist is only embedded when it fits under this. */
export const MAX_METADATA_BYTES = 1000;

export interface TaskKeyMetadata {
  /** Last activity (epoch ms of the newest message). */
  t: number;
  /** 1 when the newest message is `completed`. */
  c: 0 | 1;
  /** The user who started the run. */
  u?: string;
  /** KV writes made by the run so far, this one included (instrumentation). */
  w?: number;
  /** `[newest, oldest]` (or `[only]`) when it fits in the metadata. */
  g?: Notification[];
}

export interface SummaryKeyMetadata {
  /** When the summary was set (epoch ms). */
  t: number;
  u?: string;
  w?: number;
}

export function taskKey(jobType: string, jobId: string): string {
  return `${TASK_PREFIX}${jobType}:${jobId}`;
}

export function summaryKey(jobType: string, jobId: string): string {
  return `${SUMMARY_PREFIX}${jobType}:${jobId}`;
}

/** `{prefix, jobType, jobId}` of a task or summary key; null for anything else. */
export function parseKey(name: string): { kind: "task" | "summary"; jobType: string; jobId: string } | null {
  const kind = name.startsWith(TASK_PREFIX) ? "task" : name.startsWith(SUMMARY_PREFIX) ? "summary" : null;
  if (!kind) return null;
  const rest = name.slice(kind === "task" ? TASK_PREFIX.length : SUMMARY_PREFIX.length);
  const i = rest.lastIndexOf(":");
  if (i <= 0 || i === rest.length - 1) return null;
  return { kind, jobType: rest.slice(0, i), jobId: rest.slice(i + 1) };
}

/** Expiration for a put: the retention period, at least KV's minimum. */
export function kvTtlSeconds(maxAgeDays: number): number {
  return Math.max(MIN_KV_TTL_SECONDS, Math.round(maxAgeDays * 86_400));
}

/** Only the newest and the oldest message (one when they are the same), as DHIS2's gist. */
export function gistOf(list: Notification[]): Notification[] {
  if (list.length <= 2) return list.slice();
  return [list[0], list[list.length - 1]];
}

/** Metadata for a task key; the gist is dropped when the JSON would not fit KV's metadata limit. */
export function taskMetadata(list: Notification[], lastActivity: number, userUid: string | undefined, writes: number): TaskKeyMetadata {
  const meta: TaskKeyMetadata = { t: lastActivity, c: list[0]?.completed ? 1 : 0 };
  if (userUid) meta.u = userUid;
  meta.w = writes;
  const withGist: TaskKeyMetadata = { ...meta, g: gistOf(list) };
  return new TextEncoder().encode(JSON.stringify(withGist)).byteLength <= MAX_METADATA_BYTES ? withGist : meta;
}

/** Every key under a prefix, following the cursor (`list_complete`, not an empty page, ends it). */
/**
 * A KV read for a listing. KV being unreachable is an infrastructure fault, not a server bug:
 * 503 (the single-task endpoints do not depend on KV and keep answering from the job's object).
 */
async function kvRead<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (e) {
    console.error("KV read failed", e instanceof Error ? e.message : String(e));
    throw new ApiError(503, "Task listings are temporarily unavailable; single tasks can still be read.");
  }
}

export async function listAll<M>(kv: KVNamespace, prefix: string): Promise<Array<{ name: string; metadata?: M }>> {
  const out: Array<{ name: string; metadata?: M }> = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await kvRead(() => kv.list<M>({ prefix, cursor }));
    for (const k of page.keys) out.push({ name: k.name, metadata: (k.metadata ?? undefined) as M | undefined });
    if (page.list_complete) break;
    cursor = page.cursor;
  }
  return out;
}

/** JSON values of many keys, 100 per bulk read; missing keys are absent from the map. */
export async function getJsonMany(kv: KVNamespace, names: string[]): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  for (let i = 0; i < names.length; i += 100) {
    const chunk = names.slice(i, i + 100);
    const got = await kvRead(() => kv.get(chunk, "json"));
    for (const [k, v] of got) if (v !== null && v !== undefined) out.set(k, v);
  }
  return out;
}
