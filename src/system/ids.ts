/**
 * `GET /api/system/id` (alias `/uid`) and `/api/system/uuid`: batches of fresh identifiers.
 * `limit` defaults to 1 and is capped at 10000; zero or negative gives an empty list. JSON
 * `{"codes":[…]}`, CSV (a header line then one code per line) or XML `<codes><code>…</code></codes>`.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { OpenAPIHono } from "@hono/zod-openapi";
import { queryInt } from "../http/params";
import type { AppEnv } from "../http/router";
import { generateUids } from "../http/uid";
import { COMMON_ERRORS, negotiate, textResponse, SECURITY } from "./negotiate";
import { NO_STORE } from "../http/respond";

export const MAX_CODES = 10_000;

/** The number of codes to generate for a requested limit. */
export function codeCount(limit: number | undefined): number {
  const n = limit ?? 1;
  return n <= 0 ? 0 : Math.min(n, MAX_CODES);
}

export function randomUuids(count: number): string[] {
  const out = new Array<string>(count);
  for (let i = 0; i < count; i++) out[i] = crypto.randomUUID();
  return out;
}

const CodeList = z.object({ codes: z.array(z.string()) }).openapi("CodeList");

const query = z.object({ limit: queryInt(1).openapi({ description: "How many codes (max 10000)", example: 3 }) });

function codesResponse(req: Request, codes: string[], column: string): Response {
  switch (negotiate(req, ["json", "csv", "xml"])) {
    case "csv":
      return textResponse(`${column}\n${codes.length ? `${codes.join("\n")}\n` : ""}`, "application/csv;charset=UTF-8");
    case "xml":
      return textResponse(
        `<?xml version='1.0' encoding='UTF-8'?><codes>${codes.map((c) => `<code>${c}</code>`).join("")}</codes>`,
        "application/xml;charset=UTF-8",
      );
    default:
      // Codes are alphanumeric (or UUIDs): nothing to escape, so the JSON is assembled directly.
      return new Response(codes.length ? `{"codes":["${codes.join('","')}"]}` : `{"codes":[]}`, {
        status: 200,
        headers: { "Content-Type": "application/json;charset=UTF-8", "Cache-Control": NO_STORE },
      });
  }
}

function idRoute(path: string, summary: string) {
  return createRoute({
    method: "get",
    path,
    summary,
    tags: ["system"],
    security: SECURITY,
    request: { query },
    responses: {
      200: {
        description: "Codes (JSON, or CSV with `Accept: application/csv` / `.csv`)",
        content: { "application/json": { schema: CodeList }, "application/csv": { schema: z.string() } },
      },
      ...COMMON_ERRORS,
    },
  });
}

export function registerIdRoutes(router: OpenAPIHono<AppEnv>): void {
  for (const path of ["/system/id", "/system/uid"]) {
    router.openapi(idRoute(path, "Generate DHIS2 UIDs (11 characters, starting with a letter)"), (c) => {
      const { limit } = c.req.valid("query");
      return codesResponse(c.req.raw, generateUids(codeCount(limit)), "uid");
    });
  }
  router.openapi(idRoute("/system/uuid", "Generate random version 4 UUIDs"), (c) => {
    const { limit } = c.req.valid("query");
    return codesResponse(c.req.raw, randomUuids(codeCount(limit)), "uuid");
  });
}
