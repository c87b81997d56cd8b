/**
 * Shared router type and factory. Every resource module builds its routes on `createRouter()`, with
 * zod schemas in `createRoute` definitions: they validate the input and document the route in the
 * OpenAPI document. A failed query or path validation becomes DHIS2's 400 WebMessage.
 */
import { OpenAPIHono, type z } from "@hono/zod-openapi";
import type { Hook } from "@hono/zod-openapi";
import { invalidParamMessage } from "./params";
import { ApiError } from "./webmessage";

/**
 * The authenticated caller as every handler sees it. http/ only carries it: the authentication
 * middleware (src/users/auth.ts) works it out from users, tokens and sessions.
 */
export interface Principal {
  uid: string;
  username: string;
  firstName: string;
  surname: string;
  email?: string;
  authorities: string[];
  roles: string[];
  isSuper: boolean;
}

/** How a caller authenticated (see AppEnv's `credential`). */
export type Credential = { scheme: "basic" | "session" } | { scheme: "token"; id: string };

export type AppEnv = {
  Bindings: Env;
  Variables: {
    /** The caller, on protected routes always set (public routes: set when valid credentials came along). */
    user?: Principal;
    /**
     * How the caller of a protected route authenticated: `session` (the cookie alone, which the CSRF
     * middleware guards), `basic`, or `token` with the token's id (tokens created with it inherit it).
     */
    credential?: Credential;
  };
};

/** Formats a failed validation of query, path or body input. */
// biome-ignore lint/suspicious/noExplicitAny: one hook serves every route, whatever its input schemas
export const validationHook: Hook<any, AppEnv, any, any> = (result, c) => {
  if (result.success) return;
  const target = (result as { target?: string }).target;
  const error = (result as { error: z.ZodError }).error;
  const issue = error.issues[0];
  const name = String(issue?.path?.[0] ?? "");
  const detail = issue?.message ?? "Invalid value";
  if (target === "query" || target === "param") {
    const raw = target === "query" ? (c.req.query(name) ?? "") : (c.req.param(name) ?? "");
    throw new ApiError(400, invalidParamMessage(target === "param" ? "path" : "query", name, raw, detail), { errorCode: "E1003" });
  }
  throw new ApiError(400, name ? `Invalid value for property \`${name}\`: ${detail}` : detail, { errorCode: "E1003" });
};

export function createRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
}

/** OpenAPI security requirement shared by protected routes. */
export const SECURED: Array<Record<string, string[]>> = [{ basicAuth: [] }, { apiToken: [] }];
