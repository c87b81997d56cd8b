import type { Context } from "hono";
import { ApiError, badRequest } from "./webmessage";

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export function maxBodyBytes(c: Context): number {
  const n = Number((c.env as { MAX_BODY_BYTES?: string } | undefined)?.MAX_BODY_BYTES);
  return Number.isFinite(n) && n > 0 ? n : DEFAULT_MAX_BODY_BYTES;
}

function tooLarge(limit: number): ApiError {
  return new ApiError(413, `Request body exceeds the limit of ${limit} bytes.`, { errorCode: "E1003" });
}

/** Reads the raw body as text, refusing more than the configured limit without buffering it all. */
export async function readBodyText(c: Context): Promise<string> {
  const limit = maxBodyBytes(c);
  const declared = Number(c.req.header("Content-Length"));
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  const body = c.req.raw.body;
  if (!body) return "";
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  const all = new Uint8Array(size);
  let off = 0;
  for (const ch of chunks) {
    all.set(ch, off);
    off += ch.byteLength;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(all);
  } catch {
    throw new ApiError(400, "Request body is not valid UTF-8.", { errorCode: "E1003" });
  }
}

/** Plain `JSON.parse` of a body already read; malformed JSON is a 400 naming the problem. */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw badRequest(`Invalid JSON in request body: ${(e as Error).message}`);
  }
}

/**
 * The JSON body, or `undefined` for an empty body (DHIS2 clients POST `execute`/`enable` with none).
 * Malformed JSON is a 400 WebMessage naming the problem; prototype-polluting keys are dropped.
 */
export async function readJsonBody(c: Context): Promise<unknown> {
  const text = await readBodyText(c);
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text, (key, value) => (key === "__proto__" || key === "constructor" || key === "prototype" ? undefined : value));
  } catch (e) {
    throw new ApiError(400, `Invalid JSON in request body: ${(e as Error).message}`, { errorCode: "E1003" });
  }
}

/** A JSON object body; anything else (array, string, number) is a 400. */
export async function readJsonObject(c: Context, required = true): Promise<Record<string, unknown>> {
  const body = await readJsonBody(c);
  if (body === undefined && !required) return {};
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new ApiError(400, "Request body must be a JSON object.", { errorCode: "E1003" });
  }
  return body as Record<string, unknown>;
}
