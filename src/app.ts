/**
 * The HTTP application: global middleware (CORS, authentication, CSRF, undeclared list parameters,
 * errors), one router per concern mounted under /api, and the OpenAPI document generated from the
 * routes' zod schemas.
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import { corsMiddleware } from "./http/cors";
import { csrfMiddleware } from "./http/csrf";
import { d1Sessions } from "./http/d1-session";
import { notFoundHandler, onError } from "./http/errors";
import { declaredQueryGuard } from "./http/query-guard";
import { normalizedPath } from "./http/path";
import { type AppEnv, validationHook } from "./http/router";
import { jobConfigurationRoutes } from "./jobconfigs/routes";
import { schedulingRoutes } from "./scheduling/routes";
import { schedulingOverviewRoutes } from "./scheduling/overview-routes";
import { systemRoutes } from "./system/routes";
import { taskRoutes } from "./tasks/routes";
import { authMiddleware } from "./users/auth";
import { userRoutes } from "./users/routes";
import { OPENAPI_INFO, openApiRoutes } from "./openapi/routes";
import { settingsRoutes } from "./settings/routes";
import { appShellRoutes } from "./appshell/routes";
import { queueRoutes } from "./queues/routes";
import { executorRoutes } from "./executor/routes";
import { jobErrorRoutes } from "./history/error-routes";
import { runHistoryRoutes } from "./history/routes";
import { metricsRoutes } from "./metrics/routes";
import { alertRoutes } from "./alerts/routes";

export function createApp(): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook, getPath: normalizedPath });
  app.use("*", corsMiddleware);
  app.use("*", authMiddleware);
  app.use("*", csrfMiddleware);
  // After authentication, which reads the primary (a password change or revocation applies at once).
  app.use("*", d1Sessions("DB"));
  // filter / order / fields only where a route declares (and so applies) them.
  app.use(
    "*",
    declaredQueryGuard(() => app.getOpenAPI31Document({ openapi: "3.1.0", info: OPENAPI_INFO })),
  );
  app.route("/api", systemRoutes);
  app.route("/api", taskRoutes);
  app.route("/api", userRoutes);
  // Before the job configuration routes: /jobConfigurations/due, /stale, /clean and /errors are not job ids.
  app.route("/api", schedulingRoutes);
  app.route("/api", schedulingOverviewRoutes);
  app.route("/api", jobErrorRoutes);
  app.route("/api", runHistoryRoutes);
  app.route("/api", jobConfigurationRoutes);
  app.route("/api", settingsRoutes);
  app.route("/api", queueRoutes);
  app.route("/api", alertRoutes);
  app.route("/api", executorRoutes);
  app.route("/api", metricsRoutes);
  app.route("/", appShellRoutes);
  app.route("/api", openApiRoutes(app));
  app.onError(onError);
  app.notFound(notFoundHandler(() => app.routes));
  return app;
}

export const app = createApp();
