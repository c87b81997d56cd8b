/** Test users for the settings and app-shell tests, inserted straight into D1. */
import { env } from "cloudflare:test";
import { ensureBootstrapAdmin } from "../../src/users/bootstrap";
import { hashPassword } from "../../src/users/password";

/** Creates (once per storage) a user with these direct authorities; password `Secret123!`. */
export async function createUser(
  uid: string,
  username: string,
  authorities: string[] = [],
  opts: { disabled?: boolean } = {},
): Promise<void> {
  // The bootstrap admin is only created while the users table is empty: create it first.
  await ensureBootstrapAdmin(env, Date.now());
  const hash = await hashPassword("Secret123!", 1000);
  await env.DB.prepare(
    `INSERT OR IGNORE INTO users (uid, username, first_name, surname, password_hash, disabled, authorities, created, last_updated)
     VALUES (?, ?, 'Test', 'User', ?, ?, ?, 0, 0)`,
  )
    .bind(uid, username, hash, opts.disabled ? 1 : 0, JSON.stringify(authorities))
    .run();
}

export const PASSWORD = "Secret123!";
