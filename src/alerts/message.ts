/**
 * What an alert says: the JSON payload a webhook receives (signed like the executor protocol) and the
 * e-mail built from it. Pure: the run event, the rule and the decision in, text out.
 *
 * The payload's `text` is what Slack, Microsoft Teams and Mattermost incoming webhooks display; the
 * other members carry the facts for receivers that parse them. In `text`, `&`, `<` and `>` are
 * escaped (Slack's rule; the Markdown of Teams and Mattermost shows the entities as the characters)
 * and `@` is followed by a zero-width space, so a job name cannot mention `@channel` or inject a link.
 */
import type { RunEvent } from "../scheduling/run-events";
import { isRunEnd } from "../scheduling/run-events";
import type { AlertKind } from "./model";

export const PAYLOAD_PROTOCOL = 1;

export interface AlertPayload {
  text: string;
  protocol: number;
  /** The delivery's id: the same on every retry (the request's `Idempotency-Key`). */
  id: string;
  alert: AlertKind;
  system: string;
  rule: { id: string; name: string };
  job: { id: string; name: string; type: string; queue?: string };
  run?: {
    id: string;
    trigger: string;
    scheduledAt: string;
    startedAt: string;
    latenessMs: number;
    finishedAt?: string;
    durationMs?: number;
    status?: string;
    errorCodes?: string[];
    message?: string;
  };
  /** The episode this alert opens or (RECOVERED) closes. */
  episode: { openedAt?: string; failuresInARow: number };
  /** When the reported event happened. */
  at: string;
}

export interface AlertInput {
  deliveryId: string;
  alert: AlertKind;
  system: string;
  rule: { id: string; name: string };
  event: RunEvent;
  failuresInARow: number;
  openedAt: number | null;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** One line, at most `max` characters, without control characters. */
export function oneLine(text: string, max = 500): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is removed
  const flat = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Text safe in a chat message: no markup, no mentions. */
export function chatSafe(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/@/g, "@\u200b");
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}

/** The alert's sentence (plain text; `chatSafe` before it goes into a chat message). */
export function summaryLine(input: AlertInput): string {
  const { event, alert } = input;
  const job = `job "${oneLine(event.jobName, 230)}" (${event.jobType})`;
  const codes = isRunEnd(event) && event.errorCodes.length ? ` [${event.errorCodes.join(", ")}]` : "";
  const why = isRunEnd(event) && event.message ? `: ${oneLine(event.message, 400)}` : "";
  switch (alert) {
    case "FAILED":
      return `FAILED: ${job} failed at ${iso(event.at)}${why}${codes}`;
    case "LOST":
      return `LOST: ${job} was lost at ${iso(event.at)}${why}${codes}`;
    case "FAILURES_IN_A_ROW":
      return `FAILED ${input.failuresInARow} times in a row: ${job}, last at ${iso(event.at)}${why}${codes}`;
    case "LATE": {
      const late = event.kind === "OCCURRENCE_SKIPPED" ? "" : ` ${seconds(event.latenessMs)} late`;
      return `LATE: ${job} started${late} (scheduled ${iso(event.scheduledAt)})`;
    }
    case "RECOVERED": {
      const after = input.failuresInARow > 0 ? ` after ${input.failuresInARow} failed run(s)` : "";
      return `RECOVERED: ${job} completed at ${iso(event.at)}${after}`;
    }
  }
}

export function buildPayload(input: AlertInput): AlertPayload {
  const { event } = input;
  const payload: AlertPayload = {
    text: `[${chatSafe(oneLine(input.system, 100))}] ${chatSafe(summaryLine(input))}`,
    protocol: PAYLOAD_PROTOCOL,
    id: input.deliveryId,
    alert: input.alert,
    system: input.system,
    rule: input.rule,
    job: { id: event.jobId, name: event.jobName, type: event.jobType, ...(event.queue ? { queue: event.queue } : {}) },
    episode: { ...(input.openedAt !== null ? { openedAt: iso(input.openedAt) } : {}), failuresInARow: input.failuresInARow },
    at: iso(event.at),
  };
  if (event.kind !== "OCCURRENCE_SKIPPED") {
    payload.run = {
      id: event.runId,
      trigger: event.trigger,
      scheduledAt: iso(event.scheduledAt),
      startedAt: iso(event.startedAt),
      latenessMs: event.latenessMs,
    };
    if (isRunEnd(event)) {
      Object.assign(payload.run, {
        finishedAt: iso(event.finishedAt),
        durationMs: event.durationMs,
        status: event.status,
        errorCodes: event.errorCodes,
        message: event.message,
      });
    }
  }
  return payload;
}

/** The e-mail of an alert: subject and plain text (no escaping needed there). */
export function emailOf(payload: AlertPayload): { subject: string; text: string } {
  const subject = oneLine(`[${payload.system}] ${payload.alert}: ${payload.job.name} (${payload.job.type})`, 200);
  const lines = [
    summaryFromPayload(payload),
    "",
    `Rule: ${payload.rule.name} (${payload.rule.id})`,
    `Job: ${payload.job.name} (${payload.job.id}, ${payload.job.type}${payload.job.queue ? `, queue ${payload.job.queue}` : ""})`,
  ];
  if (payload.run) {
    lines.push(`Run: ${payload.run.id}, ${payload.run.trigger}, scheduled ${payload.run.scheduledAt}, started ${payload.run.startedAt}`);
    if (payload.run.status) lines.push(`Outcome: ${payload.run.status} at ${payload.run.finishedAt} after ${payload.run.durationMs} ms`);
  }
  lines.push("", `Alert id: ${payload.id}`);
  return { subject, text: lines.join("\n") };
}

/** The payload's sentence without the chat escaping. */
function summaryFromPayload(payload: AlertPayload): string {
  return payload.text
    .replace(/@\u200b/g, "@")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
}
