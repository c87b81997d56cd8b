/**
 * Cross-site request forgery guard for browser sessions, registered after authentication (which sets
 * the `session` credential when the cookie alone identified the caller of a protected route).
 *
 * A state-changing request (anything but GET/HEAD/OPTIONS) authenticated by the cookie alone must
 * come from this origin. Its `Origin` header must be this service's origin (the request's, or its
 * public base URL's: src/http/respond.ts `contextPath`), or one listed by name in CORS_ALLOWED_ORIGINS
 * (`*` does not count). Without an `Origin`, it must carry
 * `X-Requested-With: XMLHttpRequest` or a JSON content type, which a cross-site form cannot send.
 * `Sec-Fetch-Site: cross-site` is refused. Requests with an Authorization header are not affected
 * (a browser never adds one on its own). The sign-in routes, which are public, apply `csrfViolation`
 * themselves.
 */
import type { MiddlewareHandler } from "hono";
import { allowedOrigin } from "./cors";
import { type BaseUrlConfig, contextPath } from "./respond";
import type { AppEnv } from "./router";
import { forbidden } from "./webmessage";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** The configuration the rule reads: the CORS list and what decides this service's own origin. */
export type CsrfConfig = BaseUrlConfig & Partial<Pick<Env, "CORS_ALLOWED_ORIGINS">>;

/** An origin named in CORS_ALLOWED_ORIGINS; the wildcard `*` does not vouch for a session. */
function listedOrigin(setting: string | undefined, origin: string): boolean {
  return allowedOrigin(setting, origin) !== null && (setting ?? "").split(",").some((s) => s.trim() === origin);
}

/**
 * Why a cookie-authenticated request must be refused as cross-site, or null when it may proceed
 * (see the module comment for the rule).
 */
export function csrfViolation(req: Request, config: CsrfConfig): string | null {
  if (SAFE_METHODS.has(req.method.toUpperCase())) return null;
  const origin = req.headers.get("Origin");
  if (origin !== null) {
    const own = new Set([new URL(req.url).origin, new URL(contextPath(req, config)).origin]);
    if (own.has(origin) || listedOrigin(config.CORS_ALLOWED_ORIGINS, origin)) return null;
    return `Cross-site request refused: origin ${origin} may not use this session.`;
  }
  if (req.headers.get("Sec-Fetch-Site") === "cross-site") return "Cross-site request refused.";
  if (req.headers.get("X-Requested-With") === "XMLHttpRequest") return null;
  const type = (req.headers.get("Content-Type") ?? "").split(";")[0].trim().toLowerCase();
  if (type === "application/json" || type.endsWith("+json")) return null;
  return "Cross-site request refused: send X-Requested-With: XMLHttpRequest or an Origin header with session requests.";
}

export const csrfMiddleware: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.get("credential")?.scheme === "session") {
    const refused = csrfViolation(c.req.raw, c.env);
    if (refused) throw forbidden(refused);
  }
  return next();
};
