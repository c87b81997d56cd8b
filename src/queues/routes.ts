import { createRouter } from "../http/router";

/** `/api/scheduler` (jobs and queues overview) and `/api/scheduler/queues`. */
export const queueRoutes = createRouter();
