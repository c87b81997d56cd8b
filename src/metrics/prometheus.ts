/**
 * The Prometheus text exposition format, version 0.0.4 (what DHIS2's `/api/metrics` serves): one
 * `# HELP` and one `# TYPE` line per metric family, then its samples, `name{label="value"} number`.
 * Pure: families in, text out.
 */

/** DHIS2's `TextFormat.CONTENT_TYPE_004`. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export type Labels = Record<string, string>;

export interface Sample {
  /** Appended to the family name: `_bucket`, `_sum`, `_count` for histograms. */
  suffix?: string;
  labels?: Labels;
  value: number;
}

export interface MetricFamily {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram";
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(v);
}

function formatLabels(labels: Labels | undefined): string {
  const entries = Object.entries(labels ?? {});
  if (entries.length === 0) return "";
  for (const [k] of entries) if (!LABEL.test(k)) throw new Error(`invalid label name ${k}`);
  return `{${entries.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}`;
}

/** The exposition text of `families`, in the given order, ending with a newline. */
export function renderPrometheus(families: MetricFamily[]): string {
  const lines: string[] = [];
  for (const f of families) {
    if (!NAME.test(f.name)) throw new Error(`invalid metric name ${f.name}`);
    lines.push(`# HELP ${f.name} ${f.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) lines.push(`${f.name}${s.suffix ?? ""}${formatLabels(s.labels)} ${formatValue(s.value)}`);
  }
  return `${lines.join("\n")}\n`;
}

/**
 * The samples of one histogram series: cumulative `_bucket` counts for each upper bound (`le`) and
 * `+Inf`, then `_sum` and `_count`. `cumulative[i]` counts the observations ≤ `bounds[i]`.
 */
export function histogramSamples(
  labels: Labels,
  bounds: readonly number[],
  cumulative: readonly number[],
  sum: number,
  count: number,
): Sample[] {
  const out: Sample[] = bounds.map((le, i) => ({ suffix: "_bucket", labels: { ...labels, le: String(le) }, value: cumulative[i] ?? 0 }));
  out.push({ suffix: "_bucket", labels: { ...labels, le: "+Inf" }, value: count });
  out.push({ suffix: "_sum", labels, value: sum }, { suffix: "_count", labels, value: count });
  return out;
}
