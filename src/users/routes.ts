/** Users and credentials: `/api/me…`, `/api/users…` (superusers) and `/api/apiToken…`. */
import { createRouter } from "../http/router";
import { registerMeRoutes } from "./me-routes";
import { registerTokenRoutes } from "./token-routes";
import { registerUserRoutes } from "./user-routes";

export const userRoutes = createRouter();

registerMeRoutes(userRoutes);
registerUserRoutes(userRoutes);
registerTokenRoutes(userRoutes);
