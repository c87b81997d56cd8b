import { createRouter } from "../http/router";

export const settingsRoutes = createRouter();
