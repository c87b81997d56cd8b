/**
 * The pure parts of alerts, without a runtime round trip: the decision per episode (every condition
 * and what closes an episode), the message text (escaping for chat), the webhook URL rules, the masked
 * URL, the retry backoff, and the e-mail refusal where the send_email binding is missing.
 */
import { describe, expect, it } from "vitest";
import { decide, type Episode, NO_EPISODE } from "../../src/alerts/decide";
import { retryable, retryBaseSeconds, retryDelaySeconds } from "../../src/alerts/deliver";
import { buildPayload, chatSafe, emailOf } from "../../src/alerts/message";
import { type Conditions, maskUrl, webhookUrlProblem } from "../../src/alerts/model";
import { checkRule } from "../../src/alerts/validate";
import type { RunEvent, RunStatus } from "../../src/scheduling/run-events";

const T = Date.UTC(2035, 0, 1);
let n = 0;

function end(status: RunStatus, opts: { lateMs?: number; lost?: boolean } = {}): RunEvent {
  const at = T + ++n * 60_000;
  return {
    kind: opts.lost ? "RUN_LOST" : "RUN_ENDED",
    id: `job-${at}:ended`,
    at,
    jobId: "jobAaaaaaa1",
    jobType: "TEST",
    jobName: "j",
    scheduledAt: at - (opts.lateMs ?? 0),
    executedBy: null,
    runId: `job-${at}`,
    trigger: "CRON",
    startedAt: at,
    latenessMs: opts.lateMs ?? 0,
    status,
    finishedAt: at,
    durationMs: 0,
    errorCodes: status === "FAILED" ? ["E7010"] : [],
    message: status === "FAILED" ? "boom" : "ok",
  };
}

function start(lateMs: number): RunEvent {
  const at = T + ++n * 60_000;
  return {
    kind: "RUN_STARTED",
    id: `job-${at}:started`,
    at,
    jobId: "jobAaaaaaa1",
    jobType: "TEST",
    jobName: "j",
    scheduledAt: at - lateMs,
    executedBy: null,
    runId: `job-${at}`,
    trigger: "CRON",
    startedAt: at,
    latenessMs: lateMs,
  };
}

/** The alerts a sequence of events raises under `conditions`. */
function alerts(conditions: Conditions, events: RunEvent[]): (string | null)[] {
  let e: Episode = NO_EPISODE;
  return events.map((event) => {
    const d = decide(conditions, e, event);
    e = d.next;
    return d.alert;
  });
}

describe("decide: one alert per episode", () => {
  it("failed: the first failure alerts, the next ones not; a success closes (RECOVERED only when asked)", () => {
    const seq = () => [end("FAILED"), end("FAILED"), end("FAILED"), end("COMPLETED"), end("FAILED")];
    expect(alerts({ failed: true, recovered: true }, seq())).toEqual(["FAILED", null, null, "RECOVERED", "FAILED"]);
    expect(alerts({ failed: true }, seq())).toEqual(["FAILED", null, null, null, "FAILED"]);
  });

  it("failuresInARow: the K-th failure in a row; a success in between starts the count again", () => {
    const events = [end("FAILED"), end("COMPLETED"), end("FAILED"), end("FAILED"), end("FAILED"), end("FAILED")];
    expect(alerts({ failuresInARow: 3 }, events)).toEqual([null, null, null, null, "FAILURES_IN_A_ROW", null]);
  });

  it("lost: RUN_LOST alerts LOST; with `failed` alone a lost run is a failure; with neither it only counts", () => {
    expect(alerts({ lost: true, failed: true }, [end("FAILED", { lost: true })])).toEqual(["LOST"]);
    expect(alerts({ failed: true }, [end("FAILED", { lost: true })])).toEqual(["FAILED"]);
    expect(alerts({ lost: true }, [end("FAILED"), end("FAILED", { lost: true })])).toEqual([null, "LOST"]);
    expect(alerts({ failuresInARow: 2 }, [end("FAILED", { lost: true }), end("FAILED")])).toEqual([null, "FAILURES_IN_A_ROW"]);
  });

  it("lateSeconds: a start later than N s alerts; the episode stays open through late runs and closes at an on-time success", () => {
    const events = [start(10_000), start(10_001), end("COMPLETED", { lateMs: 10_001 }), start(90_000), end("COMPLETED"), start(20_000)];
    expect(alerts({ lateSeconds: 10, recovered: true }, events)).toEqual([null, "LATE", null, null, "RECOVERED", "LATE"]);
  });

  it("STOPPED changes nothing; a start not late leaves the episode as it is", () => {
    const d = decide({ failed: true }, { failures: 2, open: true, openedAt: T, openedBy: "FAILED" }, end("STOPPED"));
    expect(d).toEqual({ next: { failures: 2, open: true, openedAt: T, openedBy: "FAILED" }, alert: null, failuresBefore: 2 });
    expect(decide({ failed: true }, NO_EPISODE, start(0)).next).toBe(NO_EPISODE);
  });

  it("RECOVERED reports how many failures in a row the episode had", () => {
    const d = decide({ failed: true, recovered: true }, { failures: 4, open: true, openedAt: T, openedBy: "FAILED" }, end("COMPLETED"));
    expect(d).toEqual({ next: NO_EPISODE, alert: "RECOVERED", failuresBefore: 4 });
  });
});

describe("message", () => {
  it("chat text: markup and mentions neutralised, control characters flattened", () => {
    expect(chatSafe("<!channel> & @here <https://x|y>")).toBe("&lt;!channel&gt; &amp; @\u200bhere &lt;https://x|y&gt;");
    const event = { ...end("FAILED"), jobName: "evil\n<!channel>", message: "line1\nline2" };
    const payload = buildPayload({
      deliveryId: "dlvAaaaaaa1",
      alert: "FAILED",
      system: "HRHIS4 Edge",
      rule: { id: "ruleAaaaaa1", name: "r" },
      event,
      failuresInARow: 1,
      openedAt: event.at,
    });
    expect(payload.text).toBe(
      `[HRHIS4 Edge] FAILED: job "evil &lt;!channel&gt;" (TEST) failed at ${new Date(event.at).toISOString()}: line1 line2 [E7010]`,
    );
    expect(payload.job.name).toBe("evil\n<!channel>"); // the structured members keep the facts
    const mail = emailOf(payload);
    expect(mail.subject).toBe("[HRHIS4 Edge] FAILED: evil <!channel> (TEST)");
    expect(mail.text.split("\n")[0]).toBe(
      `[HRHIS4 Edge] FAILED: job "evil <!channel>" (TEST) failed at ${new Date(event.at).toISOString()}: line1 line2 [E7010]`,
    );
    expect(mail.text).toContain("Alert id: dlvAaaaaaa1");
  });
});

describe("webhook URLs", () => {
  it("https only, no credentials or fragment; http for localhost only when allowed", () => {
    expect(webhookUrlProblem("https://hooks.slack.com/services/T/B/X", false)).toBeNull();
    expect(webhookUrlProblem("http://hooks.slack.com/services/T/B/X", false)).toBe("must use https");
    expect(webhookUrlProblem("http://localhost:8866/a", false)).toBe("must use https");
    expect(webhookUrlProblem("http://localhost:8866/a", true)).toBeNull();
    expect(webhookUrlProblem("http://127.0.0.1/a", true)).toBeNull();
    expect(webhookUrlProblem("http://10.0.0.1/a", true)).toBe("must use https (http only for localhost in local development)");
    expect(webhookUrlProblem("https://u:p@example.org/", false)).toBe("must not carry credentials (user:password@)");
    expect(webhookUrlProblem("https://example.org/#x", false)).toBe("must not have a fragment");
    expect(webhookUrlProblem("ftp://example.org/", false)).toBe("must use https");
    expect(webhookUrlProblem("javascript:alert(1)", false)).toBe("must use https");
    expect(webhookUrlProblem("/relative", false)).toBe("not an absolute URL");
  });

  it("reads show the origin only", () => {
    expect(maskUrl("https://hooks.slack.com/services/T0/B0/secret")).toBe("https://hooks.slack.com/…");
    expect(maskUrl("https://example.org/?token=x")).toBe("https://example.org/…");
    expect(maskUrl("https://example.org")).toBe("https://example.org/");
    expect(maskUrl("not a url")).toBe("…");
  });
});

describe("retries", () => {
  it("backoff doubles from the base, at most 15 minutes; 408, 429 and 5xx are worth another attempt", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((a) => retryDelaySeconds(a, 10))).toEqual([10, 20, 40, 80, 160, 320, 640, 900]);
    expect(retryDelaySeconds(1, 0)).toBe(0);
    expect(retryBaseSeconds({ ALERT_RETRY_BASE_SECONDS: "" })).toBe(10);
    expect(retryBaseSeconds({ ALERT_RETRY_BASE_SECONDS: "x" })).toBe(10);
    expect(retryBaseSeconds({ ALERT_RETRY_BASE_SECONDS: "-1" })).toBe(10);
    expect(retryBaseSeconds({ ALERT_RETRY_BASE_SECONDS: "99999" })).toBe(900);
    expect([408, 429, 500, 503, 400, 401, 404, 301, 200].map(retryable)).toEqual([
      true,
      true,
      true,
      true,
      false,
      false,
      false,
      false,
      false,
    ]);
  });
});

describe("e-mail channel", () => {
  it("is refused where the send_email binding or a sender address is missing", async () => {
    const input = {
      name: "mail",
      scope: "ALL_JOBS" as const,
      conditions: { failed: true },
      channel: { type: "EMAIL" as const, address: "ops@example.org" },
    };
    const ctx = (env: Record<string, unknown>) => ({
      env,
      localDevelopment: false,
      existingJobs: async () => new Set<string>(),
    });
    const refusal = [
      {
        message:
          "Invalid value for property `channel.type`: e-mail alerts are not configured on this server (send_email binding ALERT_EMAIL and ALERT_EMAIL_FROM)",
        errorCode: "E1003",
        errorProperty: "channel.type",
      },
    ];
    const noBinding = await checkRule(input, "ruleAaaaaa1", null, ctx({ ALERT_EMAIL_FROM: "alerts@example.org" }));
    expect(noBinding.write).toBeNull();
    expect(noBinding.errors).toMatchObject(refusal);
    const noSender = await checkRule(input, "ruleAaaaaa1", null, ctx({ ALERT_EMAIL: { send: async () => ({}) }, ALERT_EMAIL_FROM: "" }));
    expect(noSender.errors).toMatchObject(refusal);
    const ok = await checkRule(
      input,
      "ruleAaaaaa1",
      null,
      ctx({ ALERT_EMAIL: { send: async () => ({}) }, ALERT_EMAIL_FROM: "alerts@example.org" }),
    );
    expect(ok).toEqual({
      write: {
        uid: "ruleAaaaaa1",
        name: "mail",
        enabled: true,
        scope: "ALL_JOBS",
        jobTypes: [],
        jobs: [],
        conditions: { failed: true },
        channel: { type: "EMAIL", address: "ops@example.org" },
      },
      errors: [],
    });
  });
});
