import { createRouter } from "../http/router";

/** Callback endpoints of the executor protocol (progress, completion, summaries from external executors). */
export const executorRoutes = createRouter();
