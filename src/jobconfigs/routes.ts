import { createRouter } from "../http/router";

export const jobConfigurationRoutes = createRouter();
