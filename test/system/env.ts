/** Requests to the Worker with extra or overridden environment variables (per request). */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import worker from "../../src/index";
import { adminAuth, BASE } from "../helpers";
import { ensureBootstrapAdmin } from "../../src/users/bootstrap";

export async function fetchWith(vars: Partial<Env>, path: string, init: RequestInit & { auth?: string | null } = {}): Promise<Response> {
  await ensureBootstrapAdmin(env, Date.now());
  const headers = new Headers(init.headers);
  const auth = init.auth === undefined ? adminAuth() : init.auth;
  if (auth) headers.set("Authorization", auth);
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(BASE + path, { ...init, headers }), { ...env, ...vars }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}
