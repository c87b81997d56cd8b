/**
 * The executor protocol (docs/EXECUTOR.md), shared by the scheduler Worker and by executors such as
 * the DHIS2 bridge (`bridge/`). Self-contained: WebCrypto only, no imports from the rest of the
 * service, so any Worker can import it.
 *
 * Every request in either direction carries
 *   X-HRHIS4-Timestamp: <milliseconds since the epoch>
 *   X-HRHIS4-Signature: v1=<hex HMAC-SHA-256(secret, canonical)>
 * where canonical = "HRHIS4-HMAC-SHA256\n" + METHOD + "\n" + path(+query) + "\n" + timestamp + "\n" + hex SHA-256(body).
 * A request whose timestamp is more than MAX_SKEW_MS away from the receiver's clock is stale; a
 * signature seen before (within its validity window) is a replay. Both are refused.
 */

export const PROTOCOL_VERSION = 1;
export const HEADER_TIMESTAMP = "X-HRHIS4-Timestamp";
export const HEADER_SIGNATURE = "X-HRHIS4-Signature";
/** Start requests carry the run id: an executor must never start the same run twice. */
export const HEADER_IDEMPOTENCY = "Idempotency-Key";
/** Largest accepted clock difference between signer and verifier (5 minutes). */
export const MAX_SKEW_MS = 5 * 60 * 1000;
const SCHEME = "HRHIS4-HMAC-SHA256";

/** What a service binding and the global `fetch` have in common; tests inject one. */
export interface FetchLike {
  fetch(input: Request | string | URL, init?: RequestInit): Promise<Response>;
}

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

export type ExecutorLevel = "DEBUG" | "INFO" | "WARN" | "ERROR" | "LOOP";
export type ExecutorOutcome = "COMPLETED" | "FAILED" | "STOPPED";

/** Scheduler → executor: `POST {executor}/runs`. */
export interface StartRequest {
  protocol: number;
  runId: string;
  jobId: string;
  jobType: string;
  jobName?: string;
  parameters: Record<string, unknown>;
  /** The user the run executes as (`executedBy`, else the system superuser). */
  user?: { uid: string; username?: string };
  /** The occurrence this run belongs to (ISO 8601, UTC). */
  scheduledAt: string;
  startedAt: string;
  /** Where progress goes, and the bearer token that authenticates it (valid for this run only). */
  callback: { url: string; token: string };
  /** The executor must post something (a message, an item or a heartbeat) at least this often. */
  heartbeatSeconds: number;
  /** 1 for the first delivery of the start, then 2, 3… for retries (each retry is a new signed request). */
  attempt: number;
}

/** Executor → scheduler, the answer to a start. */
export type StartResponse = { status: "accepted" } | { status: "done"; outcome?: ExecutorOutcome; message?: string; summary?: unknown };

/**
 * Executor → scheduler callbacks, `POST {callback.url}/{kind}`. Every callback may carry a `nonce` (any string up to 64 characters). Callbacks are delivered at
 * least once: one sent again (re-signed) with the nonce of an earlier delivery is stored once.
 */
export interface MessageCallback {
  level?: ExecutorLevel;
  message: string;
}
export interface ItemCallback {
  message?: string;
  /** 1-based position of the item and the number of items of the current stage. */
  index?: number;
  total?: number;
}
export interface SummaryCallback {
  summary: unknown;
}
export interface CompleteCallback {
  outcome: ExecutorOutcome;
  message?: string;
  summary?: unknown;
  /** Error codes to record on the job when the outcome is FAILED. */
  errorCodes?: string[];
}

/**
 * DHIS2's JobProgress.Error as an executor relays it: the object `id` (of type `type`) failed with
 * `code`; `args` fill the code's message template, `message` is the text when the executor has it.
 */
export interface ItemErrorReport {
  code: string;
  id?: string;
  type: string;
  args?: string[];
  message?: string;
}
/** Item errors of the run (the scheduler keeps each once, at most 200 per run). */
export interface ErrorsCallback {
  errors: ItemErrorReport[];
}
/** Item errors one `errors` callback may carry. */
export const MAX_ERRORS_PER_CALLBACK = 100;

export type CallbackKind = "messages" | "items" | "heartbeat" | "summary" | "complete" | "errors";

/** Answer to every callback: lets an executor that missed the cancel request stop anyway. */
export interface CallbackAck {
  runId: string;
  state: "RUNNING" | "CANCELLING" | "FINISHED";
}

// ---------------------------------------------------------------------------------------------
// Signing
// ---------------------------------------------------------------------------------------------

const encoder = new TextEncoder();

function toHex(buf: ArrayBuffer): string {
  return [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export async function sha256HexBytes(data: string | Uint8Array): Promise<string> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  return toHex(await crypto.subtle.digest("SHA-256", bytes));
}

const keyCache = new Map<string, Promise<CryptoKey>>();
function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keyCache.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    if (keyCache.size > 16) keyCache.clear();
    keyCache.set(secret, key);
  }
  return key;
}

/** The string that is signed. `path` is the URL path plus query string, exactly as sent. */
export async function canonicalString(method: string, path: string, timestamp: string, body: string | Uint8Array): Promise<string> {
  return `${SCHEME}\n${method.toUpperCase()}\n${path}\n${timestamp}\n${await sha256HexBytes(body)}`;
}

export async function computeSignature(
  secret: string,
  method: string,
  path: string,
  timestamp: string,
  body: string | Uint8Array,
): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(await canonicalString(method, path, timestamp, body)));
  return `v1=${toHex(mac)}`;
}

/** Path plus query of a URL, as signed. */
export function signedPath(url: string | URL): string {
  const u = typeof url === "string" ? new URL(url) : url;
  return u.pathname + u.search;
}

/** Headers that sign a request sent at `now`. */
export async function signatureHeaders(
  secret: string,
  method: string,
  url: string | URL,
  body: string,
  now: number,
): Promise<Record<string, string>> {
  const timestamp = String(Math.floor(now));
  return {
    [HEADER_TIMESTAMP]: timestamp,
    [HEADER_SIGNATURE]: await computeSignature(secret, method, signedPath(url), timestamp, body),
  };
}

/** A signed JSON request. */
export async function signedRequest(
  secret: string,
  method: string,
  url: string,
  payload: unknown,
  now: number,
  extraHeaders: Record<string, string> = {},
): Promise<Request> {
  const body = payload === undefined ? "" : JSON.stringify(payload);
  const headers: Record<string, string> = { ...extraHeaders, ...(await signatureHeaders(secret, method, url, body, now)) };
  if (payload !== undefined) headers["Content-Type"] = "application/json";
  return new Request(url, { method, headers, body: method === "GET" || method === "HEAD" ? undefined : body });
}

export type VerifyFailure = "missing" | "malformed" | "stale" | "mismatch";

export type VerifyResult = { ok: true; signature: string; timestamp: number } | { ok: false; reason: VerifyFailure; message: string };

function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * Checks the signature headers of a request whose body has already been read. Does not check for
 * replays: the caller records `signature` in its replay cache until `timestamp + MAX_SKEW_MS`.
 */
export async function verifySignature(
  secret: string,
  req: { method: string; url: string; headers: Headers },
  body: string | Uint8Array,
  now: number,
): Promise<VerifyResult> {
  const ts = req.headers.get(HEADER_TIMESTAMP);
  const sig = req.headers.get(HEADER_SIGNATURE);
  if (!ts || !sig) return { ok: false, reason: "missing", message: `Missing ${HEADER_TIMESTAMP} or ${HEADER_SIGNATURE} header` };
  if (!/^\d{1,16}$/.test(ts) || !/^v1=[0-9a-f]{64}$/.test(sig))
    return { ok: false, reason: "malformed", message: "Malformed request signature" };
  const timestamp = Number(ts);
  if (Math.abs(now - timestamp) > MAX_SKEW_MS) {
    return { ok: false, reason: "stale", message: "Stale request: timestamp differs from the server clock by more than 5 minutes" };
  }
  const expected = await computeSignature(secret, req.method, signedPath(req.url), ts, body);
  if (!timingSafeEqual(expected, sig)) return { ok: false, reason: "mismatch", message: "Invalid request signature" };
  return { ok: true, signature: sig, timestamp };
}

/** A random URL-safe token (256 bits). */
export function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** Reads a bearer token from an Authorization header. */
export function bearerToken(header: string | null | undefined): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return m ? m[1] : null;
}

// ---------------------------------------------------------------------------------------------
// Executor side helpers
// ---------------------------------------------------------------------------------------------

/**
 * A client for the callback endpoints, used by executors: signs every request with the shared
 * secret and authenticates it with the run's token.
 */
export class CallbackClient {
  constructor(
    private readonly secret: string,
    private readonly callbackUrl: string,
    private readonly token: string,
    private readonly http: FetchLike,
    private readonly now: () => number,
  ) {}

  /**
   * Signs and sends one callback. A `nonce` in `payload` is kept (a callback sent again after a lost
   * answer carries its first nonce, so the scheduler stores it once); else a fresh one is added.
   */
  async post(kind: CallbackKind, payload: object): Promise<Response> {
    const url = `${this.callbackUrl.replace(/\/$/, "")}/${kind}`;
    // A nonce also keeps two identical callbacks sent within the same millisecond from looking like a replay.
    const body = { nonce: randomToken().slice(0, 16), ...payload };
    const req = await signedRequest(this.secret, "POST", url, body, this.now(), { Authorization: `Bearer ${this.token}` });
    return this.http.fetch(req);
  }
}

/** Replay cache contract: `remember` returns false when the signature was already seen. */
export interface ReplayCache {
  remember(signature: string, expiresAt: number, now: number): Promise<boolean>;
}

/** A bounded in-memory replay cache (per isolate / per Durable Object). */
export class MemoryReplayCache implements ReplayCache {
  private readonly seen = new Map<string, number>();
  constructor(private readonly max = 10_000) {}
  async remember(signature: string, expiresAt: number, now: number): Promise<boolean> {
    for (const [k, exp] of this.seen) {
      if (exp > now && this.seen.size < this.max) break;
      this.seen.delete(k);
    }
    const exp = this.seen.get(signature);
    if (exp !== undefined && exp > now) return false;
    this.seen.set(signature, expiresAt);
    return true;
  }
}

/**
 * Verifies signature, freshness and uniqueness of an incoming request and returns its body text.
 * Throws `ProtocolError` (status 401 for bad/stale/missing signatures, 409 for a replay).
 */
export async function verifyIncoming(secret: string, req: Request, replay: ReplayCache, now: number): Promise<string> {
  const body = await req.text();
  const result = await verifySignature(secret, req, body, now);
  if (!result.ok) throw new ProtocolError(401, result.message, result.reason);
  if (!(await replay.remember(result.signature, result.timestamp + MAX_SKEW_MS, now))) {
    throw new ProtocolError(409, "Replayed request refused", "replay");
  }
  return body;
}

export class ProtocolError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason: VerifyFailure | "replay" | "token" | "state",
  ) {
    super(message);
  }
}

/** ISO 8601 UTC with milliseconds. */
export function isoUtc(ms: number): string {
  return new Date(ms).toISOString();
}
