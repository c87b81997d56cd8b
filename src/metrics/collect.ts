/**
 * What /api/metrics reports, computed from D1 only (never from an isolate's memory), so every isolate
 * answers the same: job configurations by status, the run history (`job_runs`: runs by type and
 * status, duration and start-lateness histograms), the executor tables (runs by state, callbacks not
 * yet relayed) and the event counters of `metric_counters` (authentication failures and throttles, …). One D1 batch plus the counters, read in parallel.
 *
 * The run history is what D1 retains (`jobsRunHistoryPerJob` runs per job, and nothing of deleted
 * jobs), so the run families are gauges of that window, not ever-growing counters: read them as they
 * are (e.g. `histogram_quantile(0.95, hrhis4_job_run_duration_seconds_bucket)`), not through `rate()`.
 */
import { JobStatusSchema } from "../jobconfigs/schemas";
import { readCounters } from "./counters";
import { histogramSamples, type MetricFamily, type Sample } from "./prometheus";

/** Upper bounds (seconds) of the run duration histogram: seconds to hours (executor runs last long). */
export const RUN_DURATION_BUCKETS = [1, 5, 15, 30, 60, 300, 900, 1800, 3600, 7200, 14400] as const;
/** Upper bounds (seconds) of the start lateness histogram: alarms fire within ms, failover within a minute. */
export const RUN_LATENESS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300] as const;

/** HELP text of the counters other modules keep in metric_counters (src/metrics/counters.ts). */
const COUNTER_HELP: Record<string, string> = {
  auth_failures_total: "Failed authentications (wrong or unknown credentials, bad tokens or sessions).",
  auth_throttled_total: "Requests refused because their caller was throttled or locked out.",
};

/** SUM(value <= ?) per bound: cumulative bucket counts, bounds bound as parameters. */
function bucketColumns(bounds: readonly number[]): string {
  return bounds.map((_, i) => `SUM(v <= ?) AS b${i}`).join(", ");
}

interface HistogramRow {
  label: string;
  n: number;
  total: number | null;
  [bucket: `b${number}`]: number | null;
}

function histogramFamily(name: string, help: string, label: string, bounds: readonly number[], rows: HistogramRow[]): MetricFamily {
  const samples: Sample[] = [];
  for (const r of rows) {
    const cumulative = bounds.map((_, i) => r[`b${i}`] ?? 0);
    samples.push(...histogramSamples({ [label]: r.label }, bounds, cumulative, r.total ?? 0, r.n));
  }
  return { name, help, type: "histogram", samples };
}

export async function collectMetrics(db: D1Database): Promise<MetricFamily[]> {
  const [batch, counters] = await Promise.all([
    db.batch([
      db.prepare(`SELECT job_status AS status, COUNT(*) AS n FROM job_configurations GROUP BY job_status`),
      db.prepare(`SELECT job_type, status, COUNT(*) AS n FROM job_runs GROUP BY job_type, status ORDER BY job_type, status`),
      db
        .prepare(
          `SELECT job_type AS label, COUNT(*) AS n, SUM(v) AS total, ${bucketColumns(RUN_DURATION_BUCKETS)}
           FROM (SELECT job_type, MAX(0, finished_at - started_at) / 1000.0 AS v FROM job_runs
                 WHERE status IN ('COMPLETED', 'FAILED', 'STOPPED') AND started_at IS NOT NULL AND finished_at IS NOT NULL)
           GROUP BY job_type ORDER BY job_type`,
        )
        .bind(...RUN_DURATION_BUCKETS),
      db
        .prepare(
          `SELECT trigger AS label, COUNT(*) AS n, SUM(v) AS total, ${bucketColumns(RUN_LATENESS_BUCKETS)}
           FROM (SELECT trigger, MAX(0, started_at - scheduled_at) / 1000.0 AS v FROM job_runs WHERE started_at IS NOT NULL)
           GROUP BY trigger ORDER BY trigger`,
        )
        .bind(...RUN_LATENESS_BUCKETS),
      db.prepare(`SELECT state, COUNT(*) AS n FROM executor_runs GROUP BY state ORDER BY state`),
      db.prepare(`SELECT kind, COUNT(*) AS n FROM executor_events GROUP BY kind ORDER BY kind`),
    ]),
    readCounters(db),
  ]);
  const rows = <T>(i: number) => (batch[i]?.results ?? []) as T[];

  const byStatus = new Map(rows<{ status: string; n: number }>(0).map((r) => [r.status, r.n]));
  const statuses = [...new Set([...JobStatusSchema.options, ...byStatus.keys()])];
  const families: MetricFamily[] = [
    {
      name: "hrhis4_jobs",
      help: "Job configurations by job status.",
      type: "gauge",
      samples: statuses.map((status) => ({ labels: { status }, value: byStatus.get(status) ?? 0 })),
    },
    { name: "hrhis4_jobs_running", help: "Jobs running now.", type: "gauge", samples: [{ value: byStatus.get("RUNNING") ?? 0 }] },
    {
      name: "hrhis4_job_runs",
      help: "Runs in the retained run history, by job type and status (RUNNING, COMPLETED, FAILED, STOPPED, SKIPPED).",
      type: "gauge",
      samples: rows<{ job_type: string; status: string; n: number }>(1).map((r) => ({
        labels: { job_type: r.job_type, status: r.status },
        value: r.n,
      })),
    },
    histogramFamily(
      "hrhis4_job_run_duration_seconds",
      "Duration of the finished runs in the retained run history, by job type.",
      "job_type",
      RUN_DURATION_BUCKETS,
      rows<HistogramRow>(2),
    ),
    histogramFamily(
      "hrhis4_job_run_start_lateness_seconds",
      "Start of a run after its due instant (for execute: after the request), by trigger, over the retained run history.",
      "trigger",
      RUN_LATENESS_BUCKETS,
      rows<HistogramRow>(3),
    ),
    {
      name: "hrhis4_executor_runs",
      help: "Runs handed to an executor and not yet purged, by state (STARTING, RUNNING, CANCELLING, FINISHED).",
      type: "gauge",
      samples: rows<{ state: string; n: number }>(4).map((r) => ({ labels: { state: r.state }, value: r.n })),
    },
    {
      name: "hrhis4_executor_callbacks_pending",
      help: "Executor callbacks stored and not yet relayed into their run, by kind.",
      type: "gauge",
      samples: rows<{ kind: string; n: number }>(5).map((r) => ({ labels: { kind: r.kind }, value: r.n })),
    },
  ];

  const counterFamilies = new Map<string, MetricFamily>();
  for (const name of Object.keys(COUNTER_HELP)) {
    counterFamilies.set(name, { name: `hrhis4_${name}`, help: COUNTER_HELP[name], type: "counter", samples: [] });
  }
  for (const c of counters) {
    if (!/^[a-z_][a-z0-9_]*$/.test(c.name)) continue;
    let family = counterFamilies.get(c.name);
    if (!family) {
      family = { name: `hrhis4_${c.name}`, help: "Events counted by the service (metric_counters).", type: "counter", samples: [] };
      counterFamilies.set(c.name, family);
    }
    const labels = Object.fromEntries(Object.entries(c.labels).filter(([k]) => /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(k) && k !== "le"));
    family.samples.push({ labels, value: c.value });
  }
  families.push(...counterFamilies.values());
  return families;
}
