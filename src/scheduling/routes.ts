import { createRouter } from "../http/router";

export const schedulingRoutes = createRouter();
