/**
 * GET /api/metrics (src/metrics/): the Prometheus text format as DHIS2 serves it, its access rule, and
 * each family computed from what D1 holds (job configurations, job_runs, the executor tables and
 * metric_counters), so that any isolate answers the same.
 */
import { env } from "cloudflare:test";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createExecutorRun } from "../../src/executor/store";
import { resetCounterBuffer } from "../../src/metrics/counters";
import { api, basic } from "../helpers";
import { userWith } from "../scheduling/support";

const T = Date.UTC(2035, 0, 1);

/** `name{labels}` → value, for every sample line; HELP and TYPE lines by family. */
function parse(text: string): { samples: Map<string, number>; help: Map<string, string>; type: Map<string, string> } {
  const samples = new Map<string, number>();
  const help = new Map<string, string>();
  const type = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.+)$/.exec(line);
    if (meta) {
      (meta[1] === "HELP" ? help : type).set(meta[2], meta[3]);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})?) (-?[0-9.e+]+|\+Inf|NaN)$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    samples.set(m[1], Number(m[2]));
  }
  return { samples, help, type };
}

async function scrape(auth?: string) {
  const res = await api("/api/metrics", { auth });
  expect(res.status).toBe(200);
  expect(res.headers.get("Content-Type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  return parse(await res.text());
}

async function insertRun(r: {
  type: string;
  trigger: string;
  status: string;
  scheduled: number;
  started: number | null;
  finished: number | null;
}) {
  await env.DB.prepare(
    `INSERT INTO job_runs (job_uid, job_type, trigger, scheduled_at, started_at, finished_at, status) VALUES (?, ?, ?, ?, ?, ?, ?)`,
  )
    .bind(`metricsJob${Math.random().toString(36).slice(2, 8)}`, r.type, r.trigger, r.scheduled, r.started, r.finished, r.status)
    .run();
}

describe("GET /api/metrics", () => {
  beforeEach(() => resetCounterBuffer());

  it("needs an authenticated user (DHIS2's rule): anonymous 401, any user 200", async () => {
    const anonymous = await api("/api/metrics", { auth: null });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ httpStatusCode: 401, status: "ERROR" });
    const plain = await userWith("metricsreader", []);
    await scrape(plain.auth);
    const wrong = await api("/api/metrics", { auth: basic("admin", "not-the-password") });
    expect(wrong.status).toBe(401);
  });

  it("declares every family once, HELP and TYPE before its samples", async () => {
    const res = await api("/api/metrics");
    const text = await res.text();
    expect(res.headers.get("Cache-Control")).toBe("no-cache, no-store, max-age=0, must-revalidate");
    const { type, help } = parse(text);
    expect(Object.fromEntries(type)).toMatchObject({
      hrhis4_jobs: "gauge",
      hrhis4_jobs_running: "gauge",
      hrhis4_job_runs: "gauge",
      hrhis4_job_run_duration_seconds: "histogram",
      hrhis4_job_run_start_lateness_seconds: "histogram",
      hrhis4_executor_runs: "gauge",
      hrhis4_executor_callbacks_pending: "gauge",
      hrhis4_auth_failures_total: "counter",
      hrhis4_auth_throttled_total: "counter",
    });
    for (const name of type.keys()) expect(help.get(name), name).toBeTruthy();
    const lines = text.trimEnd().split("\n");
    let current = "";
    for (const line of lines) {
      const meta = /^# TYPE (\S+)/.exec(line);
      if (meta) current = meta[1];
      else if (!line.startsWith("# HELP")) expect(line.startsWith(current), line).toBe(true);
    }
    expect(text.endsWith("\n")).toBe(true);
  });

  it("jobs by status and running jobs: every status, from job_configurations", async () => {
    const { results } = await env.DB.prepare(`SELECT job_status, COUNT(*) AS n FROM job_configurations GROUP BY job_status`).all<{
      job_status: string;
      n: number;
    }>();
    const expected = Object.fromEntries(results.map((r) => [r.job_status, r.n]));
    const { samples } = await scrape();
    for (const status of ["RUNNING", "SCHEDULED", "DISABLED", "COMPLETED", "STOPPED", "FAILED", "NOT_STARTED"]) {
      expect(samples.get(`hrhis4_jobs{status="${status}"}`), status).toBe(expected[status] ?? 0);
    }
    expect(samples.get("hrhis4_jobs_running")).toBe(expected.RUNNING ?? 0);
  });

  describe("from the run history", () => {
    beforeAll(async () => {
      await env.DB.prepare("DELETE FROM job_runs").run();
      // Durations 0.5 s, 3 s, 100 s and 20000 s; lateness 20 ms, 300 ms and 45 s (CRON), 0 (MANUAL).
      await insertRun({ type: "TEST", trigger: "CRON", status: "COMPLETED", scheduled: T, started: T + 20, finished: T + 520 });
      await insertRun({ type: "TEST", trigger: "CRON", status: "FAILED", scheduled: T, started: T + 300, finished: T + 3300 });
      await insertRun({ type: "TEST", trigger: "MANUAL", status: "COMPLETED", scheduled: T, started: T, finished: T + 100_000 });
      await insertRun({
        type: "ANALYTICS_TABLE",
        trigger: "CRON",
        status: "STOPPED",
        scheduled: T,
        started: T + 45_000,
        finished: T + 20_045_000,
      });
      // Not finished (no duration; its lateness counts), and never started (neither).
      await insertRun({ type: "TEST", trigger: "FIXED_DELAY", status: "RUNNING", scheduled: T, started: T + 1000, finished: null });
      await insertRun({ type: "TEST", trigger: "CRON", status: "SKIPPED", scheduled: T, started: null, finished: T });
    });

    it("runs by job type and status", async () => {
      const { samples } = await scrape();
      expect(samples.get('hrhis4_job_runs{job_type="TEST",status="COMPLETED"}')).toBe(2);
      expect(samples.get('hrhis4_job_runs{job_type="TEST",status="FAILED"}')).toBe(1);
      expect(samples.get('hrhis4_job_runs{job_type="TEST",status="RUNNING"}')).toBe(1);
      expect(samples.get('hrhis4_job_runs{job_type="TEST",status="SKIPPED"}')).toBe(1);
      expect(samples.get('hrhis4_job_runs{job_type="ANALYTICS_TABLE",status="STOPPED"}')).toBe(1);
    });

    it("run duration histogram by job type: cumulative buckets, sum and count of finished runs", async () => {
      const { samples } = await scrape();
      const bucket = (type: string, le: string) => samples.get(`hrhis4_job_run_duration_seconds_bucket{job_type="${type}",le="${le}"}`);
      expect(["1", "5", "15", "60", "300", "14400", "+Inf"].map((le) => bucket("TEST", le))).toEqual([1, 2, 2, 2, 3, 3, 3]);
      expect(samples.get('hrhis4_job_run_duration_seconds_sum{job_type="TEST"}')).toBe(103.5);
      expect(samples.get('hrhis4_job_run_duration_seconds_count{job_type="TEST"}')).toBe(3);
      expect(bucket("ANALYTICS_TABLE", "14400")).toBe(0);
      expect(bucket("ANALYTICS_TABLE", "+Inf")).toBe(1);
      expect(samples.get('hrhis4_job_run_duration_seconds_sum{job_type="ANALYTICS_TABLE"}')).toBe(20_000);
    });

    it("start lateness histogram by trigger: started runs only", async () => {
      const { samples } = await scrape();
      const bucket = (trigger: string, le: string) =>
        samples.get(`hrhis4_job_run_start_lateness_seconds_bucket{trigger="${trigger}",le="${le}"}`);
      expect(["0.05", "0.25", "0.5", "10", "30", "60", "+Inf"].map((le) => bucket("CRON", le))).toEqual([1, 1, 2, 2, 2, 3, 3]);
      expect(samples.get('hrhis4_job_run_start_lateness_seconds_sum{trigger="CRON"}')).toBeCloseTo(45.32, 6);
      expect(samples.get('hrhis4_job_run_start_lateness_seconds_count{trigger="CRON"}')).toBe(3);
      expect(bucket("MANUAL", "0.05")).toBe(1);
      expect(bucket("FIXED_DELAY", "0.5")).toBe(0);
      expect(bucket("FIXED_DELAY", "1")).toBe(1);
    });
  });

  it("executor runs by state and callbacks not yet relayed, by kind", async () => {
    await createExecutorRun(env.DB, {
      runId: "metricsRun01",
      jobId: "metricsJobA1",
      jobType: "ANALYTICS_TABLE",
      token: "t".repeat(32),
      now: T,
    });
    await env.DB.prepare(
      `INSERT INTO executor_events (run_id, kind, payload, received) VALUES ('metricsRun01', 'messages', '{}', ?), ('metricsRun01', 'messages', '{}', ?)`,
    )
      .bind(T, T)
      .run();
    const { results } = await env.DB.prepare(`SELECT state, COUNT(*) AS n FROM executor_runs GROUP BY state`).all<{
      state: string;
      n: number;
    }>();
    const { samples } = await scrape();
    for (const r of results) expect(samples.get(`hrhis4_executor_runs{state="${r.state}"}`)).toBe(r.n);
    expect(samples.get('hrhis4_executor_runs{state="STARTING"}')).toBeGreaterThanOrEqual(1);
    expect(samples.get('hrhis4_executor_callbacks_pending{kind="messages"}')).toBe(2);
  });

  it("counters from metric_counters: authentication failures and throttles, and any other counted event", async () => {
    await env.DB.prepare("DELETE FROM metric_counters").run();
    await env.DB.prepare(
      `INSERT INTO metric_counters (name, labels, value, updated) VALUES
         ('auth_failures_total', '{"reason":"bad_password"}', 7, 0), ('auth_throttled_total', '{}', 2, 0),
         ('widgets_total', '{"kind":"a"}', 3, 0), ('Not-a-name', '{}', 1, 0)`,
    ).run();
    const { samples, type, help } = await scrape();
    expect(samples.get('hrhis4_auth_failures_total{reason="bad_password"}')).toBe(7);
    expect(samples.get("hrhis4_auth_throttled_total")).toBe(2);
    expect(samples.get('hrhis4_widgets_total{kind="a"}')).toBe(3);
    expect(type.get("hrhis4_widgets_total")).toBe("counter");
    expect(help.get("hrhis4_widgets_total")).toBe("Events counted by the service (metric_counters).");
    expect([...samples.keys()].some((k) => k.includes("Not-a-name"))).toBe(false);
  });
});
