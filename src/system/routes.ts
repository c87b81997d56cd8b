/** The system resource: `/api/system/*` and the public `/api/ping`. */
import { createRouter } from "../http/router";
import { registerAppearanceRoutes } from "./appearance";
import { registerIdRoutes } from "./ids";
import { registerInfoRoutes } from "./info";
import { registerPingRoutes } from "./ping";

export const systemRoutes = createRouter();

registerIdRoutes(systemRoutes);
registerInfoRoutes(systemRoutes);
registerPingRoutes(systemRoutes);
registerAppearanceRoutes(systemRoutes);
