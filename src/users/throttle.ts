/**
 * Per-address throttling of failed authentication, with the Workers Rate Limiting binding
 * `AUTH_FAILURES` (wrangler.jsonc `ratelimits`: 20 failures per 60 s per address, counted per
 * Cloudflare location). Every failed password or token costs the address one unit; once the binding
 * refuses, the address is throttled: its failures answer 429 with `Retry-After` instead of 401 and do
 * not count towards any account's lockout, and for the rest of the period this isolate refuses the
 * address's password attempts before checking them (no PBKDF2 work, no guess). Valid tokens and
 * sessions from a throttled address still work: they cannot be guessed.
 *
 * The address is `CF-Connecting-IP`, which Cloudflare's edge sets on every request (a client cannot
 * choose it there); IPv6 addresses count by their /64. Under `wrangler dev` the header is trusted as
 * sent, so a local client may choose it. A request without it (only a direct call of the Worker, as
 * the tests make) has no address: it is not throttled, and its lockout rows use the address `unknown`.
 */
import { logEvent } from "../http/log";

/** The binding's period in seconds (wrangler.jsonc `ratelimits[AUTH_FAILURES].simple.period`). */
export const AUTH_THROTTLE_PERIOD_S = 60;
const MAX_REMEMBERED = 10_000;

/** Addresses this isolate saw throttled, until when. */
const throttled = new Map<string, number>();

/** The client's address for throttling and lockout: CF-Connecting-IP (IPv6 by its /64), or null. */
export function clientAddress(header: string | null | undefined): string | null {
  const ip = header?.trim().toLowerCase().slice(0, 64);
  if (!ip) return null;
  if (!ip.includes(":")) return ip;
  const [head, tail] = ip.split("::", 2);
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill("0"), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}

/** The lockout's name for an address (`unknown` when the request carried none). */
export const sourceKey = (address: string | null) => address ?? "unknown";

/** Seconds until this isolate stops refusing the address, or null when it is not throttled here. */
export function throttledFor(address: string | null, now: number): number | null {
  if (address === null) return null;
  const until = throttled.get(address);
  if (until === undefined) return null;
  if (until <= now) {
    throttled.delete(address);
    return null;
  }
  return Math.ceil((until - now) / 1000);
}

/**
 * Counts one failed authentication of the address. Returns null while the address is within its
 * limit; otherwise it is throttled: the seconds to wait, and whether this failure started the throttle
 * in this isolate (for logging once).
 */
export async function countFailure(
  limiter: RateLimit,
  address: string | null,
  now: number,
): Promise<{ retryAfter: number; started: boolean } | null> {
  if (address === null) return null;
  let success: boolean;
  try {
    ({ success } = await limiter.limit({ key: address }));
  } catch (e) {
    // The failure is refused anyway (401) and still counts towards the account's lockout; only the
    // per-address budget is unknown for this request.
    logEvent("error", "auth_throttle_unavailable", { error: e });
    return null;
  }
  if (success) return null;
  const known = throttledFor(address, now);
  if (known !== null) return { retryAfter: known, started: false };
  if (throttled.size >= MAX_REMEMBERED) {
    const oldest = throttled.keys().next().value;
    if (oldest !== undefined) throttled.delete(oldest);
  }
  throttled.set(address, now + AUTH_THROTTLE_PERIOD_S * 1000);
  return { retryAfter: AUTH_THROTTLE_PERIOD_S, started: true };
}
