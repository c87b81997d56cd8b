/**
 * `GET /api/metrics`: the service's metrics in the Prometheus text format, as DHIS2 serves them
 * (`PrometheusScrapeEndpointController`: `text/plain; version=0.0.4`). DHIS2's rule: any
 * authenticated user (the authentication middleware answers 401 to anonymous callers); a scraper uses
 * a dedicated user's Basic credentials or API token. Every isolate answers the same (src/metrics/collect.ts).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { errorResponses } from "../http/openapi";
import { NO_STORE } from "../http/respond";
import { createRouter, SECURED } from "../http/router";
import { collectMetrics } from "./collect";
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from "./prometheus";

export const metricsRoutes = createRouter();

const metrics = createRoute({
  method: "get",
  path: "/metrics",
  operationId: "getMetrics",
  summary: "Metrics in the Prometheus text format (jobs, runs, executor, authentication)",
  tags: ["system"],
  security: SECURED,
  responses: {
    200: {
      description: "Prometheus text exposition format 0.0.4",
      content: {
        "text/plain": { schema: z.string().openapi({ example: '# TYPE hrhis4_jobs gauge\nhrhis4_jobs{status="SCHEDULED"} 3\n' }) },
      },
    },
    ...errorResponses(401),
  },
});

metricsRoutes.openapi(metrics, async (c) => {
  const text = renderPrometheus(await collectMetrics(c.env.DB));
  return c.text(text, 200, { "Content-Type": PROMETHEUS_CONTENT_TYPE, "Cache-Control": NO_STORE });
});
