/**
 * DHIS2 personal access tokens (`Authorization: ApiToken d2pat_…`). Only a SHA-256 of the key is
 * stored: keys carry 190 bits of randomness, so a slow hash adds nothing.
 */
import { generateUid } from "../http/uid";
import { settingValue } from "../settings/settings";
import { sha256Hex } from "./password";
import type { TokenAttribute } from "./token-attributes";

const ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
export const TOKEN_PREFIX = "d2pat_";

function crc32(text: string): number {
  let crc = -1;
  for (const byte of new TextEncoder().encode(text)) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = (crc >>> 1) ^ (0xedb88320 & -(crc & 1));
  }
  return (crc ^ -1) >>> 0;
}

/** `d2pat_` + 32 random characters + a 10-digit CRC32 checksum, as DHIS2's tokens look. */
export function newTokenKey(): string {
  const limit = 256 - (256 % ALPHABET.length);
  let body = "";
  while (body.length < 32) {
    for (const b of crypto.getRandomValues(new Uint8Array(48))) {
      if (b < limit && body.length < 32) body += ALPHABET[b % ALPHABET.length];
    }
  }
  return `${TOKEN_PREFIX}${body}${String(crc32(body)).padStart(10, "0")}`;
}

/** Cheap syntax and checksum check before any lookup. */
export function isWellFormedTokenKey(key: string): boolean {
  const m = /^d2pat_([0-9a-zA-Z]{32})(\d{10})$/.exec(key);
  return m !== null && String(crc32(m[1])).padStart(10, "0") === m[2];
}

export interface TokenRow {
  uid: string;
  key_hash: string;
  owner_uid: string;
  name: string | null;
  expire: number | null;
  created: number;
  last_used: number | null;
  /** JSON list of TokenAttribute (token-attributes.ts); null = unrestricted. */
  attributes: string | null;
  /** The token this one was created with (token authentication), if any; revoked with it. */
  parent_uid: string | null;
}

const DAY_MS = 24 * 3600 * 1000;

/** When a token stops working: its `expire`, or earlier under the `apiTokenMaxLifetimeDays` cap (0 = none). */
export function tokenExpiry(token: Pick<TokenRow, "expire" | "created">, maxLifetimeDays: number): number {
  const capped = maxLifetimeDays > 0 ? token.created + maxLifetimeDays * DAY_MS : Number.POSITIVE_INFINITY;
  return Math.min(token.expire ?? Number.POSITIVE_INFINITY, capped);
}

export async function createToken(
  db: D1Database,
  ownerUid: string,
  expire: number | null,
  name: string | null,
  now: number,
  attributes: TokenAttribute[] = [],
  parentUid: string | null = null,
) {
  const key = newTokenKey();
  const uid = generateUid();
  await db
    .prepare(
      `INSERT INTO api_tokens (uid, key_hash, owner_uid, name, expire, created, attributes, parent_uid) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(uid, await sha256Hex(key), ownerUid, name, expire, now, attributes.length ? JSON.stringify(attributes) : null, parentUid)
    .run();
  return { uid, key };
}

/** The token of this key, with the lifetime cap in force (one query). */
export async function findTokenByKey(db: D1Database, key: string): Promise<(TokenRow & { max_lifetime_days: number }) | null> {
  if (!isWellFormedTokenKey(key)) return null;
  const row = await db
    .prepare(
      `SELECT t.*, (SELECT s.value FROM system_settings s WHERE s.key = 'apiTokenMaxLifetimeDays') AS max_lifetime FROM api_tokens t WHERE t.key_hash = ?`,
    )
    .bind(await sha256Hex(key))
    .first<TokenRow & { max_lifetime: string | null }>();
  if (!row) return null;
  const { max_lifetime, ...token } = row;
  return { ...token, max_lifetime_days: settingValue("apiTokenMaxLifetimeDays", max_lifetime) };
}

export type OwnedTokenRow = TokenRow & { owner_username: string | null };

const SELECT_TOKEN = `SELECT t.*, u.username AS owner_username FROM api_tokens t LEFT JOIN users u ON u.uid = t.owner_uid`;

/** The caller's tokens, newest first. */
export async function listTokens(db: D1Database, ownerUid: string): Promise<OwnedTokenRow[]> {
  const { results } = await db
    .prepare(`${SELECT_TOKEN} WHERE t.owner_uid = ? ORDER BY t.created DESC, t.uid`)
    .bind(ownerUid)
    .all<OwnedTokenRow>();
  return results;
}

export function findTokenByUid(db: D1Database, uid: string): Promise<OwnedTokenRow | null> {
  return db.prepare(`${SELECT_TOKEN} WHERE t.uid = ?`).bind(uid).first<OwnedTokenRow>();
}

/** Revokes a token and every token created with it (and with those, and so on). */
export async function deleteToken(db: D1Database, uid: string): Promise<void> {
  await db
    .prepare(
      `DELETE FROM api_tokens WHERE uid IN (
         WITH RECURSIVE tree(uid) AS (SELECT ? UNION SELECT t.uid FROM api_tokens t JOIN tree ON t.parent_uid = tree.uid)
         SELECT uid FROM tree)`,
    )
    .bind(uid)
    .run();
}
