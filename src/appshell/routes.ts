import { createRouter } from "../http/router";

/** Endpoints the DHIS2 app shell calls before anything renders, and hosted app bundles. */
export const appShellRoutes = createRouter();
