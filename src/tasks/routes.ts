import { createRouter } from "../http/router";

export const taskRoutes = createRouter();
