/** OpenAPI fragments shared by the user routes. */
import { z } from "@hono/zod-openapi";
import { SECURED } from "../http/router";
import { queryBool, queryInt } from "../http/params";

export const SECURITY = SECURED;

/** Error responses (WebMessages; declared without content so handlers may return plain Responses). */
export const ERRORS = {
  400: { description: "Bad parameter or body (WebMessage)" },
  401: { description: "Missing or bad credentials (WebMessage)" },
} as const;

export const fieldsQuery = () =>
  z
    .union([z.string(), z.array(z.string())])
    .optional()
    .openapi({ type: "string", description: "DHIS2 field filter", example: "id,username,authorities" });

export const pagingQuery = () => ({
  page: queryInt(1).openapi({ description: "Page number (1-based)" }),
  pageSize: queryInt(50).openapi({ description: "Page size (1-1000)" }),
  paging: queryBool(true).openapi({ description: "false: every item, no pager" }),
});
