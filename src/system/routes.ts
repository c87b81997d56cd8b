import { createRouter } from "../http/router";

export const systemRoutes = createRouter();
