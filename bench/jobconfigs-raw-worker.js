// Bench-only Worker (never deployed, not part of the service): runs the same D1 queries the API's
// GET /api/jobConfigurations page runs, with no authentication, no field filter and no pager, and
// returns the rows as JSON. bench/jobconfigs.bench.mjs starts it with `wrangler dev` against the
// same persisted local D1 database to measure the raw query cost in the same run.
const COLUMNS =
  "uid, name, code, job_type, scheduling_type, cron_expression, delay, job_parameters, enabled, job_status, " +
  "last_executed_status, last_executed, last_finished, last_alive, error_codes, executed_by, queue_name, " +
  "queue_position, system, version, created, last_updated, created_by, last_updated_by";

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const limit = Math.min(Number(url.searchParams.get("limit") ?? 50) || 50, 20000);
    const { results } = await env.DB.prepare(
      `SELECT ${COLUMNS} FROM job_configurations ORDER BY name COLLATE NOCASE ASC, uid ASC LIMIT ? OFFSET 0`,
    )
      .bind(limit)
      .all();
    return new Response(JSON.stringify(results), { headers: { "Content-Type": "application/json" } });
  },
};
