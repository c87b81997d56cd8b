/**
 * First start: when the users table is empty, create the admin user (ADMIN_USERNAME / ADMIN_PASSWORD,
 * default admin / district) as a member of the Superuser role. Runs once per isolate; INSERT OR IGNORE
 * makes concurrent first requests harmless.
 */
import { hashPassword } from "./password";

export const SUPERUSER_ROLE_UID = "yrB6vc5Ip3r";
export const BOOTSTRAP_ADMIN_UID = "M5zQapPyTZI";

let done: Promise<void> | undefined;

export function ensureBootstrapAdmin(env: Env, now: number): Promise<void> {
  done ??= (async () => {
    const row = await env.DB.prepare(`SELECT 1 AS present FROM users LIMIT 1`).first();
    if (row) return;
    const username = env.ADMIN_USERNAME || "admin";
    const hash = await hashPassword(env.ADMIN_PASSWORD || "district");
    await env.DB.batch([
      env.DB.prepare(
        `INSERT OR IGNORE INTO users (uid, username, first_name, surname, password_hash, authorities, password_last_updated, created, last_updated)
         VALUES (?, ?, 'System', 'Administrator', ?, '[]', ?, ?, ?)`,
      ).bind(BOOTSTRAP_ADMIN_UID, username, hash, now, now, now),
      env.DB.prepare(`INSERT OR IGNORE INTO user_role_members (user_uid, role_uid) VALUES (?, ?)`).bind(
        BOOTSTRAP_ADMIN_UID,
        SUPERUSER_ROLE_UID,
      ),
    ]);
  })().catch((e) => {
    done = undefined;
    throw e;
  });
  return done;
}

/** Tests reset storage between files; this forgets that the bootstrap already ran. */
export function forgetBootstrap(): void {
  done = undefined;
}
