/**
 * Text matching in SQL without LIKE: D1 refuses LIKE patterns over 50 bytes ("LIKE or GLOB pattern
 * too complex"), so contains / starts-with / ends-with are written with instr and substr, and
 * case-insensitive matching lower-cases both sides (ASCII, the same as SQLite's LIKE).
 */
export interface SqlFragment {
  sql: string;
  binds: unknown[];
}

export type MatchMode = "contains" | "starts" | "ends";

export function textMatch(expr: string, mode: MatchMode, value: string, caseInsensitive: boolean): SqlFragment {
  const e = caseInsensitive ? `lower(${expr})` : expr;
  const p = caseInsensitive ? "lower(?)" : "?";
  switch (mode) {
    case "contains":
      return { sql: `instr(${e}, ${p}) > 0`, binds: [value] };
    case "starts":
      return { sql: `substr(${e}, 1, length(?)) = ${p}`, binds: [value, value] };
    case "ends":
      return { sql: `(length(${e}) >= length(?) AND substr(${e}, -length(?)) = ${p})`, binds: [value, value, value] };
  }
}
