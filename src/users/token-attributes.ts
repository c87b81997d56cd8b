/**
 * Restrictions on a personal access token (DHIS2's `ApiTokenAttribute`s): the client IPs, HTTP
 * methods and referrers a token may be used with. An empty list restricts nothing. A request that
 * breaks one is refused with 401 and DHIS2's message (the first broken rule).
 *
 * The client IP is `CF-Connecting-IP`, which Cloudflare's edge sets on every request (a client cannot
 * choose it; `wrangler dev` sets the local client's address); a request without it is refused for an
 * IP-restricted token.
 */
import { echo } from "../http/webmessage";

export type TokenAttribute =
  | { type: "IpAllowedList"; allowedIps: string[] }
  | { type: "MethodAllowedList"; allowedMethods: string[] }
  | { type: "RefererAllowedList"; allowedReferrers: string[] };

/** The methods a token may be limited to (DHIS2's list). */
export const TOKEN_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;
/** Most entries over all of a token's lists. */
export const MAX_TOKEN_ATTRIBUTE_ENTRIES = 100;
const MAX_ENTRY_LENGTH = 2048;

const LISTS = { IpAllowedList: "allowedIps", MethodAllowedList: "allowedMethods", RefererAllowedList: "allowedReferrers" } as const;
type ListType = keyof typeof LISTS;

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function isIpv6(text: string): boolean {
  if (!/^[0-9a-f:.]+$/i.test(text) || text.length > 45) return false;
  const halves = text.split("::");
  if (halves.length > 2) return false;
  const groups = halves.flatMap((h) => (h === "" ? [] : h.split(":")));
  const last = groups.at(-1) ?? "";
  const v4Tail = last.includes(".");
  if (v4Tail && !IPV4.test(last)) return false;
  const hex = v4Tail ? groups.slice(0, -1) : groups;
  if (!hex.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return false;
  const count = hex.length + (v4Tail ? 2 : 0);
  return halves.length === 2 ? count < 8 : count === 8;
}

export function isIpAddress(text: string): boolean {
  return IPV4.test(text) || isIpv6(text);
}

/** The entry as stored and compared: IPs and referrers lower case, methods upper case. */
function normalize(type: ListType, value: string): string {
  return type === "MethodAllowedList" ? value.toUpperCase() : value.toLowerCase();
}

function entryProblem(type: ListType, value: string): string | null {
  if (value.length > MAX_ENTRY_LENGTH) return `Value of \`${LISTS[type]}\` is longer than ${MAX_ENTRY_LENGTH} characters.`;
  if (type === "IpAllowedList" && !isIpAddress(value)) return `Not a valid ip address, value=${echo(value)}`;
  if (type === "MethodAllowedList" && !(TOKEN_METHODS as readonly string[]).includes(value)) {
    return `Not a valid http method, value=${echo(value)}; allowed: ${TOKEN_METHODS.join(", ")}`;
  }
  if (type === "RefererAllowedList" && value.trim() === "") return "A referrer must not be blank.";
  return null;
}

/**
 * The `attributes` of a token creation body: the restrictions to store (one per type, entries
 * normalized and deduplicated, empty lists dropped), or what is wrong with them.
 */
export function readTokenAttributes(raw: unknown): { attributes: TokenAttribute[]; problems: string[] } {
  if (raw === undefined || raw === null) return { attributes: [], problems: [] };
  if (!Array.isArray(raw)) return { attributes: [], problems: ["Property `attributes` must be a list."] };
  const lists = new Map<ListType, Set<string>>();
  const problems: string[] = [];
  let entries = 0;
  for (const item of raw) {
    const a = item && typeof item === "object" && !Array.isArray(item) ? (item as Record<string, unknown>) : null;
    const type = a?.type;
    if (!a || typeof type !== "string" || !(type in LISTS)) {
      problems.push(`Unknown token attribute type \`${echo(type)}\`; expected one of ${Object.keys(LISTS).join(", ")}.`);
      continue;
    }
    const key = LISTS[type as ListType];
    const values = a[key] ?? [];
    if (!Array.isArray(values) || values.some((v) => typeof v !== "string")) {
      problems.push(`Property \`${key}\` of ${type} must be a list of strings.`);
      continue;
    }
    const set = lists.get(type as ListType) ?? new Set<string>();
    for (const v of values as string[]) {
      const value = normalize(type as ListType, v.trim());
      const problem = entryProblem(type as ListType, value);
      if (problem) problems.push(problem);
      else if (!set.has(value)) {
        set.add(value);
        entries++;
      }
    }
    lists.set(type as ListType, set);
  }
  if (entries > MAX_TOKEN_ATTRIBUTE_ENTRIES) problems.push(`A token may carry at most ${MAX_TOKEN_ATTRIBUTE_ENTRIES} attribute entries.`);
  if (problems.length) return { attributes: [], problems };
  const attributes: TokenAttribute[] = [];
  for (const [type, set] of lists) {
    if (set.size === 0) continue;
    attributes.push(listAttribute(type, [...set]));
  }
  return { attributes, problems };
}

/** The entries of one restriction list. */
function entriesOf(a: TokenAttribute): string[] {
  switch (a.type) {
    case "IpAllowedList":
      return a.allowedIps;
    case "MethodAllowedList":
      return a.allowedMethods;
    case "RefererAllowedList":
      return a.allowedReferrers;
  }
}

function listAttribute(type: ListType, entries: string[]): TokenAttribute {
  switch (type) {
    case "IpAllowedList":
      return { type, allowedIps: entries };
    case "MethodAllowedList":
      return { type, allowedMethods: entries };
    case "RefererAllowedList":
      return { type, allowedReferrers: entries };
  }
}

/**
 * The restrictions of a token created with another token: it is never broader than its parent. Every
 * list the parent has is kept; a requested list of the same type may only narrow it (each entry must
 * be one of the parent's); lists the parent lacks may be added.
 */
export function inheritAttributes(
  parent: TokenAttribute[],
  requested: TokenAttribute[],
): { attributes: TokenAttribute[]; problems: string[] } {
  const attributes: TokenAttribute[] = [];
  const problems: string[] = [];
  for (const type of Object.keys(LISTS) as ListType[]) {
    const mine = requested.filter((a) => a.type === type).flatMap(entriesOf);
    const theirs = parent.filter((a) => a.type === type).flatMap(entriesOf);
    if (theirs.length === 0) {
      if (mine.length) attributes.push(listAttribute(type, mine));
      continue;
    }
    const outside = mine.filter((v) => !theirs.includes(v));
    if (outside.length > 0) {
      problems.push(
        `A token created with a token may only narrow its ${type}: ${outside.length} of the requested \`${LISTS[type]}\` are not allowed by the token used.`,
      );
    } else attributes.push(listAttribute(type, mine.length ? mine : theirs));
  }
  return { attributes, problems };
}

/** Stored attributes (JSON) back to the list; unreadable text restricts nothing it cannot read. */
export function parseTokenAttributes(text: string | null): TokenAttribute[] {
  if (!text) return [];
  try {
    const parsed = JSON.parse(text) as unknown;
    return Array.isArray(parsed) ? (parsed as TokenAttribute[]) : [];
  } catch {
    return [];
  }
}

export interface TokenRequest {
  method: string;
  header(name: string): string | undefined;
}

/** Why this request may not use a token with these attributes (DHIS2's message), or null. */
export function tokenConstraintViolation(attributes: TokenAttribute[], req: TokenRequest): string | null {
  for (const a of attributes) {
    if (a.type === "IpAllowedList" && a.allowedIps.length) {
      const ip = req.header("CF-Connecting-IP")?.trim().toLowerCase();
      if (!ip || !a.allowedIps.includes(ip)) return "Failed to authenticate API token, request ip address is not allowed.";
    }
    if (a.type === "RefererAllowedList" && a.allowedReferrers.length) {
      const referrer = req.header("Referer")?.toLowerCase();
      if (!referrer || !a.allowedReferrers.includes(referrer))
        return "Failed to authenticate API token, request http referrer is missing or not allowed.";
    }
    if (a.type === "MethodAllowedList" && a.allowedMethods.length && !a.allowedMethods.includes(req.method.toUpperCase())) {
      return "Failed to authenticate API token, request http method is not allowed.";
    }
  }
  return null;
}
