/** Fixtures for the job configuration tests. */
import { env } from "cloudflare:test";
import { ensureBootstrapAdmin } from "../../src/users/bootstrap";
import { syncJobObject } from "../../src/scheduling/sync";
import { hashPassword } from "../../src/users/password";
import { api, basic, json } from "../helpers";

export const PASSWORD = "Secret123!";

/** A user with these direct authorities (created once per test file storage). */
export async function userAuth(username: string, authorities: string[]): Promise<string> {
  await ensureBootstrapAdmin(env, Date.now());
  const uid = `u${username.replace(/[^a-zA-Z0-9]/g, "")}0000000000`.slice(0, 11);
  const hash = await hashPassword(PASSWORD, 1000);
  await env.DB.prepare(
    `INSERT OR IGNORE INTO users (uid, username, first_name, surname, password_hash, disabled, authorities, created, last_updated)
     VALUES (?, ?, 'Test', 'User', ?, 0, ?, 0, 0)`,
  )
    .bind(uid, username, hash, JSON.stringify(authorities))
    .run();
  return basic(username, PASSWORD);
}

export async function create(body: unknown, auth?: string): Promise<{ res: Response; body: any }> {
  const res = await api("/api/jobConfigurations", { method: "POST", body, auth });
  return { res, body: await json(res) };
}

/** Creates a job and returns its id (asserting 201). */
export async function createOk(body: Record<string, unknown>): Promise<string> {
  const { res, body: msg } = await create(body);
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${JSON.stringify(msg)}`);
  return msg.response.uid as string;
}

export async function getJob(id: string, fields?: string): Promise<any> {
  const res = await api(`/api/jobConfigurations/${id}${fields ? `?fields=${encodeURIComponent(fields)}` : ""}`);
  if (res.status !== 200) throw new Error(`get failed: ${res.status}`);
  return json(res);
}

export async function row(id: string): Promise<any> {
  return env.DB.prepare(`SELECT * FROM job_configurations WHERE uid = ?`).bind(id).first();
}

let counter = 0;
export const uniqueName = (prefix = "job") => `${prefix} ${++counter} ${Math.random().toString(36).slice(2, 8)}`;

export const KLASS = "org.hisp.dhis.scheduling.JobConfiguration";

/**
 * Deletes every user-created job and brings its Durable Object in step, so no test leaves an alarm
 * armed (call from afterAll).
 */
export async function cleanupJobs(): Promise<void> {
  const { results } = await env.DB.prepare(`SELECT uid FROM job_configurations WHERE system = 0`).all<{ uid: string }>();
  await env.DB.prepare(`DELETE FROM job_configurations WHERE system = 0`).run();
  for (let i = 0; i < results.length; i += 20) await Promise.all(results.slice(i, i + 20).map((r) => syncJobObject(env, r.uid)));
}
