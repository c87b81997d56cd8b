/**
 * Alerts for each condition, end to end on the real platform parts: jobs run by their Durable Objects
 * (alarms fired by hand on a test clock), the run events reach the alert listener, which puts the
 * deliveries on the real queue (ALERT_QUEUE); the queue calls the Worker's `queue` handler, which
 * posts each alert to a stub receiver that checks the HMAC-SHA-256 signature. One alert per episode.
 */
import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { registerJobHandler } from "../../src/scheduling/handlers";
import { syncJobObject } from "../../src/scheduling/sync";
import { api } from "../helpers";
import { T0, fire, insertJob, insertRunningJob, leaveRunMarker, schedulerTestLifecycle } from "../scheduling/support";
import { clearAlerts, createRule, settled, type StubReceiver, stubReceiver, webhookRule } from "./support";

const clk = schedulerTestLifecycle(["TEST"]);
let receiver: StubReceiver;
/** Outcome of the next TEST runs: true = fail. */
let failNext: boolean[] = [];

beforeEach(async () => {
  await clearAlerts();
  receiver = stubReceiver();
  failNext = [];
  registerJobHandler("TEST", async () => {
    if (failNext.shift()) throw new Error("database is on fire");
    return { message: "all good" };
  });
});
afterEach(() => receiver.restore());

/** A CRON job every minute at second 0; returns its uid. */
async function minuteJob(name: string): Promise<string> {
  const uid = await insertJob({ name, cron: "0 * * * * *" });
  await syncJobObject(env, uid);
  return uid;
}

/** Runs the job's next occurrence (minute `n` after T0), `lateMs` after its instant. */
async function runAt(uid: string, n: number, outcome: "fail" | "ok", lateMs = 0): Promise<void> {
  failNext.push(outcome === "fail");
  clk.set(T0 + n * 60_000 + lateMs);
  expect(await fire(uid)).toBe(true);
}

describe("alert conditions", () => {
  it("failed: a job failing three nights in a row alerts once, then RECOVERED once when it completes", async () => {
    const rule = await createRule(webhookRule({ name: "nightly failures" }));
    const uid = await minuteJob("nightly export");
    await runAt(uid, 1, "fail");
    await runAt(uid, 2, "fail");
    await runAt(uid, 3, "fail");
    await runAt(uid, 4, "ok");
    await runAt(uid, 5, "ok");
    const rows = await settled(2);
    expect(rows.map((r) => [r.alert, r.state, r.attempts])).toEqual([
      ["FAILED", "DELIVERED", 1],
      ["RECOVERED", "DELIVERED", 1],
    ]);
    expect(receiver.received.map((r) => r.signatureProblem)).toEqual([null, null]);
    const [failed, recovered] = receiver.received;
    expect(failed.path).toBe("/hooks/T000/B000/XXXX?team=ops");
    expect(failed.headers.get("Idempotency-Key")).toBe(rows[0].uid);
    expect(failed.body).toMatchObject({
      protocol: 1,
      id: rows[0].uid,
      alert: "FAILED",
      rule: { id: rule, name: "nightly failures" },
      job: { id: uid, name: "nightly export", type: "TEST" },
      run: { trigger: "CRON", status: "FAILED", message: "database is on fire", scheduledAt: new Date(T0 + 60_000).toISOString() },
      episode: { failuresInARow: 1, openedAt: new Date(T0 + 60_000).toISOString() },
    });
    expect(failed.body.text).toBe(
      `[HRHIS4 Edge] FAILED: job "nightly export" (TEST) failed at ${new Date(T0 + 60_000).toISOString()}: database is on fire`,
    );
    expect(recovered.body).toMatchObject({ alert: "RECOVERED", episode: { failuresInARow: 3 } });
    expect(recovered.body.text).toContain("completed at");
    expect(recovered.body.text).toContain("after 3 failed run(s)");
    expect(receiver.stray).toEqual([]);
  });

  it("failed: a job without an executor (E7010) alerts once across many failed runs", async () => {
    await createRule(webhookRule({ conditions: { failed: true } }));
    const uid = await insertJob({ name: "analytics", jobType: "ANALYTICS_TABLE", cron: "0 * * * * *" });
    await syncJobObject(env, uid);
    for (let n = 1; n <= 4; n++) {
      clk.set(T0 + n * 60_000);
      await fire(uid);
    }
    const rows = await settled(1);
    expect(rows.map((r) => r.alert)).toEqual(["FAILED"]);
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0].body).toMatchObject({ run: { errorCodes: ["E7010"] } });
    expect(receiver.received[0].body.text).toMatch(/Failed to validate job runtime: no executor configured.*\[E7010\]$/);
  });

  it("failuresInARow: alerts at the third failure in a row, not before; a success in between resets the count", async () => {
    await createRule(webhookRule({ conditions: { failuresInARow: 3 } }));
    const uid = await minuteJob("flaky");
    await runAt(uid, 1, "fail");
    await runAt(uid, 2, "fail");
    await runAt(uid, 3, "ok");
    await runAt(uid, 4, "fail");
    await runAt(uid, 5, "fail");
    expect(await settled(0)).toEqual([]);
    await runAt(uid, 6, "fail");
    await runAt(uid, 7, "fail");
    const rows = await settled(1);
    expect(rows.map((r) => r.alert)).toEqual(["FAILURES_IN_A_ROW"]);
    expect(receiver.received[0].body).toMatchObject({ alert: "FAILURES_IN_A_ROW", episode: { failuresInARow: 3 } });
    expect(receiver.received[0].body.text).toMatch(/^\[HRHIS4 Edge\] FAILED 3 times in a row: job "flaky"/);
  });

  it("lateSeconds: a start 30 s late alerts LATE once; an on-time success closes the episode", async () => {
    await createRule(webhookRule({ conditions: { lateSeconds: 10, recovered: true } }));
    const uid = await minuteJob("late one");
    await runAt(uid, 1, "ok", 5_000); // 5 s late: within the rule
    await runAt(uid, 2, "ok", 30_000);
    await runAt(uid, 3, "ok", 45_000); // still late: the episode stays open, no second alert
    await runAt(uid, 4, "ok");
    const rows = await settled(2);
    expect(rows.map((r) => r.alert)).toEqual(["LATE", "RECOVERED"]);
    expect(receiver.received[0].body).toMatchObject({ alert: "LATE", run: { latenessMs: 30_000 } });
    expect(receiver.received[0].body.text).toContain("started 30 s late");
  });

  it("lost: a run that died with its object alerts LOST (and not FAILED as well)", async () => {
    await createRule(webhookRule({ conditions: { lost: true, failed: true } }));
    const uid = await insertRunningJob(T0 - 1000);
    await syncJobObject(env, uid);
    await leaveRunMarker(uid, T0 - 1000);
    await syncJobObject(env, uid); // the object finds the marker without a live run
    const rows = await settled(1);
    expect(rows.map((r) => r.alert)).toEqual(["LOST"]);
    expect(receiver.received[0].body).toMatchObject({ alert: "LOST", run: { status: "FAILED", errorCodes: ["E7012"] } });
  });

  it("scope: a rule for other job types or other jobs stays silent; a disabled rule too", async () => {
    const other = await minuteJob("other");
    await createRule(webhookRule({ scope: "JOB_TYPES", jobTypes: ["ANALYTICS_TABLE"] }));
    await createRule(webhookRule({ scope: "JOBS", jobs: [other] }));
    await createRule(webhookRule({ enabled: false }));
    const mine = await createRule(webhookRule({ scope: "JOB_TYPES", jobTypes: ["TEST"] }));
    const uid = await minuteJob("watched");
    await runAt(uid, 1, "fail");
    const rows = await settled(1);
    expect(rows.map((r) => [r.rule_uid, r.job_uid])).toEqual([[mine, uid]]);
  });

  it("the API shows the deliveries of a rule", async () => {
    const rule = await createRule(webhookRule());
    const uid = await minuteJob("shown");
    await runAt(uid, 1, "fail");
    const [row] = await settled(1);
    const res = await api(`/api/scheduler/alerts/${rule}/deliveries`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({
      pager: { page: 1, total: 1, pageSize: 50, pageCount: 1 },
      deliveries: [
        {
          id: row.uid,
          alert: "FAILED",
          state: "DELIVERED",
          channel: "WEBHOOK",
          jobId: uid,
          jobName: "shown",
          jobType: "TEST",
          attempts: 1,
          lastStatus: 200,
        },
      ],
    });
  });
});
