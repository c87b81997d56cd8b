/**
 * First start: when the users table is empty, create the admin user (ADMIN_USERNAME / ADMIN_PASSWORD)
 * as a member of the Superuser role. Runs once per isolate; INSERT OR IGNORE makes concurrent first
 * requests harmless.
 *
 * Only local development may fall back to admin / district. Local development is the top-level
 * wrangler.jsonc configuration (`ENVIRONMENT` = `development`; the staging and production environments
 * set their own value) served on a loopback address (`npm start`, `npm test`): the variable comes from
 * the deployed configuration, not from the client, and a top-level configuration deployed by mistake
 * is still not local because Cloudflare routes only its public host names to it. Everywhere else the
 * first admin needs the ADMIN_PASSWORD secret, and it must pass the password policy; until then every
 * authenticating request answers 503 with a WebMessage that names the fix.
 */
import { ApiError } from "../http/webmessage";
import { hashPassword } from "./password";
import { passwordViolations } from "./policy";

export const SUPERUSER_ROLE_UID = "yrB6vc5Ip3r";
export const BOOTSTRAP_ADMIN_UID = "M5zQapPyTZI";
export const DEV_ADMIN_PASSWORD = "district";

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * Whether this is local development (see the module comment). `requestUrl` is the request being
 * served; callers outside a request (tests, the scheduled handler) go by the configuration alone.
 */
export function isLocalDevelopment(env: Pick<Env, "ENVIRONMENT">, requestUrl?: string): boolean {
  if (env.ENVIRONMENT !== "development") return false;
  if (requestUrl === undefined) return true;
  try {
    return LOOPBACK_HOSTS.has(new URL(requestUrl).hostname);
  } catch {
    return false;
  }
}

/** The password for the first admin, or the 503 that tells the operator what to set. */
export function bootstrapPassword(env: Pick<Env, "ENVIRONMENT" | "ADMIN_PASSWORD" | "ADMIN_USERNAME">, requestUrl?: string): string {
  const local = isLocalDevelopment(env, requestUrl);
  const password = env.ADMIN_PASSWORD || (local ? DEV_ADMIN_PASSWORD : "");
  if (!password) {
    throw new ApiError(
      503,
      "No administrator exists yet and the ADMIN_PASSWORD secret is not set. Set it (wrangler secret put ADMIN_PASSWORD --env <environment>) " +
        "to a password of 8 to 256 characters with an upper-case letter, a digit and a special character; the first administrator is created on the next request.",
    );
  }
  if (local) return password;
  const problems = passwordViolations(password, env.ADMIN_USERNAME || "admin");
  if (problems.length > 0) {
    throw new ApiError(
      503,
      `No administrator exists yet and the ADMIN_PASSWORD secret does not meet the password policy (${problems.map((p) => p.message).join(" ")}) ` +
        "Set a stronger one (wrangler secret put ADMIN_PASSWORD --env <environment>); the first administrator is created on the next request.",
    );
  }
  return password;
}

let done: Promise<void> | undefined;

export function ensureBootstrapAdmin(env: Env, now: number, requestUrl?: string): Promise<void> {
  done ??= (async () => {
    const row = await env.DB.prepare(`SELECT 1 AS present FROM users LIMIT 1`).first();
    if (row) return;
    const username = env.ADMIN_USERNAME || "admin";
    const hash = await hashPassword(bootstrapPassword(env, requestUrl));
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
