/** CORS for browser clients; allowed origins come from CORS_ALLOWED_ORIGINS (comma-separated, or "*"). */
import type { MiddlewareHandler } from "hono";
import { BOOKMARK_HEADER } from "./d1-session";
import type { AppEnv } from "./router";

export function allowedOrigin(setting: string | undefined, origin: string | undefined): string | null {
  if (!origin || !setting) return null;
  const list = setting
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.includes("*")) return origin;
  return list.includes(origin) ? origin : null;
}

export const corsMiddleware: MiddlewareHandler<AppEnv> = async (c, next) => {
  const origin = allowedOrigin(c.env.CORS_ALLOWED_ORIGINS, c.req.header("Origin"));
  if (c.req.method === "OPTIONS" && c.req.header("Access-Control-Request-Method")) {
    const headers = new Headers();
    if (origin) {
      headers.set("Access-Control-Allow-Origin", origin);
      headers.set("Access-Control-Allow-Credentials", "true");
      headers.set("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS");
      headers.set(
        "Access-Control-Allow-Headers",
        c.req.header("Access-Control-Request-Headers") ?? "Authorization, Content-Type, X-Requested-With",
      );
      headers.set("Access-Control-Max-Age", "3600");
    }
    headers.set("Vary", "Origin");
    return new Response(null, { status: 204, headers });
  }
  await next();
  if (origin) {
    c.res.headers.set("Access-Control-Allow-Origin", origin);
    c.res.headers.set("Access-Control-Allow-Credentials", "true");
    c.res.headers.set("Access-Control-Expose-Headers", `Location, WWW-Authenticate, ${BOOKMARK_HEADER}`);
    c.res.headers.append("Vary", "Origin");
  }
};
