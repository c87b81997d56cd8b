/** Shared test helpers: requests against the Worker with DHIS2-style credentials. */
import { env } from "cloudflare:test";
import { exports } from "cloudflare:workers";
import { ensureBootstrapAdmin } from "../src/users/bootstrap";

export const BASE = "http://localhost:8787";
export const ADMIN = { username: "admin", password: "district" };

export function basic(username: string, password: string): string {
  return `Basic ${btoa(`${username}:${password}`)}`;
}

export const adminAuth = () => basic(ADMIN.username, ADMIN.password);

export interface RequestOptions {
  method?: string;
  auth?: string | null;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A request to the Worker; `auth` defaults to the admin user, `null` sends none. */
export async function api(path: string, opts: RequestOptions = {}): Promise<Response> {
  await ensureBootstrapAdmin(env, Date.now());
  const headers: Record<string, string> = { ...opts.headers };
  const auth = opts.auth === undefined ? adminAuth() : opts.auth;
  if (auth) headers.Authorization = auth;
  let body: BodyInit | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
    headers["Content-Type"] ??= "application/json";
  }
  return (exports as any).default.fetch(BASE + path, { method: opts.method ?? (body !== undefined ? "POST" : "GET"), headers, body });
}

export async function json<T = any>(res: Response): Promise<T> {
  return (await res.json()) as T;
}
