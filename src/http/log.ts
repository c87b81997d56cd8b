/**
 * Structured logs: one JSON object per line through `console.log` / `console.error`, which Workers Logs
 * (`observability` in wrangler.jsonc) indexes field by field, so a dashboard user can filter on
 * `event`, `jobId`, `status`… Callers pass only what is safe to show: never a credential, a token, a
 * password or a secret (`logEvent` drops members whose names look like one, as a last guard).
 */
export type LogLevel = "info" | "warn" | "error";

const SECRET_NAME = /pass(word)?|secret|token|authorization|cookie|credential|key$/i;

/** Writes `{ level, event, ...fields }` as one JSON line. */
export function logEvent(level: LogLevel, event: string, fields: Record<string, unknown> = {}): void {
  const line: Record<string, unknown> = { level, event };
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined || SECRET_NAME.test(name)) continue;
    line[name] = value instanceof Error ? errorFields(value) : value;
  }
  let text: string;
  try {
    text = JSON.stringify(line);
  } catch {
    text = JSON.stringify({ level, event, note: "fields not serialisable" });
  }
  if (level === "error") console.error(text);
  else if (level === "warn") console.warn(text);
  else console.log(text);
}

/** An error as log fields: its name, message and stack. */
export function errorFields(err: unknown): { name: string; message: string; stack?: string } {
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack };
  return { name: "Error", message: String(err) };
}
