/**
 * JSON input as DHIS2 (Jackson) reads it: unknown members ignored, `""` read as absent, numeric
 * strings accepted for numbers, "true"/"false" strings accepted for booleans. These zod helpers are
 * the building blocks of every request-body schema.
 */
import { z } from "@hono/zod-openapi";

const blankToUndefined = (v: unknown) => (v === "" || v === null ? undefined : v);

export function jsonString() {
  return z.preprocess(blankToUndefined, z.string().optional());
}

export function jsonInt(opts: { min?: number; max?: number } = {}) {
  let inner = z.number().int();
  if (opts.min !== undefined) inner = inner.min(opts.min);
  if (opts.max !== undefined) inner = inner.max(opts.max);
  return z.preprocess((v) => {
    const b = blankToUndefined(v);
    if (typeof b === "string" && /^\s*[+-]?\d+(\.0+)?\s*$/.test(b)) return Number(b);
    return b;
  }, inner.optional());
}

export function jsonBool() {
  return z.preprocess((v) => {
    const b = blankToUndefined(v);
    if (b === "true") return true;
    if (b === "false") return false;
    return b;
  }, z.boolean().optional());
}

/** A numeric string or number, as a number, without judging it (semantic checks come later). */
export function coerceNumber(v: unknown): unknown {
  if (typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v))) return Number(v);
  return v === "" ? undefined : v;
}
