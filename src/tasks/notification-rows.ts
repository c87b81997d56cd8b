/**
 * The storage side of a job's task notifications (job-notifications.ts): the object's SQLite tables
 * and their row types, the schema's later columns, and the message UIDs derived from job and time.
 */
import type { NotificationLevel } from "./types";

export const LEVELS = new Set<NotificationLevel>(["DEBUG", "LOOP", "INFO", "WARN", "ERROR"]);
const LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const ALNUM = `0123456789${LETTERS}`;

/** 32-bit FNV-1a. */
function fnv1a(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * A valid UID for a message of `jobId` at `time`: a letter and two characters from the job, then the
 * time (ms) in base 62 over 8 characters. Times are unique within a job, so UIDs are too, and the same
 * message always gets the same UID (DHIS2 2.42 also derives it from the timestamp).
 */
export function notificationUid(jobId: string, time: number): string {
  const h = fnv1a(jobId);
  let out = LETTERS[h % 52] + ALNUM[(h >>> 8) % 62] + ALNUM[(h >>> 16) % 62];
  let t = Math.max(0, Math.floor(time));
  const digits: string[] = [];
  for (let i = 0; i < 8; i++) {
    digits.push(ALNUM[t % 62]);
    t = Math.floor(t / 62);
  }
  out += digits.reverse().join("");
  return out;
}

export interface RunRow extends Record<string, SqlStorageValue> {
  job_id: string;
  job_type: string;
  user_uid: string | null;
  started: number;
  last_time: number;
  running: number;
  summary: string | null;
  summary_time: number | null;
  max_messages: number;
  max_age_days: number;
  kv_type: string | null;
  kv_task_dirty: number;
  kv_summary_dirty: number;
  kv_task_written: number;
  kv_summary_written: number;
  kv_last_write: number;
  kv_run_first_write: number | null;
  run_kv_writes: number;
  total_kv_writes: number;
}

export interface RunWithNewest extends RunRow {
  newest_seq: number | null;
  newest_level: string | null;
}

export interface MessageRow extends Record<string, SqlStorageValue> {
  seq: number;
  time: number;
  uid: string;
  level: string;
  message: string;
  completed: number;
  data: string | null;
}

export type KvOp = { kind: "delete"; key: string; stale?: boolean } | { kind: "task" } | { kind: "summary" };

export const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS tasks_run (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    job_id TEXT NOT NULL,
    job_type TEXT NOT NULL,
    user_uid TEXT,
    started INTEGER NOT NULL,
    last_time INTEGER NOT NULL,
    running INTEGER NOT NULL DEFAULT 0,
    summary TEXT,
    summary_time INTEGER,
    max_messages INTEGER NOT NULL,
    max_age_days INTEGER NOT NULL,
    kv_type TEXT,
    kv_task_dirty INTEGER NOT NULL DEFAULT 0,
    kv_summary_dirty INTEGER NOT NULL DEFAULT 0,
    kv_task_written INTEGER NOT NULL DEFAULT 0,
    kv_summary_written INTEGER NOT NULL DEFAULT 0,
    kv_last_write INTEGER NOT NULL DEFAULT 0,
    kv_run_first_write INTEGER,
    run_kv_writes INTEGER NOT NULL DEFAULT 0,
    total_kv_writes INTEGER NOT NULL DEFAULT 0
  )`,
  `CREATE TABLE IF NOT EXISTS tasks_messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    time INTEGER NOT NULL,
    uid TEXT NOT NULL,
    level TEXT NOT NULL,
    message TEXT NOT NULL,
    completed INTEGER NOT NULL DEFAULT 0,
    data TEXT
  )`,
  /** Keys written under an earlier job type, still to be deleted from KV. */
  `CREATE TABLE IF NOT EXISTS tasks_kv_deletes (key TEXT PRIMARY KEY)`,
];

/** Columns added to `tasks_run` after its first version: [name, declaration]. */
export const ADDED_COLUMNS: Array<[string, string]> = [["kv_run_first_write", "INTEGER"]];
