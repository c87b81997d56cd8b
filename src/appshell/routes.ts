/**
 * Endpoints the DHIS2 app shell calls before anything renders, the job form's option lists, browser
 * sign-in, and hosted app bundles. Mounted at "/": paths here are full paths (`/api/...`,
 * `/dhis-web-commons/...`, `/dhis-web-<app>/...`).
 */
import { createRouter } from "../http/router";
import { registerAppRoutes } from "./apps";
import { registerLoginRoutes } from "./login";
import { registerOptionRoutes } from "./option-routes";

export const appShellRoutes = createRouter();

registerLoginRoutes(appShellRoutes);
registerOptionRoutes(appShellRoutes);
registerAppRoutes(appShellRoutes);
