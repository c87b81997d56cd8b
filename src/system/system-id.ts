/**
 * The installation's `systemId`: a UUID generated on first use and kept in D1 (`system_settings`,
 * key `keySystemId`), so it survives restarts and deployments. INSERT OR IGNORE makes concurrent
 * first requests agree on one value; every isolate then keeps it in memory (it never changes).
 * The same round trip reads the SQLite version of the database for `databaseInfo`.
 */
export const SYSTEM_ID_KEY = "keySystemId";

export interface DatabaseFacts {
  systemId: string;
  databaseVersion?: string;
}

let cached: Promise<DatabaseFacts> | undefined;

function readValue(text: string): string {
  try {
    const v = JSON.parse(text);
    return typeof v === "string" ? v : text;
  } catch {
    return text;
  }
}

async function load(db: D1Database): Promise<DatabaseFacts> {
  const [, row] = await db.batch<{ value: string }>([
    db.prepare(`INSERT OR IGNORE INTO system_settings (key, value) VALUES (?, ?)`).bind(SYSTEM_ID_KEY, JSON.stringify(crypto.randomUUID())),
    db.prepare(`SELECT value FROM system_settings WHERE key = ?`).bind(SYSTEM_ID_KEY),
  ]);
  const value = row.results[0]?.value;
  if (!value) throw new Error("systemId could not be stored");
  const facts: DatabaseFacts = { systemId: readValue(value) };
  try {
    const v = await db.prepare(`SELECT sqlite_version() AS v`).first<{ v: string }>();
    if (v?.v) facts.databaseVersion = `SQLite ${v.v}`;
  } catch {
    // Not every D1 build exposes sqlite_version(); the field is then omitted.
  }
  return facts;
}

export function databaseFacts(db: D1Database): Promise<DatabaseFacts> {
  cached ??= load(db).catch((e) => {
    cached = undefined;
    throw e;
  });
  return cached;
}

/** Tests: forget the in-memory copy (the next call reads D1 again, as a fresh isolate would). */
export function forgetDatabaseFacts(): void {
  cached = undefined;
}
