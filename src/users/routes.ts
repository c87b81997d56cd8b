import { createRouter } from "../http/router";

export const userRoutes = createRouter();
